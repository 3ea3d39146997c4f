import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { UpdateState, UpdateStatus } from "../bindings";
import { UpdateBanner } from "./UpdateBanner";
import { UpdateSection } from "./UpdateSection";

const status = (state: UpdateState, more: Partial<UpdateStatus> = {}): UpdateStatus => ({
  current_version: "0.1.0",
  check_for_updates: true,
  last_check: "2026-11-24T07:00:00.000Z",
  state,
  revision: 0,
  ...more,
});

const offer: UpdateState = {
  kind: "available",
  version: "9.9.9",
  notes: "Restores are faster.",
  date: "2026-11-20T10:00:00.000Z",
};

type Handlers = Record<string, (args: Record<string, unknown>) => unknown>;

function mock(handlers: Handlers) {
  const calls: string[] = [];
  mockIPC(
    (cmd, args) => {
      calls.push(cmd);
      const h = handlers[cmd];
      if (!h) throw new Error(`unexpected command ${cmd}`);
      return h((args ?? {}) as Record<string, unknown>);
    },
    { shouldMockEvents: true },
  );
  return calls;
}

afterEach(() => {
  // Unmount (and so unlisten) while the mocked event plugin is still there.
  cleanup();
  clearMocks();
});

describe("UpdateBanner", () => {
  it("offers the new version with its notes; Install and restart waits for running jobs", async () => {
    const calls = mock({
      update_status: () => status(offer),
      install_update: () => status({ kind: "waiting_for_jobs", version: "9.9.9", running: 1 }),
    });
    render(<UpdateBanner />);
    expect(await screen.findByTestId("update-banner-title")).toHaveTextContent("Update 9.9.9 available");
    expect(screen.getByTestId("update-notes")).toHaveTextContent("Restores are faster.");
    fireEvent.click(screen.getByTestId("update-install"));
    await waitFor(() =>
      expect(screen.getByTestId("update-banner-title")).toHaveTextContent(
        "Update 9.9.9 will be installed when the running job has ended (1 running)",
      ),
    );
    expect(calls.filter((c) => c === "install_update")).toHaveLength(1);
  });

  it("shows nothing when there is no offer, and the offer when the app announces one", async () => {
    mock({ update_status: () => status({ kind: "up_to_date" }) });
    render(<UpdateBanner />);
    await waitFor(() => expect(screen.queryByTestId("update-banner")).not.toBeInTheDocument());
    await act(() => emit("update-status", status({ kind: "installing", version: "9.9.9" })));
    expect(await screen.findByTestId("update-banner-title")).toHaveTextContent("Installing update 9.9.9");
  });

  it("shows an install refused by the app", async () => {
    mock({
      update_status: () => status(offer),
      install_update: () => {
        throw { code: "not_found", message: "no update is offered", hint: "check for updates first", retryable: false };
      },
    });
    render(<UpdateBanner />);
    fireEvent.click(await screen.findByTestId("update-install"));
    expect(await screen.findByTestId("update-install-error")).toHaveAttribute("data-code", "not_found");
  });
});

