import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { RetentionView, ScheduleEdit, ScheduleView } from "../bindings";
import { overview } from "../dashboard/fixtures";
import { StoreProvider } from "../store";
import { editOf, namedFormOf, NEW_FORM, problemOf } from "./NamedScheduleEditor";
import { NamedSchedules } from "./NamedSchedules";

type Call = { cmd: string; args: Record<string, unknown> };

const OFF = { keep_last: null, keep_hourly: null, keep_daily: null, keep_weekly: null, keep_monthly: null, keep_yearly: null, keep_within: null };

const base: ScheduleView = {
  project: "shop",
  kind: "backup",
  name: "hourly",
  backup_type: "database",
  selection: null,
  destinations: ["laptop"],
  retention: { ...OFF, keep_last: 24 },
  retention_from: "schedule",
  retention_rules: "keep-last 24",
  spec: "every 1h",
  words: "every hour",
  when: { kind: "every", hours: 1 },
  time_zone: "UTC",
  verify_newest: null,
  paused: false,
  created_at: "2026-11-20T10:00:00Z",
  last_slot: null,
  retry_at: null,
  next_runs: ["2026-11-20T11:00:00Z"],
  tenant: null,
};

const monthly: ScheduleView = {
  ...base,
  name: "monthly",
  backup_type: "full",
  destinations: null,
  retention: null,
  retention_from: "project",
  retention_rules: "keep-daily 7, keep-weekly 4, keep-monthly 12",
  spec: "monthly 1 03:00",
  when: { kind: "monthly", day: 1, time: "03:00" },
};

const projectRetention: RetentionView = {
  project: "shop",
  policy: { ...OFF, keep_daily: 7, keep_weekly: 4, keep_monthly: 12 },
  rules: "keep-daily 7, keep-weekly 4, keep-monthly 12",
  time_zone: "UTC",
  updated_at: "2026-11-20T10:00:00Z",
};

