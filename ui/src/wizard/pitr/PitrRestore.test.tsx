import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { JobFinished, PitrPlan, PitrStatus, Window } from "../../bindings";
import { summary } from "../../screens/fixtures";
import { Main } from "../../screens/Main";
import { StoreProvider } from "../../store";
import { RestoreWizard } from "../RestoreWizard";
import { localFieldToUtc, localSeconds, toLocalField } from "./time";

/** Waits on the engine's answers (a moment is planned once it settles; a busy machine is slow). */
const WAIT = { timeout: 10_000 };

const us = (iso: string) => Date.parse(iso) * 1000;
const win: Window = {
  chain_id: "c1",
  from: us("2026-11-26T05:00:00Z"),
  to: us("2026-11-26T07:00:00Z"),
  from_text: "2026-11-26 05:00:00",
  to_text: "2026-11-26 07:00:00",
  broken_by: null,
  segments: 4,
};
const status = (windows: Window[]): PitrStatus => ({
  enabled: true,
  slot: null,
  max_retained: null,
  free_bytes: null,
  effective_max_retained: null,
  rpo_seconds: 3,
  coverage: null,
  windows,
  ended: [],
  stray_slots: [],
});
const thePlan = (at: string): PitrPlan => ({
  at,
  window: win,
  base_backup_id: "b1",
  base_path: "/b/shop.offsite",
  base_at: "2026-11-26T05:00:00Z",
  segments: ["s1", "s2"],
  stop_commit_at: "2026-11-26T05:59:58.120Z",
  stop_commit_lsn: "0/3A0001C8",
  transactions: 17,
  not_covered: [["public.cache", "unlogged table"]],
  fetched: [],
});

type Call = { cmd: string; args: Record<string, unknown> };