describe("UpdateBanner: a refused install", () => {
  it("says which update failed and why, and offers to try again", async () => {
    const refused = status({
      kind: "failed",
      version: "9.9.9",
      error: {
        code: "integrity",
        message: "the update's signature is not valid, so it was not installed (The signature was created with a different key than the one provided)",
        hint: "the update server may be misconfigured or the download tampered with",
        retryable: false,
      },
    });
    const calls = mock({
      update_status: () => status(offer),
      install_update: () => status({ kind: "installing", version: "9.9.9" }),
    });
    render(<UpdateBanner />);
    await screen.findByTestId("update-install");
    await act(() => emit("update-status", refused));
    expect(await screen.findByTestId("update-banner-title")).toHaveTextContent("Update 9.9.9 could not be installed");
    expect(screen.getByTestId("update-install-failed")).toHaveAttribute("data-code", "integrity");
    // A sentence in the app's words; the library's raw text only behind Details (issue 44: update-refused).
    const said = screen.getByTestId("update-install-failed-message");
    expect(said).toHaveTextContent(/^The download did not carry Offsite's signature, so it was not installed/);
    expect(said).not.toHaveTextContent(/different key|\(/);
    expect(screen.getByTestId("update-install-failed-details")).not.toHaveAttribute("open");
    expect(screen.getByTestId("update-install-failed-raw")).toHaveTextContent("The signature was created with a different key");
    fireEvent.click(screen.getByTestId("update-install"));
    await waitFor(() => expect(calls.filter((c) => c === "install_update")).toHaveLength(1));
  });

  it("keeps the refusal when the install's own answer arrives after it", async () => {
    // The app's answer to "install" ("installing", revision 1) was computed before the download
    // failed ("failed", revision 2), but the event can reach the window first (e2e: update-refused).
    const refused = status(
      {
        kind: "failed",
        version: "9.9.9",
        error: { code: "integrity", message: "the update's signature is not valid", hint: null, retryable: false },
      },
      { revision: 2 },
    );
    let answer: (v: UpdateStatus) => void = () => {};
    mock({
      update_status: () => status(offer, { revision: 0 }),
      install_update: () => new Promise<UpdateStatus>((resolve) => (answer = resolve)),
    });
    render(<UpdateBanner />);
    fireEvent.click(await screen.findByTestId("update-install"));
    await act(() => emit("update-status", refused));
    expect(await screen.findByTestId("update-install-failed")).toHaveAttribute("data-code", "integrity");
    await act(async () => answer(status({ kind: "installing", version: "9.9.9" }, { revision: 1 })));
    expect(screen.getByTestId("update-banner-title")).toHaveTextContent("Update 9.9.9 could not be installed");
  });

  it("shows nothing for a failed check (Settings shows it)", async () => {
    mock({
      update_status: () =>
        status({ kind: "failed", version: null, error: { code: "connection", message: "x", hint: null, retryable: true } }),
    });
    render(<UpdateBanner />);
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("update-banner")).not.toBeInTheDocument();
  });
});

describe("UpdateSection", () => {
  it("switches automatic checks through the form and checks now on request", async () => {
    const calls = mock({
      update_status: () => status({ kind: "idle" }),
      check_for_update: () => status({ kind: "up_to_date" }),
    });
    const onChange = vi.fn();
    render(<UpdateSection checked={true} onChange={onChange} />);
    await waitFor(() => expect(screen.getByTestId("update-state")).toHaveTextContent("Last checked"));
    // The state and "Check now" share one line (settings-14 left a wide gap between them).
    const row = screen.getByTestId("update-check");
    expect(row).toHaveClass("update-check");
    expect(Array.from(row.children)).toEqual([screen.getByTestId("update-state"), screen.getByTestId("update-check-now")]);
    fireEvent.click(screen.getByTestId("settings-check-updates"));
    expect(onChange).toHaveBeenCalledWith(false);
    expect(calls).not.toContain("check_for_update");
    fireEvent.click(screen.getByTestId("update-check-now"));
    await waitFor(() =>
      expect(screen.getByTestId("update-state")).toHaveTextContent("Offsite 0.1.0 is the newest version."),
    );
  });

  it("shows a failed check with its code, and a build without an update channel", async () => {
    mock({
      update_status: () =>
        status({
          kind: "failed",
          error: {
            code: "integrity",
            message: "the update's signature is not valid, so it was not installed",
            hint: null,
            retryable: false,
          },
          version: null,
        }),
    });
    const { unmount } = render(<UpdateSection checked={true} onChange={vi.fn()} />);
    expect(await screen.findByTestId("update-failed")).toHaveAttribute("data-code", "integrity");
    unmount();
    mock({ update_status: () => status({ kind: "not_configured" }, { last_check: null }) });
    render(<UpdateSection checked={false} onChange={vi.fn()} />);
    await waitFor(() => expect(screen.getByTestId("update-state")).toHaveTextContent("no update channel"));
    expect(screen.getByTestId("settings-check-updates")).not.toBeChecked();
  });
});