/** A fake engine: the schedules it holds, and a refusal for a taken name as the engine words it. */
function setup(initial: ScheduleView[]) {
  const calls: Call[] = [];
  let schedules = [...initial];
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    switch (cmd) {
      case "list_schedules":
        return schedules;
      case "get_retention":
        return projectRetention;
      case "list_destinations":
        return ["laptop", "cold"].map((name) => ({ id: `d-${name}`, project_id: "p", name, kind: "folder", location: `/m/${name}`, folder: `/m/${name}`, s3: null, rclone: null }));
      case "project_status":
        return [];
      case "health":
        return overview([]);
      case "add_named_schedule": {
        const e = a.edit as ScheduleEdit;
        if (schedules.some((s) => s.name === e.name)) {
          return Promise.reject({
            code: "already_exists",
            message: `shop has a schedule named "${e.name}" already`,
            hint: "change it with `offsite schedule set PROJECT --name NAME …`",
            retryable: false,
          });
        }
        const v: ScheduleView = { ...base, name: e.name, when: e.when, backup_type: e.backup_type, destinations: e.destinations, retention: e.retention };
        schedules = [...schedules, v];
        return v;
      }
      case "change_named_schedule": {
        const e = a.edit as ScheduleEdit;
        // As the engine: a change keeps the schedule on or paused (pause_named_schedule sets it).
        const paused = schedules.find((s) => s.name === e.name)?.paused ?? false;
        const v: ScheduleView = { ...base, name: e.name, when: e.when, backup_type: e.backup_type, destinations: e.destinations, retention: e.retention, paused };
        schedules = schedules.map((s) => (s.name === e.name ? v : s));
        return v;
      }
      case "remove_named_schedule":
        schedules = schedules.filter((s) => s.name !== a.name);
        return true;
      case "pause_named_schedule":
        schedules = schedules.map((s) => (s.name === a.name ? { ...s, paused: a.paused as boolean } : s));
        return null;
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  const view = () => (
    <StoreProvider>
      <NamedSchedules project="shop" list={schedules} />
    </StoreProvider>
  );
  const r = render(view());
  return { calls, rerender: () => r.rerender(view()) };
}

const sent = (calls: Call[], cmd: string) => calls.filter((c) => c.cmd === cmd);

describe("NamedSchedules", () => {
  it("lists each named schedule with its destinations and whose retention, in the app's words", async () => {
    setup([base, monthly]);
    const rows = screen.getAllByTestId("named-schedule");
    expect(rows.map((r) => r.dataset.name)).toEqual(["hourly", "monthly"]);
    const [hourly, month] = rows as [HTMLElement, HTMLElement];
    expect(within(hourly).getByTestId("named-schedule-destinations")).toHaveTextContent("laptop");
    expect(within(hourly).getByTestId("named-schedule-retention")).toHaveTextContent("its own (the last 24)");
    expect(within(month).getByTestId("named-schedule-destinations")).toHaveTextContent("every destination");
    await waitFor(() => expect(within(month).getByTestId("named-schedule-retention")).toHaveTextContent("the project's (7 daily · 4 weekly · 12 monthly)"));
  });

  it("offers to add one when there is none", () => {
    setup([]);
    expect(screen.getByTestId("named-schedules-none")).toBeInTheDocument();
    expect(screen.getByTestId("named-schedule-add")).toBeInTheDocument();
  });

  it("refuses a bad name, no destination chosen or an empty own retention before sending anything", async () => {
    const { calls } = setup([]);
    fireEvent.click(screen.getByTestId("named-schedule-add"));
    fireEvent.change(screen.getByTestId("named-editor-name"), { target: { value: "Hourly Backup" } });
    fireEvent.click(screen.getByTestId("named-editor-save"));
    expect(screen.getByTestId("named-editor-problem")).toHaveTextContent("lower-case letters, digits");
    fireEvent.change(screen.getByTestId("named-editor-name"), { target: { value: "hourly" } });
    await waitFor(() => expect(screen.getByTestId("named-editor-dest-chosen")).not.toBeDisabled());
    fireEvent.click(screen.getByTestId("named-editor-dest-chosen"));
    fireEvent.click(screen.getByTestId("named-editor-save"));
    expect(screen.getByTestId("named-editor-problem")).toHaveTextContent("at least one destination");
    fireEvent.click(screen.getByTestId("named-editor-dest-all"));
    fireEvent.click(screen.getByTestId("named-editor-ret-own"));
    fireEvent.click(screen.getByTestId("named-editor-preset-everything"));
    fireEvent.click(screen.getByTestId("named-editor-save"));
    expect(screen.getByTestId("named-editor-problem")).toHaveTextContent("at least one rule");
    expect(sent(calls, "add_named_schedule")).toHaveLength(0);
  });

  it("adds a schedule with its type, time, chosen destinations and own retention", async () => {
    const { calls, rerender } = setup([]);
    fireEvent.click(screen.getByTestId("named-schedule-add"));
    fireEvent.change(screen.getByTestId("named-editor-name"), { target: { value: "hourly" } });
    fireEvent.change(screen.getByTestId("named-editor-type"), { target: { value: "database" } });
    fireEvent.change(screen.getByTestId("named-editor-kind"), { target: { value: "every" } });
    fireEvent.change(screen.getByTestId("named-editor-hours"), { target: { value: "1" } });
    await waitFor(() => expect(screen.getByTestId("named-editor-dest-chosen")).not.toBeDisabled());
    fireEvent.click(screen.getByTestId("named-editor-dest-chosen"));
    fireEvent.click(screen.getByTestId("named-editor-dest-laptop"));
    fireEvent.click(screen.getByTestId("named-editor-ret-own"));
    fireEvent.change(screen.getByTestId("named-editor-keep-last"), { target: { value: "24" } });
    fireEvent.change(screen.getByTestId("named-editor-keep-daily"), { target: { value: "" } });
    fireEvent.change(screen.getByTestId("named-editor-keep-weekly"), { target: { value: "" } });
    fireEvent.change(screen.getByTestId("named-editor-keep-monthly"), { target: { value: "" } });
    fireEvent.click(screen.getByTestId("named-editor-save"));
    await screen.findByTestId("named-schedules-notice");
    const [add] = sent(calls, "add_named_schedule");
    expect(add?.args).toEqual({
      project: "shop",
      edit: {
        name: "hourly",
        when: { kind: "every", hours: 1 },
        time_zone: null,
        backup_type: "database",
        tenant: null,
        selection: null,
        destinations: ["laptop"],
        retention: { ...OFF, keep_last: 24 },
      },
    });
    expect(screen.getByTestId("named-schedules-notice")).toHaveTextContent("Schedule hourly saved: Every hour");
    expect(screen.queryByTestId("named-editor")).not.toBeInTheDocument();
    rerender();
    expect(screen.getAllByTestId("named-schedule").map((r) => r.dataset.name)).toEqual(["hourly"]);
  });

  it("shows the engine's refusal in the app's words, not the command line's", async () => {
    setup([base]);
    fireEvent.click(screen.getByTestId("named-schedule-add"));
    fireEvent.change(screen.getByTestId("named-editor-name"), { target: { value: "hourly" } });
    fireEvent.click(screen.getByTestId("named-editor-save"));
    const e = await screen.findByTestId("named-editor-error");
    expect(e).toHaveAttribute("data-code", "already_exists");
    expect(within(e).getByTestId("named-editor-error-title")).toHaveTextContent("That name is taken");
    expect(within(e).getByTestId("named-editor-error-hint")).toHaveTextContent("Choose another name");
    expect(e).not.toHaveTextContent("offsite schedule set");
  });

  it("edits a saved schedule from what it holds, and back to the project's retention and every destination", async () => {
    const { calls } = setup([base, monthly]);
    fireEvent.click(within(screen.getAllByTestId("named-schedule")[0]!).getByTestId("named-schedule-edit"));
    expect(screen.getByTestId("named-editor-name")).toHaveTextContent("hourly");
    expect(screen.getByTestId("named-editor-type")).toHaveValue("database");
    expect(screen.getByTestId("named-editor-kind")).toHaveValue("every");
    expect(screen.getByTestId("named-editor-destinations")).toHaveAttribute("data-choice", "chosen");
    expect(screen.getByTestId("named-editor-keep-last")).toHaveValue(24);
    fireEvent.click(screen.getByTestId("named-editor-ret-project"));
    fireEvent.click(screen.getByTestId("named-editor-dest-all"));
    fireEvent.change(screen.getByTestId("named-editor-hours"), { target: { value: "2" } });
    fireEvent.click(screen.getByTestId("named-editor-save"));
    await screen.findByTestId("named-schedules-notice");
    const [change] = sent(calls, "change_named_schedule");
    // Its saved zone is shown and sent back as it is.
    expect(change?.args.edit).toMatchObject({ name: "hourly", when: { kind: "every", hours: 2 }, time_zone: "UTC", destinations: null, retention: null, selection: null });
    expect(sent(calls, "add_named_schedule")).toHaveLength(0);
  });

  it("asks before removing and says the backups stay, pruned by the project's policy from then on", async () => {
    const { calls } = setup([base]);
    await waitFor(() => expect(screen.getByTestId("named-schedule-retention")).toHaveTextContent("its own"));
    fireEvent.click(screen.getByTestId("named-schedule-remove"));
    const ask = screen.getByTestId("named-schedule-remove-confirm");
    await waitFor(() => expect(ask).toHaveTextContent("the project’s retention policy (7 daily · 4 weekly · 12 monthly)"));
    expect(ask).toHaveTextContent("The backups it made are not deleted");
    expect(ask).toHaveTextContent("only to laptop");
    fireEvent.click(screen.getByTestId("named-schedule-remove-no"));
    expect(screen.queryByTestId("named-schedule-remove-confirm")).not.toBeInTheDocument();
    expect(sent(calls, "remove_named_schedule")).toHaveLength(0);
    fireEvent.click(screen.getByTestId("named-schedule-remove"));
    fireEvent.click(screen.getByTestId("named-schedule-remove-yes"));
    await screen.findByTestId("named-schedules-notice");
    expect(sent(calls, "remove_named_schedule").map((c) => c.args)).toEqual([{ project: "shop", name: "hourly" }]);
    expect(screen.getByTestId("named-schedules-notice")).toHaveTextContent("Schedule hourly removed; its backups stay.");
  });

  it("switches a paused schedule back on from its editor, with the rest of its Save", async () => {
    const { calls } = setup([{ ...base, paused: true }]);
    expect(screen.getByTestId("named-schedule-state")).toHaveTextContent("Paused");
    expect(screen.queryByRole("switch")).toBeNull();
    fireEvent.click(screen.getByTestId("named-schedule-edit"));
    const on = screen.getByTestId("named-editor-on");
    expect(on).not.toBeChecked();
    fireEvent.click(on);
    expect(sent(calls, "pause_named_schedule")).toHaveLength(0);
    fireEvent.click(screen.getByTestId("named-editor-save"));
    expect(await screen.findByTestId("named-schedules-notice")).toHaveTextContent("Schedule hourly saved: Every hour, next");
    expect(sent(calls, "change_named_schedule")).toHaveLength(1);
    expect(sent(calls, "pause_named_schedule").map((c) => c.args)).toEqual([{ project: "shop", name: "hourly", paused: false }]);
  });
});

describe("the editor's request", () => {
  it("leaves a storage schedule without a selection and a non-tenant one without a tenant", () => {
    const f = { ...NEW_FORM, name: "files", type: "storage" as const, tenant: "orgs", selection: "own" as const, lists: { ...NEW_FORM.lists, schemas: "public" } };
    expect(editOf(f)).toMatchObject({ backup_type: "storage", selection: null, tenant: null });
    expect(problemOf(f, true)).toBeNull();
  });

  it("keeps a database schedule's tenant split when it is edited", () => {
    const f = namedFormOf({ ...base, tenant: "orgs" });
    expect(editOf(f).tenant).toBe("orgs");
    expect(editOf({ ...f, type: "full" }).tenant).toBeNull();
  });

  it("keeps its times in the zone typed; empty: this computer's for a new one", async () => {
    const { calls } = setup([]);
    fireEvent.click(screen.getByTestId("named-schedule-add"));
    fireEvent.change(screen.getByTestId("named-editor-name"), { target: { value: "tokyo" } });
    expect(screen.getByTestId("named-editor-zone")).toHaveValue("");
    fireEvent.change(screen.getByTestId("named-editor-zone"), { target: { value: " Asia/Tokyo " } });
    fireEvent.click(screen.getByTestId("named-editor-save"));
    await screen.findByTestId("named-schedules-notice");
    expect(sent(calls, "add_named_schedule")[0]?.args.edit).toMatchObject({ name: "tokyo", time_zone: "Asia/Tokyo" });
    expect(editOf({ ...NEW_FORM, name: "x" }).time_zone).toBeNull();
  });

  it("sends its own selection one name a line", () => {
    const f = { ...NEW_FORM, name: "lean", selection: "own" as const, lists: { ...NEW_FORM.lists, exclude_table_data: " public.logs \n\n audit.events" } };
    expect(editOf(f).selection).toEqual({ exclude_table_data: ["public.logs", "audit.events"] });
    expect(problemOf({ ...f, lists: NEW_FORM.lists }, true)).toMatch(/names no schema or table/);
    expect(problemOf({ ...NEW_FORM, name: "t", type: "tenant" }, true)).toMatch(/tenant/);
  });
});
