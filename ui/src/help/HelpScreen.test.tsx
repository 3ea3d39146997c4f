import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { overviewOf } from "../dashboard/fixtures";
import { ImportRequestProvider } from "../dropzone/importRequest";
import { summary } from "../screens/fixtures";
import { Main } from "../screens/Main";
import { StoreProvider } from "../store";
import { contactsOf, HelpScreen, routeOf } from "./HelpScreen";
import { SCENARIOS } from "./scenarios";

type Call = { cmd: string; args: Record<string, unknown> };

function mock(names: string[]) {
  const calls: Call[] = [];
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      switch (cmd) {
        case "list_projects":
          return names.map((n) => summary(n, null));
        case "pick_path":
          return null;
        case "save_recovery_card": {
          const contacts = a.contacts as string[];
          if (contacts.some((c) => c.includes("<script")))
            return Promise.reject({ code: "invalid_input", message: "a contact must be one line of 1 to 200 characters", hint: null, retryable: false });
          return { path: `/data/recovery-cards/${a.project as string}-recovery-card.html`, opened: true };
        }
        default:
          return null;
      }
    },
    { shouldMockEvents: true },
  );
  return calls;
}

function renderHelp(names: string[], project?: string) {
  const calls = mock(names);
  const onNavigate = vi.fn();
  const onBack = vi.fn();
  render(
    <StoreProvider>
      <ImportRequestProvider>
        <HelpScreen onBack={onBack} onNavigate={onNavigate} {...(project ? { project } : {})} />
      </ImportRequestProvider>
    </StoreProvider>,
  );
  return { calls, onNavigate, onBack };
}

describe("Help: something went wrong", () => {
  it("offers every scenario of the runbook; choosing one shows what is at hand, the steps and how long", async () => {
    renderHelp(["shop"]);
    const box = await screen.findByTestId("help-went-wrong");
    expect(box).toHaveTextContent("Something went wrong — what happened?");
    for (const s of SCENARIOS) expect(within(box).getByTestId(`help-scenario-${s.id}`)).toBeInTheDocument();
    expect(screen.queryByTestId("help-steps")).toBeNull();
    fireEvent.click(screen.getByTestId("help-scenario-laptop"));
    const steps = screen.getByTestId("help-steps");
    expect(steps).toHaveTextContent("The recovery key");
    expect(steps).toHaveTextContent("How long:");
  });

  it("each scenario leads to its wizard for the chosen project", async () => {
    const { onNavigate } = renderHelp(["blog", "shop"], "shop");
    await screen.findByTestId("recovery-card");
    fireEvent.click(screen.getByTestId("help-scenario-rows"));
    fireEvent.click(screen.getByTestId("help-go-backups"));
    expect(onNavigate).toHaveBeenLastCalledWith({ screen: "project", name: "shop", tab: "backups" });
    fireEvent.click(screen.getByTestId("help-scenario-server"));
    fireEvent.change(screen.getByTestId("help-project"), { target: { value: "blog" } });
    fireEvent.click(screen.getByTestId("help-go-restore"));
    expect(onNavigate).toHaveBeenLastCalledWith({ screen: "restore", name: "blog" });
    fireEvent.click(screen.getByTestId("help-scenario-migration"));
    fireEvent.click(screen.getByTestId("help-go-diff"));
    expect(onNavigate).toHaveBeenLastCalledWith({ screen: "diff", name: "blog" });
    fireEvent.click(screen.getByTestId("help-scenario-supabase"));
    fireEvent.click(screen.getByTestId("help-go-add"));
    expect(onNavigate).toHaveBeenLastCalledWith({ screen: "add" });
  });

  it("a lost computer opens the import dialog, which needs no project", async () => {
    const { calls, onNavigate } = renderHelp([]);
    fireEvent.click(await screen.findByTestId("help-scenario-laptop"));
    const importing = screen.getByTestId("help-go-import");
    expect(importing).toBeEnabled();
    fireEvent.click(importing);
    await waitFor(() => expect(calls.some((c) => c.cmd === "pick_path")).toBe(true));
    expect(onNavigate).not.toHaveBeenCalled();
    // Without a project, a step that needs one says so instead of leading nowhere.
    fireEvent.click(screen.getByTestId("help-scenario-server"));
    expect(screen.getByTestId("help-go-restore")).toBeDisabled();
    expect(screen.queryByTestId("recovery-card")).toBeNull();
  });

  it("every scenario's steps lead somewhere", () => {
    for (const s of SCENARIOS) {
      expect(s.actions.length).toBeGreaterThan(0);
      for (const a of s.actions) expect(a.to === "import" || routeOf(a, "shop") !== null).toBe(true);
    }
  });
});

describe("Help: the recovery card", () => {
  it("makes the card with the contacts typed, one a line, and says where it is", async () => {
    const { calls } = renderHelp(["shop"]);
    fireEvent.change(await screen.findByTestId("recovery-card-contacts"), {
      target: { value: "Ann Lee <ann@example.com>\n\n  Bob, +44 20 7946 0000  \n" },
    });
    fireEvent.click(screen.getByTestId("recovery-card-save"));
    expect(await screen.findByTestId("recovery-card-saved")).toHaveTextContent("/data/recovery-cards/shop-recovery-card.html");
    expect(calls.find((c) => c.cmd === "save_recovery_card")?.args).toEqual({
      project: "shop",
      contacts: ["Ann Lee <ann@example.com>", "Bob, +44 20 7946 0000"],
    });
  });

  it("shows the engine's refusal", async () => {
    renderHelp(["shop"]);
    fireEvent.change(await screen.findByTestId("recovery-card-contacts"), { target: { value: "<script>x</script>" } });
    fireEvent.click(screen.getByTestId("recovery-card-save"));
    expect(await screen.findByTestId("recovery-card-error")).toHaveTextContent("a contact must be one line");
    expect(screen.queryByTestId("recovery-card-saved")).toBeNull();
  });

  it("contactsOf drops blank lines and trims", () => {
    expect(contactsOf(" a \n\n b\n")).toEqual(["a", "b"]);
  });
});

describe("Help from the home screen", () => {
  it("the toolbar's Help opens it", async () => {
    const projects = [summary("shop", null)];
    mockIPC(
      (cmd) => {
        if (cmd === "list_projects") return projects;
        if (cmd === "health") return overviewOf(projects);
        return null;
      },
      { shouldMockEvents: true },
    );
    render(<Main listenOpen={async () => () => {}} />);
    fireEvent.click(await screen.findByTestId("open-help"));
    expect(await screen.findByTestId("help-screen")).toBeInTheDocument();
    fireEvent.click(screen.getByTestId("help-back"));
    expect(await screen.findByTestId("screen-home")).toBeInTheDocument();
  });
});
