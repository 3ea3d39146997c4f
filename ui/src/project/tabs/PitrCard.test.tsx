import { localSeconds } from "../../wizard/pitr/time";
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { PitrStatus } from "../../bindings";
import { PitrCard } from "./PitrCard";

type Handlers = Record<string, (args: Record<string, unknown>) => unknown>;
const NOW = Date.parse("2026-11-26T12:00:00Z");
const us = (iso: string) => Date.parse(iso) * 1000;

const on = (over: Partial<PitrStatus> = {}): PitrStatus => ({
  enabled: true,
  slot: { slot: "offsite_pitr_x", confirmed_flush: 1, retained_bytes: 3 * 1024 * 1024, active: true },
  max_retained: 1024 * 1024 * 1024,
  free_bytes: null,
  effective_max_retained: 1024 * 1024 * 1024,
  rpo_seconds: 4,
  coverage: { covered: ["public.orders"], not_covered: [["public.cache", "unlogged table"]], fingerprint: "f" },
  windows: [
    { chain_id: "c1", from: us("2026-11-26T08:00:00Z"), to: us("2026-11-26T09:00:00Z"), from_text: "08:00:00", to_text: "09:00:00", broken_by: "the captured tables' definitions changed (DDL)", segments: 3 },
    { chain_id: "c2", from: us("2026-11-26T09:05:00Z"), to: us("2026-11-26T11:59:56Z"), from_text: "09:05:00", to_text: "11:59:56", broken_by: null, segments: 9 },
  ],
  ended: [],
  stray_slots: [],
  ...over,
});

function setup(handlers: Handlers) {
  const calls: string[] = [];
  mockIPC((cmd, raw) => {
    calls.push(cmd);
    const h = handlers[cmd];
    if (h) return h((raw ?? {}) as Record<string, unknown>);
    throw new Error(`unexpected ${cmd}`);
  });
  render(<PitrCard project="shop" now={() => NOW} />);
  return calls;
}

/** Opens the off card's setup as a user does ("Set up…"). */
async function openSetup() {
  fireEvent.click(await screen.findByTestId("pitr-setup"));
}

