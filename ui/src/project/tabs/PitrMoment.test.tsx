import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { JobFinished, PitrPlan, PitrStatus, Window } from "../../bindings";
import { StoreProvider } from "../../store";
import { localSeconds } from "../../wizard/pitr/time";
import { PitrCard } from "./PitrCard";
import { type MomentActions, PitrMoment } from "./PitrMoment";

/** Waits on the engine's answers (a moment is planned once it settles; a busy machine is slow). */
const WAIT = { timeout: 10_000 };

// Issue 64 item 3: the project page's point-in-time card is where a moment is chosen on the band
// and, from the same place, looked inside, compared, drilled or restored. The last change before
// the moment is the engine's answer (pitr_plan), never worked out here.
const NOW = Date.parse("2026-11-26T12:00:00Z");
const us = (iso: string) => Date.parse(iso) * 1000;
const hms = (iso: string) => localSeconds(iso).slice(11);
const WINDOWS: Window[] = [
  { chain_id: "c1", from: us("2026-11-26T08:00:00Z"), to: us("2026-11-26T09:00:00Z"), from_text: "", to_text: "", broken_by: "the captured tables' definitions changed (DDL)", segments: 3 },
  { chain_id: "c2", from: us("2026-11-26T09:05:00Z"), to: us("2026-11-26T11:59:56Z"), from_text: "", to_text: "", broken_by: null, segments: 9 },
];
const status: PitrStatus = {
  enabled: true,
  slot: null,
  max_retained: null,
  free_bytes: null,
  effective_max_retained: null,
  rpo_seconds: 4,
  coverage: null,
  windows: WINDOWS,
  ended: [],
  stray_slots: [],
};
/** The engine's plan for `at`: the last commit 12 s before it (with a fraction, as the engine says it). */
const planFor = (at: string): PitrPlan => ({
  at,
  window: WINDOWS[1]!,
  base_backup_id: "0b8f3f7e-6a52-4a8e-9a53-2f7c1d1e9c11",
  base_path: "/b/shop.offsite",
  base_at: "2026-11-26T09:05:00Z",
  segments: ["s1"],
  stop_commit_at: new Date(Date.parse(at) - 12_000 + 443).toISOString(),
  stop_commit_lsn: "0/591BC88",
  transactions: 3,
  not_covered: [],
  fetched: [],
});

type Call = { cmd: string; args: Record<string, unknown> };