/** The app's commands as this file's tests need them; returns the calls made. */
function mockCommands(windows: Window[], planFails = false, projects = ["shop", "staging"]): Call[] {
  const calls: Call[] = [];
  mockIPC(
    (cmd, raw) => {
      const args = (raw ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      switch (cmd) {
        case "list_backups":
          return [];
        case "list_projects":
          return projects.map((p) => summary(p, null));
        case "pitr_status":
          return status(windows);
        case "pitr_plan":
          if (planFails)
            return Promise.reject({
              code: "not_found",
              message: "No window holds 2026-11-26T08:00:00Z: the nearest restorable times are 2026-11-26T07:00:00Z before and none after",
              hint: null,
              retryable: false,
            });
          return thePlan(args.at as string);
        case "start_pitr_restore":
          return "job-p";
        case "start_open_at":
          return "job-l";
        case "browse_tables":
          return { backup_id: "b1", project: "shop", created_at: "2026-11-26T06:00:00Z", readable: true, note: null, schemas: [], tables: [], selection: null };
        case "close_at":
          return true;
        case "cancel_job":
          return true;
        default:
          return Promise.reject({ code: "not_found", message: `not in this test: ${cmd}`, hint: null, retryable: false });
      }
    },
    { shouldMockEvents: true },
  );
  return calls;
}

/** The wizard on its own. */
function setup(windows: Window[], planFails = false, projects?: string[]) {
  const calls = mockCommands(windows, planFails, projects);
  render(
    <StoreProvider>
      <RestoreWizard project="shop" onClose={vi.fn()} />
    </StoreProvider>,
  );
  return calls;
}

describe("time helpers", () => {
  it("reads the field as local time and sends UTC", () => {
    const local = toLocalField(Date.parse("2026-11-26T06:00:00Z"));
    expect(localFieldToUtc(local)).toBe("2026-11-26T06:00:00Z");
    expect(localFieldToUtc("nonsense")).toBeNull();
  });
});

describe("the restore wizard's point in time", () => {
  it("without capture windows, 'as it was at a moment' says it can go back only to a backup (issue 64)", async () => {
    const calls = setup([]);
    await waitFor(() => expect(calls.some((c) => c.cmd === "pitr_status")).toBe(true), WAIT);
    fireEvent.click(screen.getByTestId("wizard-mode-time"));
    expect(screen.getByTestId("wizard-want-moment-none")).toHaveTextContent("Point in time is off for this project");
    expect(screen.queryByTestId("wizard-time")).toBeNull();
    expect(screen.getByTestId("wizard-steps")).toBeInTheDocument();
  });

  it("time → plan in words → a saved project → restore → progress → report", async () => {
    const calls = setup([win]);
    fireEvent.click(await screen.findByTestId("wizard-mode-time", {}, WAIT));
    expect(screen.getByTestId("pitr-ranges").textContent).toContain(`${localSeconds(Date.parse("2026-11-26T05:00:00Z"))} to ${localSeconds(Date.parse("2026-11-26T07:00:00Z"))}`);
    fireEvent.change(screen.getByTestId("pitr-at"), { target: { value: toLocalField(Date.parse("2026-11-26T06:00:00Z")) } });
    // The same stepper as a backup's restore (issue 64 item 3).
    expect(screen.getByTestId("pitr-steps")).toHaveClass("wizard-steps");
    expect(screen.getByTestId("pitr-step-moment")).toHaveAttribute("aria-current", "step");
    expect(screen.getByTestId("pitr-restore-start")).toBeDisabled();
    // Says why beside it (issue 64 item 6): the engine is asked once the moment settles.
    expect(screen.getByTestId("pitr-restore-why")).toHaveTextContent("Looking for the last change before it…");
    const words = await screen.findByTestId("pitr-plan-words", {}, WAIT);
    expect(screen.queryByTestId("pitr-restore-why")).toBeNull();
    expect(screen.getByTestId("pitr-step-target")).toHaveAttribute("aria-current", "step");
    expect(screen.getByTestId("pitr-step-moment")).toHaveClass("wizard-step-done");
    expect(calls.find((c) => c.cmd === "pitr_plan")?.args).toEqual({ project: "shop", at: "2026-11-26T06:00:00Z" });
    expect(words.textContent).toContain(`Starts from the backup of ${localSeconds("2026-11-26T05:00:00Z")}`);
    expect(words.textContent).toContain("Then replays 17 transactions from 2 change files");
    // The moment in words, no LSN or fraction (issue 64 item 3); those behind Details.
    expect(screen.getByTestId("pitr-plan-stop").textContent).toBe(
      `The last change before ${localSeconds("2026-11-26T06:00:00Z").slice(11)} was at ${localSeconds("2026-11-26T05:59:58.120Z").slice(11)}; the restore stops there`,
    );
    for (const id of ["pitr-plan-base", "pitr-plan-segments", "pitr-plan-stop"]) expect(screen.getByTestId(id).textContent).not.toMatch(/LSN|\.120|T0\d:|Z\b/);
    expect(screen.getByTestId("pitr-plan-details").textContent).toContain("LSN): 0/3A0001C8");
    expect(screen.getByTestId("pitr-plan-not-covered").textContent).toContain("public.cache (unlogged table)");
    expect(screen.getByTestId("pitr-target-project-select")).toHaveValue("staging");
    fireEvent.click(screen.getByTestId("pitr-restore-start"));
    await screen.findByTestId("pitr-running", {}, WAIT);
    expect(screen.getByTestId("pitr-step-run")).toHaveAttribute("aria-current", "step");
    // While it runs the wizard is not left, nor switched to a backup.
    expect(screen.getByTestId("wizard-close")).toBeDisabled();
    expect(screen.getByTestId("wizard-mode")).toBeDisabled();
    await waitFor(() => expect(calls.find((c) => c.cmd === "start_pitr_restore")?.args).toEqual({ project: "shop", at: "2026-11-26T06:00:00Z", to: { project: "staging" }, createDatabase: false }), WAIT);
    await waitFor(() => expect(screen.getByTestId("pitr-cancel")).not.toBeDisabled(), WAIT);
    const done: JobFinished = {
      job_id: "job-p",
      kind: "restore",
      ok: true,
      error: null,
      result: { kind: "pitr_restore", restored: { plan: thePlan("2026-11-26T06:00:00Z"), replayed: { commits: 17, skipped: 2, changes: 40, last_commit: null } } },
    } as JobFinished;
    await act(() => emit("job-finished", done));
    expect((await screen.findByTestId("pitr-report-replayed", {}, WAIT)).textContent).toContain("17 transactions replayed");
    expect(screen.getByTestId("pitr-report-title").textContent).toContain("into staging");
    expect(screen.getByTestId("pitr-step-report")).toHaveAttribute("aria-current", "step");
    expect(screen.getByTestId("wizard-close")).not.toBeDisabled();
  });

  it("a time the engine refuses shows the engine's words and no restore; End on the band takes the newest second", async () => {
    const calls = setup([win], true);
    fireEvent.click(await screen.findByTestId("wizard-mode-time", {}, WAIT));
    const err = await screen.findByTestId("pitr-plan-error", {}, WAIT);
    expect(err.textContent).toContain("the nearest restorable times are 2026-11-26T07:00:00Z before");
    expect(screen.getByTestId("pitr-restore-start")).toBeDisabled();
    expect(screen.getByTestId("pitr-restore-why")).toHaveTextContent("This time cannot be restored (above).");
    // Home and End on the band put the window's first and newest second in the field.
    fireEvent.keyDown(screen.getByTestId("pitr-band-thumb"), { key: "Home" });
    expect(localFieldToUtc((screen.getByTestId("pitr-at") as HTMLInputElement).value)).toBe("2026-11-26T05:00:00Z");
    fireEvent.keyDown(screen.getByTestId("pitr-band-thumb"), { key: "End" });
    expect(localFieldToUtc((screen.getByTestId("pitr-at") as HTMLInputElement).value)).toBe("2026-11-26T07:00:00Z");
    expect(calls.filter((c) => c.cmd === "start_pitr_restore")).toHaveLength(0);
  });

  it("a moment outside the windows is refused with the reason, stays where it was put, and the engine is not asked (issue 64 item 3)", async () => {
    const calls = setup([win]);
    fireEvent.click(await screen.findByTestId("wizard-mode-time", {}, WAIT));
    await screen.findByTestId("pitr-plan-words", {}, WAIT);
    const asked = calls.filter((c) => c.cmd === "pitr_plan").length;
    const late = toLocalField(Date.parse("2026-11-26T08:00:00Z"));
    fireEvent.change(screen.getByTestId("pitr-at"), { target: { value: late } });
    expect(screen.getByTestId("pitr-refused")).toHaveTextContent(
      `${localSeconds(Date.parse("2026-11-26T08:00:00Z"))} cannot be restored yet: changes are captured up to ${localSeconds(Date.parse("2026-11-26T07:00:00Z"))}.`,
    );
    expect((screen.getByTestId("pitr-at") as HTMLInputElement).value).toBe(late);
    expect(screen.getByTestId("pitr-band-thumb")).toHaveAttribute("data-refused", "true");
    expect(screen.getByTestId("pitr-restore-why")).toHaveTextContent("Choose a moment that can be restored (above).");
    expect(screen.getByTestId("pitr-restore-start")).toBeDisabled();
    expect(screen.queryByTestId("pitr-plan-words")).toBeNull();
    // One second back inside: asked again, and offered.
    fireEvent.keyDown(screen.getByTestId("pitr-band-thumb"), { key: "End" });
    await screen.findByTestId("pitr-plan-words", {}, WAIT);
    expect(screen.queryByTestId("pitr-refused")).toBeNull();
    expect(calls.filter((c) => c.cmd === "pitr_plan").map((c) => c.args.at)).toEqual([...Array(asked).fill("2026-11-26T07:00:00Z"), "2026-11-26T07:00:00Z"]);
  });

  it("a URL target sends its password with the request and never shows it; Cancel asks the job registry", async () => {
    const calls = setup([win]);
    fireEvent.click(await screen.findByTestId("wizard-mode-time", {}, WAIT));
    await screen.findByTestId("pitr-plan-words", {}, WAIT);
    fireEvent.click(screen.getByTestId("pitr-target-url"));
    fireEvent.change(screen.getByTestId("pitr-target-url-input"), { target: { value: "postgres://u@h/db" } });
    fireEvent.change(screen.getByTestId("pitr-target-password"), { target: { value: "s3cret" } });
    fireEvent.click(screen.getByTestId("pitr-restore-start"));
    await waitFor(() => expect(screen.getByTestId("pitr-cancel")).not.toBeDisabled(), WAIT);
    expect(calls.find((c) => c.cmd === "start_pitr_restore")?.args).toMatchObject({
      to: { connection: { connection: { url: "postgres://u@h/db" }, tls: null, password: "s3cret" } },
      createDatabase: false,
    });
    expect(document.body.textContent).not.toContain("s3cret");
    fireEvent.click(screen.getByTestId("pitr-cancel"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "cancel_job")).toBe(true), WAIT);
  });
});