describe("PitrCard", () => {
  it("off: one line with Set up…; the server is asked which capture it allows only when it opens; Not now closes it", async () => {
    const calls = setup({
      pitr_status: () => on({ enabled: false, windows: [], slot: null, rpo_seconds: null }),
      pitr_modes: () => ({ logical: null, physical: "the server refuses a physical replication connection", recommended: "logical" }),
    });
    const off = await screen.findByTestId("pitr-off");
    expect(off.textContent).toContain("restore to any second, not only to the last backup");
    expect(screen.queryByTestId("pitr-setup-panel")).toBeNull();
    expect(screen.queryByTestId("pitr-enable")).toBeNull();
    // Nothing asked of the server beyond the status while the card is one line.
    await act(async () => {
      await new Promise((r) => setTimeout(r, 50));
    });
    expect(calls).not.toContain("pitr_modes");
    await openSetup();
    await screen.findByTestId("pitr-modes-one");
    expect(calls.filter((c) => c === "pitr_modes")).toHaveLength(1);
    fireEvent.click(screen.getByTestId("pitr-setup-close"));
    expect(screen.queryByTestId("pitr-setup-panel")).toBeNull();
    expect(screen.getByTestId("pitr-setup")).toBeInTheDocument();
  });

  it("off: says what it gives and needs; Turn on runs pitrEnable with a running state", async () => {
    let enabled = false;
    let finish: (v: unknown) => void = () => {};
    let asked: unknown = null;
    const calls = setup({
      pitr_status: () => (enabled ? on() : on({ enabled: false, windows: [], slot: null, rpo_seconds: null })),
      pitr_modes: () => ({ logical: null, physical: "the server refuses a physical replication connection", recommended: "logical" }),
      pitr_enable: (args) =>
        new Promise((r) => {
          asked = args;
          finish = r;
        }),
    });
    const off = await screen.findByTestId("pitr-off");
    expect(off.textContent).toContain("restore to any second, not only to the last backup");
    await openSetup();
    expect(off.textContent).toContain("REPLICATION");
    expect(off.textContent).toContain("wal_level = logical");
    fireEvent.click(screen.getByTestId("pitr-enable"));
    await waitFor(() => expect(screen.getByTestId("pitr-enable")).toBeDisabled());
    expect(screen.getByTestId("pitr-enable").textContent).toContain("Turning on");
    expect(calls).toContain("pitr_enable");
    expect(asked).toEqual({ project: "shop", mode: "logical" });
    enabled = true;
    finish({ chain_id: "c", slot: "s", publication: "p", coverage: on().coverage, base_backup_id: "b", base_at: "2026-11-26T08:00:00Z" });
    await screen.findByTestId("pitr-on");
  });

  it("off: an error of Turn on is shown with its hint", async () => {
    setup({
      pitr_status: () => on({ enabled: false, windows: [], slot: null }),
      pitr_enable: () => Promise.reject({ code: "permission_denied", message: "The role cannot replicate", hint: "Give it REPLICATION", retryable: false }),
    });
    await openSetup();
    fireEvent.click(await screen.findByTestId("pitr-enable"));
    const err = await screen.findByTestId("pitr-error");
    expect(err.textContent).toContain("The role cannot replicate");
    expect(err.textContent).toContain("Give it REPLICATION");
    expect(screen.getByTestId("pitr-enable")).not.toBeDisabled();
  });

  it("on: the windows, the break and its reason, the lag, the disk held and the tables", async () => {
    setup({ pitr_status: () => on() });
    await screen.findByTestId("pitr-on");
    // The windows on the band (issue 64 item 3: a band one can drag, not a decorative bar).
    expect(screen.getAllByTestId("pitr-band-window")).toHaveLength(2);
    expect(screen.getByRole("slider")).toHaveAttribute("aria-valuetext", `${localSeconds(Date.parse("2026-11-26T11:59:56Z"))}, can be restored`);
    const list = screen.getByTestId("pitr-window-list").textContent ?? "";
    // The app's date format, local, to the second: no RFC 3339, no fraction, no "Z" (issue 64 item 3).
    expect(list).toContain(`Restorable from ${localSeconds(Date.parse("2026-11-26T08:00:00Z"))} to ${localSeconds(Date.parse("2026-11-26T09:00:00Z"))}`);
    expect(list).toContain(`Restorable from ${localSeconds(Date.parse("2026-11-26T09:05:00Z"))} to ${localSeconds(Date.parse("2026-11-26T11:59:56Z"))}`);
    expect(list).not.toMatch(/\d{2}:\d{2}:\d{2}\.\d|Z\b|T\d{2}:/);
    expect(screen.getByTestId("pitr-break").textContent).toContain("the captured tables' definitions changed (DDL)");
    expect(screen.queryByTestId("pitr-behind")).toBeNull();
    const lag = screen.getByTestId("pitr-lag");
    expect(lag.textContent).toBe("Changes read 4 s ago");
    expect(lag.dataset.late).toBe("false");
    expect(screen.getByTestId("pitr-retained").textContent).toContain("3.0 MB");
    expect(screen.getByTestId("pitr-retained").textContent).toContain("1.0 GB");
    const cov = screen.getByTestId("pitr-coverage");
    expect(cov.querySelector("summary")?.textContent).toBe("Tables: 1 captured, 1 not captured");
    expect(within(cov).getByTestId("pitr-not-covered").textContent).toContain("public.cache: unlogged table");
  });

  it("a limit lowered by the server's free space says so", async () => {
    setup({ pitr_status: () => on({ free_bytes: 2 * 1024 * 1024 * 1024, effective_max_retained: 512 * 1024 * 1024 }) });
    const held = await screen.findByTestId("pitr-retained");
    expect(held.textContent).toContain("limit 512.0 MB");
    expect(held.textContent).toContain("lower than the 1.0 GB set: the server’s disk has 2.0 GB free");
  });

  it("behind: the lag is amber and the time until now is said not restorable yet", async () => {
    setup({ pitr_status: () => on({ rpo_seconds: 300 }) });
    const lag = await screen.findByTestId("pitr-lag");
    expect(lag.textContent).toBe("Changes read 5 min ago");
    expect(lag.dataset.late).toBe("true");
    expect(lag.className).toContain("text-warn");
    expect(screen.getByTestId("pitr-behind").textContent).toContain(`From ${localSeconds(Date.parse("2026-11-26T11:59:56Z"))} to now nothing is restorable yet`);
  });

  it("a capture no project owns is reported with the disk it holds", async () => {
    setup({
      pitr_status: () =>
        on({ enabled: false, windows: [], stray_slots: [{ slot: "offsite_pitr_old", confirmed_flush: 0, retained_bytes: 2 * 1024 * 1024, active: false }] }),
    });
    const stray = await screen.findByTestId("pitr-stray");
    expect(stray.textContent).toContain("A capture no project owns holds the server’s disk");
    expect(stray.textContent).toContain("2.0 MB");
    expect(within(stray).getByTestId("pitr-stray-names").textContent).toContain("offsite_pitr_old");
  });

  it("Capture now runs one pass and says what it read", async () => {
    const calls = setup({
      pitr_status: () => on(),
      pitr_capture_now: () => ({ segments: 1, commits: 12, dropped: null, new_base_why: null, started: null }),
    });
    fireEvent.click(await screen.findByTestId("pitr-capture-now"));
    expect((await screen.findByTestId("pitr-said")).textContent).toBe("Captured 12 transactions made since the last capture.");
    expect(calls).toContain("pitr_capture_now");
  });

  it("Capture now with nothing new says so, not 'Read 0 transactions into 0 change files' (issue 64 item 4)", async () => {
    setup({
      pitr_status: () => on(),
      pitr_capture_now: () => ({ segments: 0, commits: 0, dropped: null, new_base_why: null, started: null }),
    });
    fireEvent.click(await screen.findByTestId("pitr-capture-now"));
    const said = (await screen.findByTestId("pitr-said")).textContent ?? "";
    expect(said).toBe("Up to date: nothing changed since the last capture.");
    expect(said).not.toMatch(/\b0 |change file/);
  });

  it("Turn off asks first, saying the windows stay restorable", async () => {
    const calls = setup({ pitr_status: () => on(), pitr_disable: () => true });
    fireEvent.click(await screen.findByTestId("pitr-disable"));
    const confirm = screen.getByTestId("pitr-off-confirm");
    expect(confirm.textContent).toContain("stay restorable");
    expect(confirm.textContent).toContain("nothing new is captured");
    expect(calls).not.toContain("pitr_disable");
    fireEvent.click(screen.getByTestId("pitr-off-no"));
    expect(screen.queryByTestId("pitr-off-confirm")).toBeNull();
    fireEvent.click(screen.getByTestId("pitr-disable"));
    fireEvent.click(screen.getByTestId("pitr-off-yes"));
    await waitFor(() => expect(calls).toContain("pitr_disable"));
  });
});

