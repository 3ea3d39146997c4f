import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ScheduleView, ScheduleWhen } from "../bindings";
import { overview } from "../dashboard/fixtures";
import { StoreProvider } from "../store";
import { ScheduleSection } from "./ScheduleSection";
import { describeSpec, formOf, whenOf } from "./spec";

type Call = { cmd: string; args: Record<string, unknown> };

const RUNS = [
  "2026-11-22T01:30:00Z",
  "2026-11-23T01:30:00Z",
  "2026-11-24T01:30:00Z",
  "2026-11-25T01:30:00Z",
  "2026-11-26T01:30:00Z",
];

const saved: ScheduleView = {
  project: "shop",
  kind: "backup",
  name: "default",
  backup_type: null,
  selection: null,
  destinations: null,
  retention: null,
  retention_from: "project",
  retention_rules: "keep-daily 7, keep-weekly 4, keep-monthly 12",
  spec: "daily 02:30",
  words: "daily at 02:30",
  when: { kind: "daily", time: "02:30" },
  time_zone: "Europe/Berlin",
  verify_newest: null,
  paused: false,
  created_at: "2026-11-20T10:00:00Z",
  last_slot: null,
  retry_at: null,
  next_runs: RUNS,
  tenant: null,
};

function specOf(when: ScheduleWhen): string {
  switch (when.kind) {
    case "every":
      return `every ${when.hours}h`;
    case "daily":
      return `daily ${when.time}`;
    case "weekly":
      return `weekly ${when.days.join(",")} ${when.time}`;
    case "monthly":
      return `monthly ${when.day} ${when.time}`;
    case "cron":
      return `cron ${when.expr}`;
  }
}

/** Runs a fake engine computes for a saved spec: every minute for `* * * * *`, every 5 for
 *  `*\/5 * * * *`, else daily at the given time (as the engine's croner would, from a fixed now). */
function runsOf(when: ScheduleWhen): string[] {
  const from = Date.UTC(2026, 10, 22, 0, 0);
  if (when.kind === "cron" && when.expr === "* * * * *") return [1, 2, 3, 4, 5].map((i) => new Date(from + i * 60_000).toISOString());
  if (when.kind === "cron" && when.expr === "*/5 * * * *") return [1, 2, 3, 4, 5].map((i) => new Date(from + i * 300_000).toISOString());
  const [h, m] = (when.kind === "daily" ? when.time : "02:30").split(":").map(Number);
  return [0, 1, 2, 3, 4].map((d) => new Date(from + d * 86_400_000 + ((h ?? 0) * 60 + (m ?? 0)) * 60_000).toISOString());
}