describe("Restore to a time: a database on a server (issue 64 item 2)", () => {
  it("is named by its parts, the password beside them; the button says what is missing until it can start", async () => {
    const calls = setup([win]);
    fireEvent.click(await screen.findByTestId("wizard-mode-time", {}, WAIT));
    await screen.findByTestId("pitr-plan-words", {}, WAIT);
    fireEvent.click(screen.getByTestId("pitr-target-server"));
    expect(screen.getByTestId("pitr-target-server-port")).toHaveValue("5432");
    expect(screen.getByTestId("pitr-restore-start")).toBeDisabled();
    expect(screen.getByTestId("pitr-restore-why")).toHaveTextContent("Enter the server, user and database to restore into.");
    const type = (part: string, value: string) => fireEvent.change(screen.getByTestId(`pitr-target-server-${part}`), { target: { value } });
    type("host", "db.example.com");
    type("user", "restorer");
    type("database", "shop_then");
    type("port", "no port");
    expect(screen.getByTestId("pitr-restore-start")).toBeDisabled();
    type("port", "6543");
    fireEvent.change(screen.getByTestId("pitr-target-server-tls"), { target: { value: "require" } });
    type("password", "s3cret");
    // A database that does not exist yet is created only when asked.
    expect(screen.getByTestId("pitr-target-create")).not.toBeChecked();
    fireEvent.click(screen.getByTestId("pitr-target-create"));
    expect(screen.queryByTestId("pitr-restore-why")).toBeNull();
    fireEvent.click(screen.getByTestId("pitr-restore-start"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "start_pitr_restore")).toBe(true), WAIT);
    expect(calls.find((c) => c.cmd === "start_pitr_restore")?.args).toEqual({
      project: "shop",
      at: "2026-11-26T07:00:00Z",
      to: {
        connection: {
          connection: { fields: { host: "db.example.com", port: 6543, user: "restorer", database: "shop_then" } },
          tls: "require",
          password: "s3cret",
        },
      },
      createDatabase: true,
    });
    expect(document.body.textContent).not.toContain("s3cret");
    const done = {
      job_id: "job-p",
      kind: "restore",
      ok: true,
      error: null,
      result: { kind: "pitr_restore", restored: { plan: thePlan("2026-11-26T07:00:00Z"), replayed: { commits: 3, skipped: 0, changes: 5, last_commit: null } } },
    } as JobFinished;
    await act(() => emit("job-finished", done));
    expect((await screen.findByTestId("pitr-report-title", {}, WAIT)).textContent).toContain("into shop_then on db.example.com.");
  });

  it("is where a restore to a time goes when there is no other saved project", async () => {
    setup([win], false, ["shop"]);
    fireEvent.click(await screen.findByTestId("wizard-mode-time", {}, WAIT));
    await screen.findByTestId("pitr-plan-words", {}, WAIT);
    expect(screen.getByTestId("pitr-target-project")).toBeDisabled();
    expect(screen.getByTestId("pitr-target-server")).toBeChecked();
    expect(screen.getByTestId("pitr-target-create-label")).toHaveTextContent("Create it as a new empty database if it does not exist yet");
  });
});