describe("PitrCard Turn on: what to capture", () => {
  const offStatus = () => on({ enabled: false, windows: [], slot: null, rpo_seconds: null });
  const enabled = { chain_id: "c", slot: "s", publication: "", coverage: on().coverage, base_backup_id: "b", base_at: "2026-11-26T08:00:00Z" };

  it("both possible: a choice in plain words, the recommended one chosen first; the other can be chosen", async () => {
    let asked: unknown = null;
    setup({
      pitr_status: offStatus,
      pitr_modes: () => ({ logical: null, physical: null, recommended: "logical" }),
      pitr_enable: (args) => {
        asked = args;
        return enabled;
      },
    });
    await openSetup();
    const choice = await screen.findByTestId("pitr-modes");
    expect(choice.textContent).toContain("Changes to this database’s tables (recommended)");
    expect(choice.textContent).toContain("Everything the server writes");
    expect(choice.textContent).toContain("every database on it");
    expect(screen.getByTestId<HTMLInputElement>("pitr-mode-logical").checked).toBe(true);
    expect(screen.getByTestId<HTMLInputElement>("pitr-mode-physical").checked).toBe(false);
    fireEvent.click(screen.getByTestId("pitr-mode-physical"));
    expect(screen.getByTestId<HTMLInputElement>("pitr-mode-physical").checked).toBe(true);
    fireEvent.click(screen.getByTestId("pitr-enable"));
    await waitFor(() => expect(asked).toEqual({ project: "shop", mode: "physical" }));
  });

  it("both possible, the engine recommending the physical capture: it is chosen first", async () => {
    let asked: unknown = null;
    setup({
      pitr_status: offStatus,
      pitr_modes: () => ({ logical: null, physical: null, recommended: "physical" }),
      pitr_enable: (args) => {
        asked = args;
        return enabled;
      },
    });
    await openSetup();
    await screen.findByTestId("pitr-modes");
    expect(screen.getByTestId("pitr-modes").textContent).toContain("Everything the server writes (recommended)");
    expect(screen.getByTestId<HTMLInputElement>("pitr-mode-physical").checked).toBe(true);
    fireEvent.click(screen.getByTestId("pitr-enable"));
    await waitFor(() => expect(asked).toEqual({ project: "shop", mode: "physical" }));
  });

  it("only the physical capture possible: no choice, it says why not the other, and Turn on asks for it", async () => {
    let asked: unknown = null;
    setup({
      pitr_status: offStatus,
      pitr_modes: () => ({
        logical: "the server's wal_level is replica, not logical (set wal_level = logical and restart)",
        physical: null,
        recommended: "physical",
      }),
      pitr_enable: (args) => {
        asked = args;
        return enabled;
      },
    });
    await openSetup();
    const one = await screen.findByTestId("pitr-modes-one");
    expect(screen.queryByTestId("pitr-modes")).toBeNull();
    expect(one.textContent).toContain("Captures everything the server writes");
    expect(screen.getByTestId("pitr-modes-why-not").textContent).toBe(
      "Changes to this database’s tables is not possible here: the server's wal_level is replica, not logical (set wal_level = logical and restart)",
    );
    fireEvent.click(screen.getByTestId("pitr-enable"));
    await waitFor(() => expect(asked).toEqual({ project: "shop", mode: "physical" }));
  });

  it("only the logical capture possible (hosted Supabase): it says why not the other", async () => {
    setup({
      pitr_status: offStatus,
      pitr_modes: () => ({ logical: null, physical: "the server refuses a physical replication connection for this role", recommended: "logical" }),
    });
    await openSetup();
    const one = await screen.findByTestId("pitr-modes-one");
    expect(one.dataset.mode).toBe("logical");
    expect(screen.getByTestId("pitr-modes-why-not").textContent).toContain(
      "Everything the server writes is not possible here: the server refuses a physical replication connection",
    );
  });

  it("neither possible: both reasons, and Turn on waits", async () => {
    setup({
      pitr_status: offStatus,
      pitr_modes: () => ({ logical: "the role u has no REPLICATION attribute", physical: "the role u has no REPLICATION attribute", recommended: null }),
    });
    await openSetup();
    const none = await screen.findByTestId("pitr-modes-none");
    expect(none.textContent).toContain("Changes to this database’s tables: the role u has no REPLICATION attribute");
    expect(screen.getByTestId("pitr-enable")).toBeDisabled();
  });

  it("the server not asked (an error): Turn on still tries the tables' changes", async () => {
    let asked: unknown = null;
    setup({
      pitr_status: offStatus,
      pitr_modes: () => Promise.reject({ code: "connection_failed", message: "could not connect", hint: null, retryable: true }),
      pitr_enable: (args) => {
        asked = args;
        return enabled;
      },
    });
    await openSetup();
    expect((await screen.findByTestId("pitr-modes-unknown")).textContent).toContain("could not connect");
    fireEvent.click(screen.getByTestId("pitr-enable"));
    await waitFor(() => expect(asked).toEqual({ project: "shop", mode: "logical" }));
  });
});

