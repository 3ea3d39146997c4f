import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { JobFinished, RecoverReport, TableRecovery, UndoReport } from "../bindings";
import type { JobHandlers } from "../store/store";
import { type RecoverApi, RecoverWizard } from "./RecoverWizard";
import { canStart, CONFIRM_WORD, destructiveLines, quotedTable, recoverRequest, startLabel } from "./rules";

const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });

function table(name: string, x: Partial<TableRecovery>): TableRecovery {
  return {
    schema: "public",
    table: name,
    role: "chosen",
    path: [],
    rows: 0,
    insert: 0,
    update: 0,
    unchanged: 0,
    conflict: 0,
    parents_present: 0,
    triggers: [],
    columns: ["id", "name"],
    sample: [],
    ...x,
  };
}

function plan(update = 0): RecoverReport {
  return {
    archive: "/b/shop.tar.gz",
    target: "shop",
    dry_run: true,
    tables: [
      table("orgs", { rows: 1, insert: 1, sample: [["7", "Acme"]] }),
      table("projects", { role: "child", path: ["public.projects(org_id) → public.orgs(id)"], rows: 5, insert: 3, update, unchanged: 2 - update, triggers: ["audit"] }),
    ],
    undo_id: null,
    notes: [],
    rows_read: 120,
    duration_ms: 5,
  };
}

const finished = (jobId: string, result: JobFinished["result"], error: JobFinished["error"] = null): JobFinished => ({
  job_id: jobId,
  kind: "recover",
  ok: error === null,
  error,
  result,
});

/** A fake app: the plan above, jobs that finish when the test says so. */
function fakeApi(update = 0) {
  const handlers = new Map<string, JobHandlers>();
  const api: RecoverApi = {
    plan: vi.fn(() => ok(plan(update))),
    start: vi.fn(() => ok("job-1")),
    undo: vi.fn(() => ok("job-2")),
    follow: vi.fn((id: string, h: JobHandlers) => {
      handlers.set(id, h);
      return () => handlers.delete(id);
    }),
    cancel: vi.fn(() => Promise.resolve(true)),
  };
  return { api, handlers };
}

const wizard = (api: RecoverApi) =>
  render(
    <RecoverWizard
      archive="/b/shop.tar.gz"
      schema="public"
      name="orgs"
      filters={[{ column: "id", value: "7" }]}
      projects={["shop", "staging"]}
      api={api}
      onClose={() => {}}
    />,
  );

describe("recover rules", () => {
  it("asks for the typed word, and only for a plan that writes", () => {
    expect(canStart(plan(), "")).toBe(false);
    expect(canStart(plan(), "recove")).toBe(false);
    expect(canStart(plan(), ` ${CONFIRM_WORD.toUpperCase()} `)).toBe(true);
    const nothing = { ...plan(), tables: [table("orgs", { unchanged: 1 })] };
    expect(canStart(nothing, CONFIRM_WORD)).toBe(false);
    expect(canStart(null, CONFIRM_WORD)).toBe(false);
  });

  it("says in red what overwrites and which triggers fire; the button names the counts", () => {
    expect(destructiveLines({ ...plan(), tables: [table("orgs", { insert: 1 })] })).toBeNull();
    const red = destructiveLines(plan(1))!;
    expect(red[0]).toContain("Overwrites 1 row in shop");
    expect(red[1]).toContain("public.projects");
    expect(startLabel(plan(1))).toBe("Insert 4 rows, overwrite 1 in shop");
  });

  it("quotes the table's parts, so capitals, dots and quotes survive", () => {
    expect(quotedTable("public", 'My."Odd".Table')).toBe('"public"."My.""Odd"".Table"');
  });

  it("sends the filter, children and conflict choice; a URL's password beside it", () => {
    const r = recoverRequest("/a", "public.orgs", [{ column: "id", value: "7" }], {
      target: { kind: "url", url: " postgres://u@h/db ", password: "pw" },
      children: true,
      onConflict: "update",
    });
    expect(r?.rows).toEqual({ table: "public.orgs", filters: [{ column: "id", value: "7" }], children: true, on_conflict: "update", key_columns: [] });
    expect(r?.to).toEqual({ connection: { connection: { url: "postgres://u@h/db" }, tls: null, password: "pw" } });
  });
});