describe("Look inside at this time", () => {
  /** Main at the restore wizard, with a plan made for 06:00 and the offer clicked. */
  async function lookInside() {
    const calls = mockCommands([win]);
    render(<Main initial={{ screen: "restore", name: "shop" }} />);
    fireEvent.click(await screen.findByTestId("wizard-mode-time", {}, WAIT));
    fireEvent.change(screen.getByTestId("pitr-at"), { target: { value: toLocalField(Date.parse("2026-11-26T06:00:00Z")) } });
    // Offered once there is a plan: what it makes is the plan's state.
    expect(screen.queryByTestId("pitr-look-inside")).toBeNull();
    fireEvent.click(await screen.findByTestId("pitr-look-inside", {}, WAIT));
    await screen.findByTestId("pitr-running", {}, WAIT);
    await waitFor(() => expect(calls.find((c) => c.cmd === "start_open_at")?.args).toEqual({ project: "shop", at: "2026-11-26T06:00:00Z" }), WAIT);
    expect(calls.some((c) => c.cmd === "start_pitr_restore")).toBe(false);
    return calls;
  }
  const ARCHIVE = "/data/pitr-at/.offsite-tmp-1/shop-at.offsite";

  it("makes the state, opens it in the browse screen, and removes it when the screen is left", async () => {
    const calls = await lookInside();
    const done = {
      job_id: "job-l",
      kind: "restore",
      ok: true,
      error: null,
      result: {
        kind: "at_state",
        archive: ARCHIVE,
        state: { project: "shop", at: "2026-11-26T06:00:00Z", base_backup_id: "b1", base_at: "2026-11-26T05:00:00Z", commit_at: "2026-11-26T05:59:58.120Z", commit_lsn: "0/3A0001C8", transactions: 17, changes: 40 },
      },
    } as JobFinished;
    await act(() => emit("job-finished", done));
    const browse = await screen.findByTestId("browse-screen", {}, WAIT);
    expect(browse.textContent).toContain(`shop as it was at ${localSeconds("2026-11-26T06:00:00Z")}`);
    await waitFor(() => expect(calls.find((c) => c.cmd === "browse_tables")?.args).toEqual({ archive: ARCHIVE }), WAIT);
    expect(calls.some((c) => c.cmd === "close_at")).toBe(false);
    fireEvent.click(screen.getByTestId("browse-back"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "close_at").map((c) => c.args)).toEqual([{ archive: ARCHIVE }]), WAIT);
  });

  it("a state that cannot be made shows the engine's words, and nothing is opened", async () => {
    const calls = await lookInside();
    const failed = {
      job_id: "job-l",
      kind: "restore",
      ok: false,
      error: { code: "integrity", message: "change file s2 is damaged: the window after it cannot be restored", hint: "restore an earlier time", retryable: false },
      result: null,
    } as JobFinished;
    await act(() => emit("job-finished", failed));
    expect((await screen.findByTestId("pitr-run-error", {}, WAIT)).textContent).toContain("change file s2 is damaged");
    expect(screen.queryByTestId("browse-screen")).toBeNull();
    expect(calls.some((c) => c.cmd === "browse_tables" || c.cmd === "close_at")).toBe(false);
  });

  it("is not offered where nothing could open it (the wizard on its own)", async () => {
    setup([win]);
    fireEvent.click(await screen.findByTestId("wizard-mode-time", {}, WAIT));
    fireEvent.change(screen.getByTestId("pitr-at"), { target: { value: toLocalField(Date.parse("2026-11-26T06:00:00Z")) } });
    await screen.findByTestId("pitr-plan-words", {}, WAIT);
    expect(screen.queryByTestId("pitr-look-inside")).toBeNull();
  });
});