function setup(initial: ScheduleView[] = [], tenants: string[] = []) {
  const calls: Call[] = [];
  let schedules = [...initial];
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    switch (cmd) {
      case "list_schedules":
        return schedules;
      case "list_tenants":
        return tenants.map((name) => ({ name, schema: "public", table: "orgs", key: "id", created_at: "2026-11-20T10:00:00Z", member_writes: [] }));
      case "project_status":
        return [];
      case "health":
        return overview([]);
      case "set_schedule": {
        const when = a.when as ScheduleWhen;
        if (when.kind === "cron" && when.expr === "61 * * * *") {
          return Promise.reject({
            code: "invalid_input",
            message: '"61 * * * *" is not a cron expression: minute 61 is out of range',
            hint: "write five fields: minute hour day-of-month month day-of-week (e.g. 30 2 * * *)",
            retryable: false,
          });
        }
        const view: ScheduleView = {
          ...saved,
          kind: a.kind as ScheduleView["kind"],
          spec: specOf(when),
          // The engine's words for the schedule (crates/core/src/schedule/spec_words.rs).
          words: when.kind === "cron" ? (when.expr === "* * * * *" ? "every minute" : "") : describeSpec(when).toLowerCase(),
          when,
          paused: a.paused as boolean,
          verify_newest: (a.verifyNewest as number | null) ?? null,
          next_runs: runsOf(when),
          tenant: a.tenant === null ? (schedules.find((s) => s.kind === a.kind)?.tenant ?? null) : (a.tenant as string) || null,
        };
        schedules = [...schedules.filter((s) => s.kind !== view.kind), view];
        return view;
      }
      case "clear_schedule":
        schedules = schedules.filter((s) => s.kind !== a.kind);
        return true;
      case "get_autostart":
        return false;
      case "set_autostart":
        return a.on;
      case "list_destinations":
        return [];
      case "get_retention":
        return null;
      case "change_named_schedule": {
        const e = a.edit as { name: string; when: ScheduleWhen };
        const v: ScheduleView = { ...(schedules.find((x) => x.name === e.name) ?? saved), when: e.when, spec: specOf(e.when) };
        schedules = schedules.map((x) => (x.name === e.name ? v : x));
        return v;
      }
      case "pause_named_schedule":
        schedules = schedules.map((x) => (x.name === a.name ? { ...x, paused: a.paused as boolean } : x));
        return null;
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  render(
    <StoreProvider>
      <ScheduleSection project="shop" />
    </StoreProvider>,
  );
  return calls;
}

const runTexts = () => screen.queryAllByTestId("schedule-preview-run").map((r) => r.getAttribute("title"));

/** Picks a time in the schedule's time picker (hour and minute lists). */
function setTime(hhmm: string) {
  const [h, m] = hhmm.split(":");
  fireEvent.change(screen.getByTestId("schedule-time-hour"), { target: { value: h } });
  fireEvent.change(screen.getByTestId("schedule-time-minute"), { target: { value: m } });
}

describe("ScheduleSection", () => {
  it("shows the saved backup schedule in words with its next run and zone", async () => {
    setup([saved]);
    const backup = await screen.findByTestId("schedule-backup");
    expect(backup).toHaveAttribute("data-state", "on");
    expect(within(backup).getByTestId("schedule-backup-spec")).toHaveTextContent("Every day at 02:30");
    expect(within(backup).getByTestId("schedule-backup-zone")).toHaveTextContent("the schedule keeps Europe/Berlin time");
    expect(within(backup).getByTestId("schedule-backup-next")).not.toHaveTextContent("—");
    // Local time in the app's one format: "2026-11-22 01:30" (the zone is named once per screen).
    expect(within(backup).getByTestId("schedule-backup-next").textContent).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
    expect(screen.getByTestId("schedule-verify")).toHaveAttribute("data-state", "none");
    // The editor starts from the saved schedule.
    await waitFor(() => expect(screen.getByTestId("schedule-time")).toHaveAttribute("data-value", "02:30"));
  });

  it("schedules a restore drill, monthly by default", async () => {
    const calls = setup();
    expect(await screen.findByTestId("schedule-drill")).toHaveAttribute("data-state", "none");
    fireEvent.click(screen.getByTestId("schedule-drill-edit"));
    await waitFor(() => expect(screen.getByTestId("schedule-kind")).toHaveValue("monthly"));
    expect(screen.getByTestId("schedule-day")).toHaveValue(1);
    expect(screen.getByTestId("schedule-time")).toHaveAttribute("data-value", "04:00");
    fireEvent.click(screen.getByTestId("schedule-save"));
    expect(await screen.findByTestId("schedule-saved")).toHaveTextContent("Restore drill schedule saved");
    expect(calls.find((c) => c.cmd === "set_schedule")?.args).toEqual({
      project: "shop",
      kind: "drill",
      when: { kind: "monthly", day: 1, time: "04:00" },
      paused: false,
      verifyNewest: null,
      timeZone: null,
      tenant: null,
    });
  });

  it("shows no runs for a form that is not saved: it says so instead", async () => {
    const calls = setup();
    expect(await screen.findByTestId("schedule-preview-none")).toHaveTextContent("Not saved yet");
    expect(screen.getByTestId("schedule-preview")).toHaveAttribute("data-status", "none");
    expect(runTexts()).toEqual([]);
    setTime("03:15");
    expect(screen.getByTestId("schedule-preview-unsaved")).toHaveTextContent("Not saved yet");
    expect(runTexts()).toEqual([]);
    // Nothing is computed in the window or asked for an unsaved form.
    expect(calls.some((c) => c.cmd === "preview_schedule" || c.cmd === "set_schedule")).toBe(false);
  });

  it("the preview equals what was saved after every edit, and only then", async () => {
    setup([saved]);
    await waitFor(() => expect(runTexts()).toEqual(RUNS));
    expect(screen.getByTestId("schedule-preview-spec")).toHaveTextContent("Every day at 02:30");

    // Edited, not saved: the runs are still the saved schedule's, and a note says so.
    setTime("03:15");
    expect(screen.getByTestId("schedule-preview-unsaved")).toBeInTheDocument();
    expect(screen.getByTestId("schedule-preview-spec")).toHaveTextContent("Every day at 02:30");
    expect(runTexts()).toEqual(RUNS);

    // Saved: the preview is the new schedule, the note is gone.
    fireEvent.click(screen.getByTestId("schedule-save"));
    await waitFor(() => expect(screen.getByTestId("schedule-preview-spec")).toHaveTextContent("Every day at 03:15"));
    expect(runTexts()).toEqual(runsOf({ kind: "daily", time: "03:15" }));
    expect(screen.queryByTestId("schedule-preview-unsaved")).not.toBeInTheDocument();
    // Said once: not "(Every day at 03:15, every day)" (third review, schedule-02).
    expect(screen.getByTestId("schedule-preview-zone")).toHaveTextContent("saved schedule (Every day at 03:15), in");

    // Every minute, typed: nothing changes until saved; saved, it says every minute and warns.
    fireEvent.change(screen.getByTestId("schedule-kind"), { target: { value: "cron" } });
    fireEvent.change(screen.getByTestId("schedule-cron"), { target: { value: "* * * * *" } });
    expect(screen.getByTestId("schedule-preview-spec")).toHaveTextContent("Every day at 03:15");
    expect(screen.queryByTestId("schedule-preview-frequent")).not.toBeInTheDocument();
    fireEvent.click(screen.getByTestId("schedule-save"));
    // Saved, a cron schedule reads as the engine's words for it, not as its expression, and
    // says how often once.
    await waitFor(() => expect(screen.getByTestId("schedule-preview-spec")).toHaveTextContent("Every minute"));
    expect(screen.getByTestId("schedule-preview-zone").textContent).not.toMatch(/Cron|“/);
    expect(screen.getByTestId("schedule-preview-zone").textContent).toMatch(/saved schedule \(Every minute\), in/);
    expect(runTexts()).toEqual(runsOf({ kind: "cron", expr: "* * * * *" }));
    expect(screen.getByTestId("schedule-preview-frequent")).toHaveTextContent("under 15 minutes apart");
    // The row says it once, in the engine's words ("Every minute", not "… · runs every minute").
    expect(screen.getByTestId("schedule-backup-spec")).toHaveTextContent("Every minute");
    expect(screen.queryByTestId("schedule-backup-gap")).not.toBeInTheDocument();
  });

  it("warns on the row when saved runs are under 15 minutes apart, not otherwise", async () => {
    setup([
      { ...saved, spec: "cron */5 * * * *", when: { kind: "cron", expr: "*/5 * * * *" }, next_runs: runsOf({ kind: "cron", expr: "*/5 * * * *" }) },
      { ...saved, kind: "verify" },
    ]);
    // The backup schedule is the one being edited: warned once, under its preview, not on its row too.
    expect(await screen.findByTestId("schedule-preview-frequent")).toHaveTextContent("every 5 minutes");
    expect(screen.queryByTestId("schedule-backup-frequent")).not.toBeInTheDocument();
    expect(screen.getAllByText(/under 15 minutes apart/)).toHaveLength(1);
    // Editing another schedule: the row carries the backup schedule's warning.
    fireEvent.click(screen.getByTestId("schedule-verify-edit"));
    expect(await screen.findByTestId("schedule-backup-frequent")).toHaveTextContent("every 5 minutes");
    expect(screen.queryByTestId("schedule-preview-frequent")).not.toBeInTheDocument();
    expect(screen.queryByTestId("schedule-verify-frequent")).not.toBeInTheDocument();
    expect(screen.getAllByText(/under 15 minutes apart/)).toHaveLength(1);
  });

  it("names the zone once when the schedule keeps this computer's zone (not “UTC · Etc/UTC”)", async () => {
    const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
    // The engine names UTC "Etc/UTC" where the webview says "UTC": the same zone.
    const here = local === "UTC" ? "Etc/UTC" : local;
    setup([{ ...saved, time_zone: here }]);
    const backup = await screen.findByTestId("schedule-backup");
    const next = within(backup).getByTestId("schedule-backup-next").textContent ?? "";
    expect(next).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
    expect(within(backup).queryByTestId("schedule-backup-zone")).not.toBeInTheDocument();
    expect(backup.textContent).not.toContain(here);
  });

  it("offers only real times: hours 00–23 and minutes 00–59, picked from lists", async () => {
    setup();
    await screen.findByTestId("schedule-backup");
    const hours = [...(screen.getByTestId("schedule-time-hour") as HTMLSelectElement).options].map((o) => o.value);
    const minutes = [...(screen.getByTestId("schedule-time-minute") as HTMLSelectElement).options].map((o) => o.value);
    expect(hours[0]).toBe("00");
    expect(hours.at(-1)).toBe("23");
    expect(hours).toHaveLength(24);
    expect(minutes).toHaveLength(60);
    expect(minutes.at(-1)).toBe("59");
    expect(screen.getByTestId("schedule-time").querySelector("input")).toBeNull();
    setTime("03:15");
    expect(screen.getByTestId("schedule-time")).toHaveAttribute("data-value", "03:15");
  });

  it("refuses an invalid cron expression when saving, with the engine's message and hint", async () => {
    const scrolled: Element[] = [];
    Element.prototype.scrollIntoView = function (this: Element) {
      scrolled.push(this);
    };
    setup();
    await screen.findByTestId("schedule-backup");
    fireEvent.change(screen.getByTestId("schedule-kind"), { target: { value: "cron" } });
    fireEvent.change(screen.getByTestId("schedule-cron"), { target: { value: "61 * * * *" } });
    fireEvent.click(screen.getByTestId("schedule-save"));
    const error = await screen.findByTestId("schedule-save-error");
    expect(error).toHaveAttribute("data-code", "invalid_input");
    // Shown where the eye is: scrolled to, and above the preview (it was below the fold).
    expect(scrolled).toContain(error);
    expect(error.compareDocumentPosition(screen.getByTestId("schedule-preview")) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    delete (Element.prototype as { scrollIntoView?: unknown }).scrollIntoView;
    expect(screen.getByTestId("schedule-save-error-message")).toHaveTextContent("minute 61 is out of range");
    expect(screen.getByTestId("schedule-save-error-hint")).toHaveTextContent("minute hour day-of-month");
    expect(runTexts()).toEqual([]);
  });

  it("saves a weekly schedule on, then pauses it with the editor's On switch and Save", async () => {
    const calls = setup();
    await screen.findByTestId("schedule-backup");
    fireEvent.change(screen.getByTestId("schedule-kind"), { target: { value: "weekly" } });
    fireEvent.click(screen.getByTestId("schedule-day-thu"));
    setTime("03:15");
    fireEvent.click(screen.getByTestId("schedule-save"));
    expect(await screen.findByTestId("schedule-saved")).toHaveTextContent("Mondays and Thursdays at 03:15");
    // And its next run, as a named schedule's notice says it.
    expect(screen.getByTestId("schedule-saved").textContent).toMatch(/Mondays and Thursdays at 03:15, next \d{4}-\d\d-\d\d \d\d:\d\d\.$/);
    const weekly = { kind: "weekly", days: ["mon", "thu"], time: "03:15" };
    expect(calls.find((c) => c.cmd === "set_schedule")?.args).toEqual({
      project: "shop",
      kind: "backup",
      when: weekly,
      paused: false,
      verifyNewest: null,
      timeZone: null,
      tenant: "",
    });
    expect(screen.getByTestId("schedule-backup-state")).toHaveTextContent("On");
    // Paused with the editor's On switch, saved by its Save (nothing is saved on change).
    const toggle = screen.getByTestId("schedule-on");
    expect(toggle).toBeChecked();
    fireEvent.click(toggle);
    expect(calls.filter((c) => c.cmd === "set_schedule")).toHaveLength(1);
    expect(screen.getByTestId("schedule-backup")).toHaveAttribute("data-state", "on");
    fireEvent.click(screen.getByTestId("schedule-save"));
    await waitFor(() => expect(screen.getByTestId("schedule-backup")).toHaveAttribute("data-state", "paused"));
    expect(calls.filter((c) => c.cmd === "set_schedule").at(-1)?.args).toMatchObject({ kind: "backup", when: weekly, paused: true });
    expect(screen.getByTestId("schedule-backup-next")).toHaveTextContent("— (paused)");
    expect(screen.getByTestId("schedule-backup-state")).toHaveTextContent("Paused");
    expect(screen.getByTestId("schedule-saved")).toHaveTextContent("Backup schedule saved, paused: Mondays and Thursdays at 03:15; nothing runs until it is on again.");
    // The checklist's "Scheduled" item follows at once: each save fetched the health again.
    expect(calls.filter((c) => c.cmd === "health").length).toBeGreaterThanOrEqual(2);
  });

  it("has one save model: no control on the tab saves on change, the editors' Save does (issue 44)", async () => {
    const hourly: ScheduleView = { ...saved, name: "hourly", spec: "every 1h", words: "every hour", when: { kind: "every", hours: 1 } };
    const calls = setup([saved, { ...saved, kind: "verify" }, hourly]);
    await screen.findByTestId("schedule-backup");
    fireEvent.click(await screen.findByTestId("named-schedule-edit"));
    const section = screen.getByTestId("schedule-section");
    await screen.findByTestId("named-editor");
    const WRITES = ["set_schedule", "clear_schedule", "add_named_schedule", "change_named_schedule", "pause_named_schedule", "remove_named_schedule", "set_retention", "set_autostart"];
    const writes = () => calls.filter((c) => WRITES.includes(c.cmd));
    // Every field, switch, box and list of the tab, changed: nothing is saved.
    const controls = Array.from(section.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>("input, select, textarea"));
    expect(controls.length).toBeGreaterThan(10);
    for (const el of controls) {
      if (!el.isConnected || el.disabled) continue;
      if (el instanceof HTMLInputElement && (el.type === "checkbox" || el.type === "radio")) fireEvent.click(el);
      else if (el instanceof HTMLSelectElement) fireEvent.change(el, { target: { value: el.options[el.options.length - 1]?.value ?? "" } });
      else fireEvent.change(el, { target: { value: el.type === "number" ? "3" : "x" } });
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(writes()).toEqual([]);
    // A switch lives only in an editor, beside its Save.
    for (const sw of screen.getAllByRole("switch")) {
      expect(sw.closest('[data-testid="schedule-editor"], [data-testid="named-editor"]')).not.toBeNull();
    }
    expect(screen.getAllByRole("switch")).toHaveLength(2);
  });

  it("pauses a named schedule with its editor's On switch, saved by Save (issue 44)", async () => {
    const hourly: ScheduleView = { ...saved, name: "hourly", spec: "every 1h", words: "every hour", when: { kind: "every", hours: 1 } };
    const calls = setup([saved, hourly]);
    fireEvent.click(await screen.findByTestId("named-schedule-edit"));
    const editor = await screen.findByTestId("named-editor");
    const on = within(editor).getByTestId("named-editor-on");
    expect(on).toBeChecked();
    fireEvent.click(on);
    expect(calls.filter((c) => c.cmd === "pause_named_schedule")).toEqual([]);
    fireEvent.click(within(editor).getByTestId("named-editor-save"));
    expect(await screen.findByTestId("named-schedules-notice")).toHaveTextContent("Schedule hourly saved, paused: Every hour; nothing runs until it is on again.");
    expect(calls.filter((c) => c.cmd === "pause_named_schedule").map((c) => c.args)).toEqual([{ project: "shop", name: "hourly", paused: true }]);
    await waitFor(() => expect(screen.getByTestId("named-schedule-state")).toHaveTextContent("Paused"));
  });

  it("a schedule shown while Offsite does not start at login: not asked again on every visit (issue 64)", async () => {
    const calls = setup([saved]);
    await screen.findByTestId("schedule-backup");
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("schedule-autostart-offer")).toBeNull();
    expect(calls.some((c) => c.cmd === "get_autostart")).toBe(false);
  });

  it("offers to start Offsite at login once a schedule is saved, and turns it on", async () => {
    const calls = setup();
    await screen.findByTestId("schedule-backup");
    fireEvent.click(screen.getByTestId("schedule-save"));
    await screen.findByTestId("schedule-saved");
    fireEvent.click(await screen.findByTestId("schedule-autostart-on"));
    expect(await screen.findByTestId("schedule-autostart-done")).toHaveTextContent("start at login");
    expect(calls.filter((c) => c.cmd === "set_autostart").map((c) => c.args)).toEqual([{ on: true }]);
  });

  it("saves a verify schedule of the newest N backups, and clears it", async () => {
    const calls = setup([
      { ...saved, kind: "verify", spec: "monthly 1 04:00", when: { kind: "monthly", day: 1, time: "04:00" }, verify_newest: 3 },
    ]);
    await screen.findByTestId("schedule-verify-spec");
    fireEvent.click(screen.getByTestId("schedule-verify-edit"));
    await waitFor(() => expect(screen.getByTestId("schedule-kind")).toHaveValue("monthly"));
    expect(screen.getByTestId("schedule-newest")).toHaveValue(3);
    fireEvent.change(screen.getByTestId("schedule-day"), { target: { value: "15" } });
    fireEvent.click(screen.getByTestId("schedule-save"));
    await screen.findByTestId("schedule-saved");
    expect(calls.find((c) => c.cmd === "set_schedule")?.args).toMatchObject({
      kind: "verify",
      when: { kind: "monthly", day: 15, time: "04:00" },
      verifyNewest: 3,
      paused: false,
    });
    fireEvent.click(screen.getByTestId("schedule-clear"));
    expect(await screen.findByTestId("schedule-saved")).toHaveTextContent("Verify schedule removed");
    expect(calls.find((c) => c.cmd === "clear_schedule")?.args).toEqual({ project: "shop", kind: "verify" });
  });

  it("shows a loading state, then a load error with its code", async () => {
    let fail: (e: unknown) => void = () => {};
    mockIPC((cmd) => {
      if (cmd === "list_schedules") return new Promise((_, reject) => (fail = reject));
      return [];
    });
    render(
      <StoreProvider>
        <ScheduleSection project="shop" />
      </StoreProvider>,
    );
    expect(await screen.findByTestId("schedules-loading")).toBeInTheDocument();
    fail({ code: "internal", message: "catalog unreadable", hint: null, retryable: false });
    expect(await screen.findByTestId("schedules-error")).toHaveAttribute("data-code", "internal");
  });

  it("shows a save error from the engine", async () => {
    setup();
    mockIPC((cmd) => {
      if (cmd === "set_schedule") {
        return Promise.reject({ code: "not_found", message: "no project named shop", hint: "see the list", retryable: false });
      }
      return [];
    });
    fireEvent.click(await screen.findByTestId("schedule-save"));
    const error = await screen.findByTestId("schedule-save-error");
    expect(error).toHaveAttribute("data-code", "not_found");
    expect(screen.getByTestId("schedule-save-error-hint")).toHaveTextContent("see the list");
  });
});

describe("schedule specs", () => {
  it("reads and writes every kind", () => {
    expect(describeSpec({ kind: "every", hours: 6 })).toBe("Every 6 hours from midnight");
    expect(describeSpec({ kind: "weekly", days: ["mon", "thu"], time: "02:30" })).toBe("Mondays and Thursdays at 02:30");
    expect(describeSpec({ kind: "monthly", day: 31, time: "03:00" })).toContain("on the 31st at 03:00");
    expect(describeSpec({ kind: "cron", expr: "0 3 * * 1-5" })).toBe("Cron “0 3 * * 1-5”");
    // A saved cron schedule reads as the engine's words for it, not its expression.
    expect(describeSpec({ kind: "cron", expr: "0 3 * * 1-5" }, "every weekday at 03:00")).toBe("Every weekday at 03:00");
    const whens: ScheduleWhen[] = [
      { kind: "every", hours: 6 },
      { kind: "daily", time: "02:30" },
      { kind: "weekly", days: ["mon", "thu"], time: "02:30" },
      { kind: "monthly", day: 15, time: "02:30" },
      { kind: "cron", expr: "0 3 * * 1-5" },
    ];
    for (const when of whens) {
      expect(whenOf(formOf(when, false, null))).toEqual(when);
    }
  });

  it("a backup schedule may split each backup by a tenant: offered when the project names one, saved, shown on its row", async () => {
    const calls = setup([saved], ["org"]);
    const pick = await screen.findByTestId("schedule-tenant");
    expect(pick).toHaveValue("");
    fireEvent.change(pick, { target: { value: "org" } });
    fireEvent.click(screen.getByTestId("schedule-save"));
    await screen.findByTestId("schedule-saved");
    expect(calls.filter((c) => c.cmd === "set_schedule").at(-1)?.args).toMatchObject({ kind: "backup", tenant: "org" });
    expect(await screen.findByTestId("schedule-backup-tenant")).toHaveTextContent("then one archive per org");
    // Back to none: "" (null would leave the tenant as it is).
    fireEvent.change(screen.getByTestId("schedule-tenant"), { target: { value: "" } });
    fireEvent.click(screen.getByTestId("schedule-save"));
    await waitFor(() => expect(screen.queryByTestId("schedule-backup-tenant")).toBeNull());
    expect(calls.filter((c) => c.cmd === "set_schedule").at(-1)?.args).toMatchObject({ tenant: "" });
  });

  it("offers no tenant split to a project without tenants, nor to a verify schedule", async () => {
    setup([saved]);
    await screen.findByTestId("schedule-backup");
    await waitFor(() => expect(screen.getByTestId("schedule-time")).toHaveAttribute("data-value", "02:30"));
    expect(screen.queryByTestId("schedule-tenant")).toBeNull();
  });
});