describe("RecoverWizard", () => {
  it("without a saved project, starts at a database on a server (as the restore to a time does)", () => {
    const { api } = fakeApi();
    render(<RecoverWizard archive="/b/shop.tar.gz" schema="public" name="orgs" filters={[]} projects={[]} api={api} onClose={() => {}} />);
    expect(screen.getByTestId("recover-target-project")).toBeDisabled();
    expect(screen.getByTestId("recover-target-server")).toBeChecked();
    expect(screen.getByTestId("recover-server-port")).toHaveValue("5432");
  });

  it("recovers into a database on a server named by its parts, as the restore names one (issue 64 item 2)", async () => {
    const { api } = fakeApi();
    wizard(api);
    fireEvent.click(screen.getByTestId("recover-target-server"));
    const type = (id: string, v: string) => fireEvent.change(screen.getByTestId(`recover-server-${id}`), { target: { value: v } });
    expect(screen.getByTestId("recover-server-port")).toHaveValue("5432");
    type("host", " db.example.com ");
    type("user", "app");
    // No database yet: nothing to plan.
    expect(screen.getByTestId("recover-plan")).toBeDisabled();
    type("database", "shop_copy");
    type("port", "70000");
    expect(screen.getByTestId("recover-plan")).toBeDisabled();
    type("port", "6543");
    fireEvent.change(screen.getByTestId("recover-server-tls"), { target: { value: "require" } });
    type("password", "s3cret");
    fireEvent.click(screen.getByTestId("recover-plan"));
    await screen.findByTestId("recover-plan-view");
    expect(api.plan).toHaveBeenCalledWith(
      expect.objectContaining({
        dry_run: true,
        to: { connection: { connection: { fields: { host: "db.example.com", port: 6543, user: "app", database: "shop_copy" } }, tls: "require", password: "s3cret" } },
      }),
    );
  });

  it("plans, enables the start only with the typed word, runs one job, reports and undoes", async () => {
    const { api, handlers } = fakeApi(1);
    wizard(api);
    fireEvent.click(screen.getByTestId("recover-children"));
    fireEvent.click(screen.getByTestId("recover-update"));
    fireEvent.click(screen.getByTestId("recover-plan"));
    await screen.findByTestId("recover-plan-view");
    expect(api.plan).toHaveBeenCalledWith(
      expect.objectContaining({ dry_run: true, to: { project: "shop" }, rows: expect.objectContaining({ children: true, on_conflict: "update" }) }),
    );
    // The plan's counts, per table, with the overwrite in red and the banner above.
    const rows = screen.getAllByTestId("recover-table");
    expect(rows).toHaveLength(2);
    expect(within(rows[1]!).getByTestId("recover-insert")).toHaveTextContent("3");
    expect(within(rows[1]!).getByTestId("recover-update")).toHaveClass("text-danger");
    expect(within(rows[1]!).getByTestId("recover-triggers")).toHaveTextContent("Triggers that will not fire: audit");
    expect(screen.getByTestId("recover-destroys")).toHaveTextContent("Overwrites 1 row in shop");
    expect(screen.getByTestId("recover-total")).toHaveTextContent("Total41");
    const start = screen.getByTestId("recover-start");
    expect(start).toBeDisabled();
    fireEvent.change(screen.getByTestId("recover-confirm"), { target: { value: "recove" } });
    expect(start).toBeDisabled();
    fireEvent.change(screen.getByTestId("recover-confirm"), { target: { value: "recover" } });
    expect(start).toBeEnabled();
    fireEvent.click(start);
    await screen.findByTestId("recover-running");
    expect(api.start).toHaveBeenCalledWith(expect.objectContaining({ dry_run: false, rows: expect.objectContaining({ table: '"public"."orgs"' }) }));
    expect(screen.getByTestId("recover-cancel")).toBeEnabled();
    const report = { ...plan(1), dry_run: false, undo_id: "rcv_20261125_230000_abcdef" };
    handlers.get("job-1")!.onFinished(finished("job-1", { kind: "recover", report }));
    await screen.findByTestId("recover-report");
    // Plain words first (issue 44: recover-03/04): the undo id only behind Details, the chain
    // of foreign keys likewise, and the undone recovery named by its date.
    expect(screen.getByTestId("recover-undo-id")).toHaveTextContent("rcv_20261125_230000_abcdef");
    expect(screen.getByTestId("recover-undo-details")).toContainElement(screen.getByTestId("recover-undo-id"));
    expect(screen.getByTestId("recover-undo-details")).not.toHaveAttribute("open");
    expect(screen.getByTestId("recover-done-text")).not.toHaveTextContent(/rcv_|undo id/);
    const projects = screen
      .getAllByTestId("recover-table")
      .find((r) => r.getAttribute("data-table") === "public.projects")!;
    expect(within(projects).getByTestId("recover-role")).toHaveTextContent("Rows that refer to the recovered rows of public.orgs.");
    expect(within(projects).getByTestId("recover-role")).not.toHaveTextContent("→");
    expect(within(projects).getByTestId("recover-chain")).toHaveTextContent("public.projects(org_id) → public.orgs(id)");
    expect(screen.getByTestId("recover-report-counts")).toHaveTextContent("orgs");
    fireEvent.click(screen.getByTestId("recover-undo"));
    await waitFor(() => expect(api.undo).toHaveBeenCalledWith("rcv_20261125_230000_abcdef", null));
    const undo: UndoReport = {
      id: "rcv_20261125_230000_abcdef",
      target: "shop",
      sequences_reset: 0,
      tables: [{ schema: "public", table: "projects", deleted: 3, restored: 0, changed_since: 1, changed_keys: ["(12)"] }],
    };
    handlers.get("job-2")!.onFinished(finished("job-2", { kind: "recover_undo", report: undo }));
    await screen.findByTestId("recover-undone");
    expect(screen.getByTestId("recover-undone")).not.toHaveTextContent("rcv_");
    expect(screen.getByTestId("recover-undone")).toHaveTextContent(/The recovery of 2026-11-2[56] \d\d:00 was undone/);
    expect(screen.getByTestId("recover-undo-left")).toHaveTextContent("1 row changed since the recovery and was left");
    expect(screen.getByTestId("recover-undo-report")).toHaveTextContent("(12)");
  });

  it("shows no Undo before a recovery succeeded, and a cancel writes nothing", async () => {
    const { api, handlers } = fakeApi();
    wizard(api);
    fireEvent.click(screen.getByTestId("recover-plan"));
    await screen.findByTestId("recover-plan-view");
    // Nothing is overwritten (only the trigger is said in red), and no Undo before it ran.
    expect(screen.getByTestId("recover-destroys")).not.toHaveTextContent("Overwrites");
    expect(screen.getByTestId("recover-start")).toHaveClass("btn-danger");
    expect(screen.queryByTestId("recover-undo")).toBeNull();
    fireEvent.change(screen.getByTestId("recover-confirm"), { target: { value: "recover" } });
    fireEvent.click(screen.getByTestId("recover-start"));
    fireEvent.click(await screen.findByTestId("recover-cancel"));
    await waitFor(() => expect(api.cancel).toHaveBeenCalledWith("job-1"));
    handlers.get("job-1")!.onFinished(
      finished("job-1", null, { code: "cancelled", message: "cancelled", hint: null, retryable: false }),
    );
    await screen.findByTestId("recover-cancelled");
    expect(screen.queryByTestId("recover-undo")).toBeNull();
  });

  it("keeps the choices and shows the engine's error when the plan is refused", async () => {
    const { api } = fakeApi();
    api.plan = vi.fn(() =>
      Promise.resolve({ ok: false as const, error: { code: "invalid_input" as const, message: "column \"nope\" of public.orgs does not exist", hint: null, retryable: false } }),
    );
    wizard(api);
    fireEvent.click(screen.getByTestId("recover-plan"));
    expect(await screen.findByTestId("recover-error")).toHaveTextContent("nope");
    expect(screen.getByTestId("recover-plan")).toBeEnabled();
  });
});