/** The engine's commands this file needs; returns the calls made. */
function mockEngine(refuses: string | null = null): Call[] {
  const calls: Call[] = [];
  mockIPC(
    (cmd, raw) => {
      const args = (raw ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      if (cmd === "pitr_status") return status;
      if (cmd === "pitr_plan")
        return refuses ? Promise.reject({ code: "integrity", message: refuses, hint: null, retryable: false }) : planFor(args.at as string);
      if (cmd === "start_open_at") return "job-look";
      if (cmd === "cancel_job") return true;
      return Promise.reject({ code: "not_found", message: `not in this test: ${cmd}`, hint: null, retryable: false });
    },
    { shouldMockEvents: true },
  );
  return calls;
}

function setup(actions: MomentActions = {}, refuses: string | null = null) {
  const calls = mockEngine(refuses);
  const backups = [
    { id: "b1", created_at: "2026-11-26T08:00:00Z" },
    { id: "b2", created_at: "2026-11-26T09:05:00Z" },
  ];
  render(
    <StoreProvider>
      <PitrCard project="shop" now={() => NOW} backups={backups} {...actions} />
    </StoreProvider>,
  );
  return calls;
}
const plans = (calls: Call[]) => calls.filter((c) => c.cmd === "pitr_plan").map((c) => c.args.at);

describe("the point-in-time card's band", () => {
  it("starts at the newest second with the engine's last change before it, in words; the engine's terms only behind Details", async () => {
    const calls = setup({ onRestore: vi.fn() });
    expect(await screen.findAllByTestId("pitr-band-tick", {}, WAIT)).toHaveLength(2);
    expect(screen.getByTestId("pitr-moment-at")).toHaveTextContent(localSeconds("2026-11-26T11:59:56Z"));
    const commit = await screen.findByTestId("pitr-moment-commit", {}, WAIT);
    expect(commit.textContent).toBe(`The last change before ${hms("2026-11-26T11:59:56Z")} was at ${hms("2026-11-26T11:59:44Z")}`);
    expect(plans(calls)).toEqual(["2026-11-26T11:59:56Z"]);
    // No LSN, fraction, UTC form or id on screen but behind Details.
    const panel = screen.getByTestId("pitr-moment-panel");
    const details = screen.getByTestId("pitr-moment-details");
    const outside = (panel.textContent ?? "").replace(details.textContent ?? "", "");
    expect(outside).not.toMatch(/LSN|0\/591BC88|\d\d:\d\d:\d\d\.\d|T\d\d:\d\d|Z\b|0b8f3f7e/);
    expect(details.textContent).toContain("0/591BC88");
    expect(screen.getByTestId("pitr-moment-restore")).not.toBeDisabled();
  });

  it("asks the engine for the moment stepped to by keys, once it settles", async () => {
    const calls = setup({ onRestore: vi.fn() });
    await screen.findByTestId("pitr-moment-commit", {}, WAIT);
    const thumb = screen.getByRole("slider");
    // Held arrow keys: the engine is asked for the moment they stop at, not for every second.
    for (let i = 0; i < 5; i++) fireEvent.keyDown(thumb, { key: "ArrowLeft" });
    fireEvent.keyDown(thumb, { key: "ArrowLeft", shiftKey: true });
    expect(screen.getByTestId("pitr-moment-at")).toHaveTextContent(localSeconds("2026-11-26T11:58:51Z"));
    expect(screen.getByTestId("pitr-moment-why")).toHaveTextContent("Looking for the last change before it…");
    expect(screen.getByTestId("pitr-moment-restore")).toBeDisabled();
    await waitFor(() => expect(screen.getByTestId("pitr-moment-commit").textContent).toContain(`before ${hms("2026-11-26T11:58:51Z")} was at ${hms("2026-11-26T11:58:39Z")}`), WAIT);
    expect(plans(calls)).toEqual(["2026-11-26T11:59:56Z", "2026-11-26T11:58:51Z"]);
  });

  it("refuses a moment in a break with the reason, keeps it there, asks the engine nothing and says why the actions wait", async () => {
    const calls = setup({ onRestore: vi.fn(), onCompare: vi.fn(), onDrill: vi.fn(), onLookInside: vi.fn() });
    await screen.findByTestId("pitr-moment-commit", {}, WAIT);
    const thumb = screen.getByRole("slider");
    fireEvent.keyDown(thumb, { key: "Home" });
    fireEvent.keyDown(thumb, { key: "PageUp" });
    fireEvent.keyDown(thumb, { key: "ArrowRight" });
    expect(screen.getByTestId("pitr-moment-refused")).toHaveTextContent(
      `${localSeconds("2026-11-26T09:00:01Z")} cannot be restored: nothing was captured between ${localSeconds("2026-11-26T09:00:00Z")} and ${localSeconds("2026-11-26T09:05:00Z")} (the captured tables' definitions changed (DDL)).`,
    );
    expect(thumb).toHaveAttribute("aria-valuenow", String(Date.parse("2026-11-26T09:00:01Z") / 1000));
    expect(screen.getByTestId("pitr-moment-why")).toHaveTextContent("Choose a moment that can be restored.");
    // Every action stays in its place, disabled (e2e pitr-01: Look inside had gone).
    for (const id of ["pitr-moment-restore", "pitr-moment-compare", "pitr-moment-drill", "pitr-moment-look"]) expect(screen.getByTestId(id)).toBeDisabled();
    // A second back is inside the first window: that one is asked, the refused one never was.
    fireEvent.keyDown(thumb, { key: "ArrowLeft" });
    await waitFor(() => expect(screen.getByTestId("pitr-moment-commit").textContent).toContain(`before ${hms("2026-11-26T09:00:00Z")}`), WAIT);
    expect(plans(calls)).toEqual(["2026-11-26T11:59:56Z", "2026-11-26T09:00:00Z"]);
    expect(screen.queryByTestId("pitr-moment-refused")).toBeNull();
  });

  it("a moment the engine refuses (a damaged change file) shows the engine's words and nothing can start", async () => {
    setup({ onRestore: vi.fn() }, "change file s2 is damaged: the window after it cannot be restored");
    expect((await screen.findByTestId("pitr-moment-error", {}, WAIT)).textContent).toContain("change file s2 is damaged");
    expect(screen.getByTestId("pitr-moment-restore")).toBeDisabled();
    expect(screen.getByTestId("pitr-moment-why")).toHaveTextContent("This moment cannot be restored (above).");
  });

  it("Restore, Compare and Drill go there with the moment chosen, in the engine's form", async () => {
    const onRestore = vi.fn();
    const onCompare = vi.fn();
    const onDrill = vi.fn();
    setup({ onRestore, onCompare, onDrill });
    await screen.findByTestId("pitr-moment-commit", {}, WAIT);
    fireEvent.keyDown(screen.getByRole("slider"), { key: "Home" });
    await waitFor(() => expect(screen.getByTestId("pitr-moment-commit").textContent).toContain(`before ${hms("2026-11-26T08:00:00Z")}`), WAIT);
    fireEvent.click(screen.getByTestId("pitr-moment-restore"));
    fireEvent.click(screen.getByTestId("pitr-moment-compare"));
    fireEvent.click(screen.getByTestId("pitr-moment-drill"));
    expect(onRestore).toHaveBeenCalledWith("2026-11-26T08:00:00Z");
    expect(onCompare).toHaveBeenCalledWith("2026-11-26T08:00:00Z");
    expect(onDrill).toHaveBeenCalledWith("2026-11-26T08:00:00Z");
  });

  it("Look inside makes the database as it was then and opens it; the band waits meanwhile", async () => {
    const onLookInside = vi.fn();
    const calls = setup({ onLookInside });
    await screen.findByTestId("pitr-moment-commit", {}, WAIT);
    fireEvent.click(screen.getByTestId("pitr-moment-look"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "start_open_at")?.args).toEqual({ project: "shop", at: "2026-11-26T11:59:56Z" }), WAIT);
    await waitFor(() => expect(screen.getByTestId("pitr-moment-look-cancel")).not.toBeDisabled(), WAIT);
    // The moment does not move under a running job.
    fireEvent.keyDown(screen.getByRole("slider"), { key: "Home" });
    expect(screen.getByTestId("pitr-moment-at")).toHaveTextContent(localSeconds("2026-11-26T11:59:56Z"));
    const done = {
      job_id: "job-look",
      kind: "restore",
      ok: true,
      error: null,
      result: { kind: "at_state", archive: "/data/pitr-at/.offsite-tmp-1/shop-at.offsite", state: null },
    } as unknown as JobFinished;
    await act(() => emit("job-finished", done));
    expect(onLookInside).toHaveBeenCalledWith("/data/pitr-at/.offsite-tmp-1/shop-at.offsite", `shop as it was at ${localSeconds("2026-11-26T11:59:56Z")}`);
  });

  it("keeps the moment when the windows grow (the status read again): the actions do not change under the pointer", async () => {
    const calls = mockEngine();
    const grown = [WINDOWS[0]!, { ...WINDOWS[1]!, to: us("2026-11-26T12:00:30Z") }];
    const { rerender } = render(<PitrMoment project="shop" windows={WINDOWS} backups={[]} nowMs={NOW} onRestore={vi.fn()} />);
    await waitFor(() => expect(screen.getByTestId("pitr-moment-commit").textContent).toContain(`before ${hms("2026-11-26T11:59:56Z")}`), WAIT);
    rerender(<PitrMoment project="shop" windows={grown} backups={[]} nowMs={NOW + 35_000} onRestore={vi.fn()} />);
    expect(screen.getByTestId("pitr-moment-at")).toHaveTextContent(localSeconds("2026-11-26T11:59:56Z"));
    expect(screen.getByTestId("pitr-moment-restore")).not.toBeDisabled();
    // End takes the newest second now.
    fireEvent.keyDown(screen.getByRole("slider"), { key: "End" });
    await waitFor(() => expect(screen.getByTestId("pitr-moment-commit").textContent).toContain(`before ${hms("2026-11-26T12:00:30Z")}`), WAIT);
    expect(plans(calls)).toEqual(["2026-11-26T11:59:56Z", "2026-11-26T12:00:30Z"]);
  });
});