describe("PitrCard refresh", () => {
  it("asks again every 5 s while capture is on, never while it is off", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      let n = 0;
      let enabled = true;
      mockIPC((cmd) => {
        if (cmd !== "pitr_status") throw new Error(cmd);
        n += 1;
        return enabled ? on() : on({ enabled: false, windows: [] });
      });
      const { unmount } = render(<PitrCard project="shop" now={() => NOW} />);
      await screen.findByTestId("pitr-on");
      const first = n;
      await act(async () => {
        await vi.advanceTimersByTimeAsync(5100);
      });
      expect(n).toBeGreaterThan(first);
      unmount();
      enabled = false;
      n = 0;
      render(<PitrCard project="shop" now={() => NOW} />);
      await screen.findByTestId("pitr-off");
      await act(async () => {
        await vi.advanceTimersByTimeAsync(15000);
      });
      expect(n).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("PitrCard tables", () => {
  it("on: a table without a replica identity is offered REPLICA IDENTITY FULL; the others are not", async () => {
    let asked: unknown = null;
    let covered = false;
    const coverage = () =>
      covered
        ? { covered: ["public.orders", "public.history"], not_covered: [["public.cache", "unlogged table"]] as [string, string][], fingerprint: "g", no_replica_identity: [] }
        : {
            covered: ["public.orders"],
            not_covered: [
              ["public.cache", "unlogged table"],
              ["public.history", "no replica identity (its updates and deletes could not be captured)"],
            ] as [string, string][],
            fingerprint: "f",
            no_replica_identity: ["public.history"],
          };
    const calls = setup({
      pitr_status: () => on({ coverage: coverage() }),
      pitr_replica_identity_full: (args) => {
        asked = args;
        covered = true;
        return { chain_id: "c3", slot: "s", publication: "p", coverage: coverage(), base_backup_id: "b", base_at: "2026-11-26T12:00:01Z" };
      },
    });
    await screen.findByTestId("pitr-on");
    const offers = screen.getAllByTestId("pitr-identity-full");
    expect(offers).toHaveLength(1);
    const row = offers[0]!.closest("li")!;
    expect(row.textContent).toContain("public.history");
    fireEvent.click(offers[0]!);
    await screen.findByTestId("pitr-said");
    expect(asked).toEqual({ project: "shop", tables: ["public.history"] });
    expect(calls).toContain("pitr_replica_identity_full");
    expect(screen.getByTestId("pitr-said").textContent).toContain("public.history is captured now");
    await waitFor(() => expect(screen.queryByTestId("pitr-identity-full")).toBeNull());
  });

  it("on: a refused REPLICA IDENTITY FULL is shown with its reason", async () => {
    setup({
      pitr_status: () =>
        on({
          coverage: { covered: [], not_covered: [["public.history", "no replica identity"]], fingerprint: "f", no_replica_identity: ["public.history"] },
        }),
      pitr_replica_identity_full: () =>
        Promise.reject({ code: "permission_denied", message: "public.history is not owned by this role", hint: "ask the table's owner", retryable: false }),
    });
    fireEvent.click(await screen.findByTestId("pitr-identity-full"));
    const err = await screen.findByTestId("pitr-error");
    expect(err.textContent).toContain("not owned by this role");
    expect(screen.getByTestId("pitr-identity-full")).not.toBeDisabled();
  });
});
