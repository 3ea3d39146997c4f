import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ScheduleView, ScheduleWhen } from "../bindings";
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
  spec: "daily 02:30",
  when: { kind: "daily", time: "02:30" },
  time_zone: "Europe/Berlin",
  verify_newest: null,
  paused: false,
  created_at: "2026-11-20T10:00:00Z",
  last_slot: null,
  retry_at: null,
  next_runs: RUNS,
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

function setup(schedules: ScheduleView[] = []) {
  const calls: Call[] = [];
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    switch (cmd) {
      case "list_schedules":
        return schedules;
      case "project_status":
        return [];
      case "preview_schedule": {
        const when = a.when as ScheduleWhen;
        if (when.kind === "daily" && when.time === "25:00") {
          return Promise.reject({
            code: "invalid_input",
            message: '"25:00" is not a time of day',
            hint: "write a time as HH:MM on a 24-hour clock, from 00:00 to 23:59 (e.g. 02:30)",
            retryable: false,
          });
        }
        return { spec: specOf(when), when, time_zone: "Europe/Berlin", next_runs: RUNS };
      }
      case "set_schedule":
        return { ...saved, spec: specOf(a.when as ScheduleWhen), when: a.when as ScheduleWhen, paused: a.paused as boolean };
      case "clear_schedule":
        return true;
      case "get_autostart":
        return false;
      case "set_autostart":
        return a.on;
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  render(
    <StoreProvider>
      <ScheduleSection project="shop" previewDelayMs={0} />
    </StoreProvider>,
  );
  return calls;
}

describe("ScheduleSection", () => {
  it("shows the saved backup schedule in words with its next run and zone", async () => {
    setup([saved]);
    const backup = await screen.findByTestId("schedule-backup");
    expect(backup).toHaveAttribute("data-state", "on");
    expect(within(backup).getByTestId("schedule-backup-spec")).toHaveTextContent("Every day at 02:30");
    expect(within(backup).getByTestId("schedule-backup-zone")).toHaveTextContent("Europe/Berlin");
    expect(within(backup).getByTestId("schedule-backup-next")).not.toHaveTextContent("—");
    expect(screen.getByTestId("schedule-verify")).toHaveAttribute("data-state", "none");
    // The editor starts from the saved schedule.
    await waitFor(() => expect(screen.getByTestId("schedule-time")).toHaveValue("02:30"));
  });

  it("schedules a restore drill, monthly by default", async () => {
    const calls = setup();
    expect(await screen.findByTestId("schedule-drill")).toHaveAttribute("data-state", "none");
    fireEvent.change(screen.getByTestId("schedule-what"), { target: { value: "drill" } });
    await waitFor(() => expect(screen.getByTestId("schedule-kind")).toHaveValue("monthly"));
    expect(screen.getByTestId("schedule-day")).toHaveValue(1);
    expect(screen.getByTestId("schedule-time")).toHaveValue("04:00");
    fireEvent.click(screen.getByTestId("schedule-save"));
    expect(await screen.findByTestId("schedule-saved")).toHaveTextContent("Restore drill schedule saved");
    expect(calls.find((c) => c.cmd === "set_schedule")?.args).toEqual({
      project: "shop",
      kind: "drill",
      when: { kind: "monthly", day: 1, time: "04:00" },
      paused: false,
      verifyNewest: null,
      timeZone: null,
    });
  });

  it("previews the next 5 runs of what is typed", async () => {
    const calls = setup();
    const runs = await screen.findAllByTestId("schedule-preview-run");
    expect(runs).toHaveLength(5);
    expect(screen.getByTestId("schedule-preview-zone")).toHaveTextContent("Europe/Berlin");
    fireEvent.change(screen.getByTestId("schedule-kind"), { target: { value: "every" } });
    fireEvent.change(screen.getByTestId("schedule-hours"), { target: { value: "6" } });
    await waitFor(() =>
      expect(calls.some((c) => c.cmd === "preview_schedule" && (c.args.when as ScheduleWhen).kind === "every")).toBe(true),
    );
    await waitFor(() => expect(screen.getByTestId("schedule-preview-zone")).toHaveTextContent("Every 6 hours"));
    // Nothing was saved by previewing.
    expect(calls.some((c) => c.cmd === "set_schedule")).toBe(false);
  });

  it("shows the engine's message and hint for an invalid time", async () => {
    setup();
    await screen.findAllByTestId("schedule-preview-run");
    fireEvent.change(screen.getByTestId("schedule-time"), { target: { value: "25:00" } });
    const error = await screen.findByTestId("schedule-preview-error");
    expect(error).toHaveAttribute("data-code", "invalid_input");
    expect(screen.getByTestId("schedule-preview-error-message")).toHaveTextContent('"25:00" is not a time of day');
    expect(screen.getByTestId("schedule-preview-error-hint")).toHaveTextContent("HH:MM on a 24-hour clock");
    expect(screen.queryByTestId("schedule-preview-run")).not.toBeInTheDocument();
  });

  it("saves a weekly schedule, paused, with the right arguments", async () => {
    const calls = setup();
    await screen.findAllByTestId("schedule-preview-run");
    fireEvent.change(screen.getByTestId("schedule-kind"), { target: { value: "weekly" } });
    fireEvent.click(screen.getByTestId("schedule-day-thu"));
    fireEvent.change(screen.getByTestId("schedule-time"), { target: { value: "03:15" } });
    fireEvent.click(screen.getByTestId("schedule-on"));
    fireEvent.click(screen.getByTestId("schedule-save"));
    expect(await screen.findByTestId("schedule-saved")).toHaveTextContent("Mondays and Thursdays at 03:15");
    const set = calls.find((c) => c.cmd === "set_schedule");
    expect(set?.args).toEqual({
      project: "shop",
      kind: "backup",
      when: { kind: "weekly", days: ["mon", "thu"], time: "03:15" },
      paused: true,
      verifyNewest: null,
      timeZone: null,
    });
  });

  it("offers to start Offsite at login once a schedule is saved, and turns it on", async () => {
    const calls = setup();
    await screen.findAllByTestId("schedule-preview-run");
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
    fireEvent.change(screen.getByTestId("schedule-what"), { target: { value: "verify" } });
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

  it("shows a save error from the engine", async () => {
    setup();
    mockIPC((cmd) => {
      if (cmd === "set_schedule") {
        return Promise.reject({ code: "not_found", message: "no project named shop", hint: "see the list", retryable: false });
      }
      if (cmd === "preview_schedule") {
        return { spec: "daily 02:30", when: { kind: "daily", time: "02:30" }, time_zone: "UTC", next_runs: RUNS };
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
});
