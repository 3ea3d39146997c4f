import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type {
  BackupRecord,
  DatabasePlan,
  ErrorPayload,
  JobFinished,
  JobProgress,
  RestorePlan,
  RestoreReport,
  RestoreRequest,
  VerifyReport,
} from "../bindings";
import { backup, summary } from "../screens/fixtures";
import {
  ARCHIVE,
  corruptReport,
  fullPlan,
  onePlan,
  plan,
  restoreFinished,
  restoreReport,
  configPlan,
  storagePlan,
  verifyFinished,
  verifyReport,
} from "./fixtures";
import { StoreProvider } from "../store";
import { RestoreWizard } from "./RestoreWizard";

type Call = { cmd: string; args: Record<string, unknown> };

type Options = {
  plans?: (args: Record<string, unknown>) => DatabasePlan;
  startRestore?: () => string | Promise<never>;
  pick?: string | null;
  backups?: BackupRecord[];
  onBrowse?: (archive: string, label: string) => void;
};

/**
 * The wizard sends ONE restore request (`{ request: { archive, database: { to, options }, … } }`);
 * the tests read its database section as `{ path, target, choices }`.
 */
function databaseArgs(args: Record<string, unknown>): Record<string, unknown> {
  const request = args.request as { archive: string; database: { to: unknown; options: unknown } | null; storage: unknown; config: unknown } | undefined;
  if (!request) return args;
  expect(request.storage).toBeNull();
  expect(request.config).toBeNull();
  return { path: request.archive, target: request.database?.to, choices: request.database?.options };
}

function setup(opts: Options = {}) {
  const calls: Call[] = [];
  const onClose = vi.fn();
  mockIPC(
    (cmd, raw) => {
      const args = databaseArgs((raw ?? {}) as Record<string, unknown>);
      calls.push({ cmd, args });
      switch (cmd) {
        case "list_backups":
          return opts.backups ?? [backup(0), backup(1)];
        case "list_projects":
          return [summary("shop", null), summary("staging", null)];
        case "start_verify":
          return "job-v";
        case "plan_restore":
          return onePlan((opts.plans ?? (() => plan()))(args));
        case "start_restore":
          return opts.startRestore ? opts.startRestore() : "job-r";
        case "cancel_job":
          return true;
        case "reveal_file":
          return null;
        case "pick_path":
          if (opts.pick === undefined) throw new Error("no dialog expected");
          return opts.pick;
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
  render(
    <StoreProvider>
      <RestoreWizard project="shop" onClose={onClose} {...(opts.onBrowse ? { onBrowse: opts.onBrowse } : {})} />
    </StoreProvider>,
  );
  return { calls, onClose };
}

const $ = (id: string) => screen.getByTestId(id);
const called = (calls: Call[], cmd: string) => calls.filter((c) => c.cmd === cmd);

const progress = (job_id: string, over: Partial<JobProgress> = {}): JobProgress => ({
  job_id,
  phase: "restoring",
  bytes_done: 512 * 1024,
  bytes_total: 1024 * 1024,
  bytes_per_sec: 2 * 1024 * 1024,
  finished: false,
  ...over,
});

const verified = (report = verifyReport()): JobFinished => verifyFinished("job-v", report);

/** From the first step to the target step, with the newest backup checked intact. */
async function toTarget(calls: Call[]) {
  const options = await screen.findAllByTestId("wizard-backup-radio");
  // The newest good backup is chosen already (issue 44).
  await waitFor(() => expect(options[0]).toBeChecked());
  expect($("wizard-next")).toBeEnabled();
  fireEvent.click(options[0]!);
  fireEvent.click($("wizard-next"));
  await waitFor(() => expect(called(calls, "start_verify")).toHaveLength(1));
  expect(called(calls, "start_verify")[0]?.args).toEqual({ path: backup(0).path });
  await act(() => emit("job-progress", progress("job-v", { phase: "verifying" })));
  await waitFor(() => expect($("wizard-phase")).toHaveTextContent("Verifying checksums"));
  expect($("wizard-next")).toBeDisabled();
  await act(() => emit("job-finished", verified()));
  expect(await screen.findByTestId("wizard-verify-result")).toHaveAttribute("data-ok", "true");
  expect(screen.getAllByTestId("wizard-verify-member")).toHaveLength(2);
  // Parts in plain words, the file's name on hover (issue 44, restore-02: "database.dump", "globals.sql").
  const names = screen.getAllByTestId("wizard-verify-member-name");
  expect(names.map((n) => n.textContent)).toEqual(["Database", "Roles and their settings"]);
  expect(names[1]).toHaveAttribute("title", "globals.sql");
  // A database-only backup: nothing else to choose.
  expect(screen.queryByTestId("wizard-components")).not.toBeInTheDocument();
  fireEvent.click($("wizard-next"));
  await screen.findByTestId("wizard-target");
}

async function chooseUrl(calls: Call[]) {
  fireEvent.click($("wizard-target-server"));
  fireEvent.click($("wizard-target-use-url"));
  fireEvent.change($("wizard-target-url-input"), { target: { value: "postgres://postgres@localhost:5432/shop_copy" } });
  fireEvent.change($("wizard-target-password"), { target: { value: "pw" } });
  expect($("wizard-next")).toBeDisabled(); // not before the target was looked at
  fireEvent.click($("wizard-target-check"));
  await waitFor(() => expect(called(calls, "plan_restore").length).toBeGreaterThan(0));
}

/** To the review step, restoring into another saved project, where the selection is chosen. */
async function toSelection(calls: Call[]) {
  await toTarget(calls);
  fireEvent.click($("wizard-target-project"));
  await screen.findByTestId("wizard-target-status");
  fireEvent.click($("wizard-next"));
  await screen.findByTestId("wizard-selection");
}

describe("RestoreWizard", () => {
  it("asks first what the user wants back, and routes each answer to its flow (issue 64)", async () => {
    const onBrowse = vi.fn();
    const { calls } = setup({ onBrowse });
    const what = await screen.findByTestId("wizard-mode");
    expect(within(what).getByText("What do you want back?")).toBeInTheDocument();
    // The Help screen's scenarios, as a person says them; the whole project is the default.
    expect(what.textContent).toMatch(/The whole project.*Some tables.*Some rows, such as one customer’s.*Files.*The project as it was at a moment/);
    expect($("wizard-mode-backup")).toBeChecked();
    // Some rows: look inside the chosen backup (Browse, with Recover these rows).
    fireEvent.click($("wizard-want-rows"));
    await waitFor(() => expect($("wizard-want-rows-open")).toBeEnabled());
    fireEvent.click($("wizard-want-rows-open"));
    expect(onBrowse).toHaveBeenCalledWith(backup(0).path, expect.stringMatching(/^shop · \d{4}-\d\d-\d\d \d\d:\d\d$/));
    // Some tables: the same steps, the review's choice opens on tables.
    fireEvent.click($("wizard-want-tables"));
    await toSelection(calls);
    expect($("wizard-select-some")).toBeChecked();
  });

  it("starts on the newest verified backup, not on nothing and not on a newer unverified or damaged one (issue 44)", async () => {
    setup({
      backups: [
        backup(0, { status: "corrupt" }),
        backup(1),
        backup(2, { status: "verified", verified_at: "2026-11-21T11:00:00Z" }),
        backup(3, { status: "verified", verified_at: "2026-11-21T11:00:00Z" }),
      ],
    });
    const options = await screen.findAllByTestId("wizard-backup-radio");
    await waitFor(() => expect(options[2]).toBeChecked());
    expect(options.filter((o) => (o as HTMLInputElement).checked)).toHaveLength(1);
    // Each backup by its name; its file on one line, shortened in the middle (issue 44: restore-01).
    const path = screen.getAllByTestId("wizard-backup-path")[0]!;
    expect(path.querySelector(".middle-ellipsis")).toHaveAttribute("title", backup(0).path);
    expect($("wizard-next")).toBeEnabled();
  });

  it("restores into a new, empty database and reports the rows per table", async () => {
    const { calls, onClose } = setup();
    await toTarget(calls);
    await chooseUrl(calls);
    expect(await screen.findByTestId("wizard-target-status")).toHaveAttribute("data-empty", "true");
    // The target by name: database on server, not the connection URL with its user and port.
    expect(screen.getByTestId("wizard-target-name")).toHaveTextContent(/^shop_copy on localhost$/);
    expect(screen.getByTestId("wizard-target-status")).not.toHaveTextContent("postgres://");
    expect(called(calls, "plan_restore")[0]?.args).toEqual({
      path: backup(0).path,
      target: { connection: { connection: { url: "postgres://postgres@localhost:5432/shop_copy" }, tls: null, password: "pw" } },
      choices: {
        replace: true,
        no_safety_backup: false,
        create_roles: false,
        create_database: false,
        no_owner: false,
        selection: { schemas: [], tables: [], what: "both", into_schema: null },
        allow_arbitrary_sql: true,
      },
    });
    expect(called(calls, "start_restore")).toHaveLength(0);
    fireEvent.click($("wizard-next"));

    // Review: an empty target needs no typed consent.
    await screen.findByTestId("wizard-plan");
    expect($("wizard-plan-empty")).toHaveAttribute("data-empty", "true");
    expect($("wizard-will-create")).toHaveAttribute("data-count", "2");
    expect($("wizard-plan-versions")).toHaveTextContent("pg_restore (PostgreSQL) 16.4");
    expect(screen.queryByTestId("wizard-consent")).not.toBeInTheDocument();
    expect(called(calls, "start_restore")).toHaveLength(0); // nothing has happened yet
    // The plan scrolls in a box of its own; the buttons sit below it, not over it (issue 44, restore-11).
    expect($("wizard-scroll")).toContainElement($("wizard-plan"));
    expect($("wizard-scroll")).not.toContainElement($("wizard-restore"));
    expect($("wizard-scroll").nextElementSibling).toContainElement($("wizard-actions"));
    fireEvent.click($("wizard-restore"));

    await waitFor(() => expect(called(calls, "start_restore")).toHaveLength(1));
    expect(called(calls, "start_restore")[0]?.args).toMatchObject({
      path: backup(0).path,
      choices: { replace: false, no_safety_backup: false, create_roles: false, no_owner: false, allow_arbitrary_sql: false },
    });
    expect(screen.queryByTestId("wizard-back")).not.toBeInTheDocument();
    // No empty bar of buttons with its divider under Cancel (issue 44, restore-05).
    expect(screen.queryByTestId("wizard-actions")).not.toBeInTheDocument();
    expect($("wizard-close")).toBeDisabled();
    await act(() => emit("job-progress", progress("job-r")));
    await waitFor(() => expect($("wizard-phase")).toHaveTextContent("Restoring"));
    expect($("wizard-bytes")).toHaveTextContent("512.0 KB of 1.0 MB (50%)");
    expect($("wizard-throughput")).toHaveTextContent("2.0 MB/s");
    expect($("wizard-progress")).toHaveAttribute("aria-valuenow", "50");

    await act(() => emit("job-finished", restoreFinished("job-r", restoreReport())));
    const report = await screen.findByTestId("wizard-result");
    expect(report).toHaveAttribute("data-ok", "true");
    expect($("wizard-report-duration")).toHaveTextContent("1 min 5 s");
    expect(screen.queryByTestId("wizard-actions")).not.toBeInTheDocument(); // none under Done either
    const rows = screen.getAllByTestId("wizard-table-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveAttribute("data-expected", "1000");
    expect(rows[0]).toHaveAttribute("data-actual", "1000");
    expect(screen.queryByTestId("wizard-back")).not.toBeInTheDocument();
    fireEvent.click($("wizard-done"));
    expect(onClose).toHaveBeenCalled();
  });

  it("replaces a non-empty database only after its name is typed, and shows the safety backup", async () => {
    const { calls } = setup({ plans: () => fullPlan() });
    await toTarget(calls);
    fireEvent.click($("wizard-target-this"));
    // A saved project is looked at at once.
    await waitFor(() => expect(called(calls, "plan_restore")).toHaveLength(1));
    expect(called(calls, "plan_restore")[0]?.args).toMatchObject({ target: { project: "shop" } });
    expect(await screen.findByTestId("wizard-target-status")).toHaveAttribute("data-empty", "false");
    fireEvent.click($("wizard-next"));

    await screen.findByTestId("wizard-plan");
    // The destructive step cannot be missed (issue 44): a red banner first, the replaced list in
    // red, the button naming the count and the target.
    const banner = $("wizard-destroys");
    expect($("wizard-plan").firstElementChild).toBe(banner);
    expect(banner).toHaveTextContent("Replaces 1 table in shop_copy on localhost. A safety backup is taken first.");
    expect($("wizard-will-replace")).toHaveAttribute("data-destroys", "true");
    expect($("wizard-will-keep")).toHaveAttribute("data-destroys", "false");
    expect($("wizard-restore")).toHaveTextContent("Replace 1 table in shop_copy");
    expect($("wizard-restore")).toHaveClass("btn-danger");
    expect($("wizard-will-replace")).toHaveTextContent("public.orders");
    expect($("wizard-will-keep")).toHaveTextContent("public.audit");
    expect($("wizard-safety-backup")).toBeChecked();
    expect($("wizard-restore")).toBeDisabled();
    // The name is typed beside the button it unlocks (issue 64, screens-light-10: below the fold).
    expect($("wizard-actions")).toContainElement($("wizard-consent"));
    expect($("wizard-consent-label")).toHaveTextContent("To replace shop_copy, type its name");
    expect(screen.queryByTestId("wizard-restore-reasons")).not.toBeInTheDocument();
    fireEvent.change($("wizard-consent"), { target: { value: "shop" } });
    expect($("wizard-restore")).toBeDisabled();
    fireEvent.change($("wizard-consent"), { target: { value: "shop_copy" } });
    expect($("wizard-restore")).toBeEnabled();
    // The review was read down to its end: the next step still opens at its top (issue 64,
    // storage-06: the report opened scrolled, an empty box under half a "Done").
    Object.defineProperty($("wizard-scroll"), "scrollTop", { value: 400, writable: true });
    fireEvent.click($("wizard-restore"));
    await waitFor(() => expect($("restore-wizard")).toHaveAttribute("data-step", "run"));
    expect($("wizard-scroll").scrollTop).toBe(0);

    await waitFor(() => expect(called(calls, "start_restore")).toHaveLength(1));
    expect(called(calls, "start_restore")[0]?.args).toMatchObject({
      target: { project: "shop" },
      choices: { replace: true, no_safety_backup: false, create_roles: false, no_owner: false },
    });
    await act(() =>
      emit(
        "job-finished",
        restoreFinished("job-r", restoreReport({ plan: fullPlan(), safety_backup: "/data/safety/shop_copy.tar.gz" })),
      ),
    );
    expect(await screen.findByTestId("wizard-safety-path")).toHaveTextContent("/data/safety/shop_copy.tar.gz");
    // The path is a link that shows the file in the file manager (by its path: it is not in the list).
    fireEvent.click($("wizard-safety-open"));
    await waitFor(() => expect(called(calls, "reveal_file")).toHaveLength(1));
    expect(called(calls, "reveal_file")[0]?.args).toEqual({ path: "/data/safety/shop_copy.tar.gz" });
    // Shortened in the middle with Copy, not a raw path (issue 44, restore-08).
    expect($("wizard-safety-open-copy")).toHaveTextContent("Copy");
    expect($("wizard-safety-path").querySelector(".middle-ellipsis")).toHaveAttribute("title", "/data/safety/shop_copy.tar.gz");

    // Put back the safety backup (issue 64 item 2): the safety backup is checked first, then the
    // same target is offered again (nothing restored until the review's typed name and Restore).
    fireEvent.click($("wizard-put-back"));
    await waitFor(() => expect(called(calls, "start_verify")).toHaveLength(2));
    expect(called(calls, "start_verify")[1]?.args).toEqual({ path: "/data/safety/shop_copy.tar.gz" });
    expect($("restore-wizard")).toHaveAttribute("data-step", "verify");
    expect(called(calls, "start_restore")).toHaveLength(1);
  });

  it("keeps Restore disabled while there are blockers, and re-plans when roles are to be created", async () => {
    const { calls } = setup({
      plans: (args) =>
        (args.choices as { create_roles: boolean }).create_roles
          ? plan({ create_roles: true })
          : plan({ missing_roles: ["app_user"], blockers: ["the target server lacks roles the backup uses: app_user"] }),
    });
    await toTarget(calls);
    fireEvent.click($("wizard-target-project"));
    expect($("wizard-target-project-select")).toHaveValue("staging");
    await screen.findByTestId("wizard-target-status");
    fireEvent.click($("wizard-next"));
    expect(await screen.findByTestId("wizard-blockers")).toHaveTextContent("app_user");
    expect($("wizard-restore")).toBeDisabled();
    fireEvent.click($("wizard-create-roles"));
    await waitFor(() => expect(screen.queryByTestId("wizard-blockers")).not.toBeInTheDocument());
    expect(called(calls, "plan_restore").at(-1)?.args).toMatchObject({
      target: { project: "staging" },
      choices: { create_roles: true },
    });
    expect(await screen.findByTestId("wizard-restore")).toBeEnabled();
  });

  it("names the statements pg_dump never writes and restores them only after their own checkbox", async () => {
    const hostile = plan({
      arbitrary_sql: [
        { kind: "runs_program", excerpt: "COPY public.t FROM PROGRAM 'touch /tmp/marker';" },
        { kind: "runs_code", excerpt: "DO $$ BEGIN PERFORM 1; END $$;" },
      ],
      arbitrary_sql_total: 3,
    });
    const { calls } = setup({ plans: () => hostile });
    await toTarget(calls);
    await chooseUrl(calls);
    await screen.findByTestId("wizard-target-status");
    fireEvent.click($("wizard-next"));
    const notice = await screen.findByTestId("wizard-arbitrary-sql");
    expect(notice).toHaveAttribute("data-count", "3");
    const items = within($("wizard-arbitrary-sql-list")).getAllByRole("listitem");
    expect(items[0]).toHaveTextContent("runs a program on the database server: COPY public.t FROM PROGRAM 'touch /tmp/marker';");
    expect(items[1]).toHaveTextContent("runs code on the database server: DO $$ BEGIN PERFORM 1; END $$;");
    expect(items[2]).toHaveTextContent("… and 1 more");
    // The checkbox gates Restore; the empty target needs nothing else.
    expect($("wizard-allow-arbitrary-sql")).not.toBeChecked();
    expect($("wizard-restore")).toBeDisabled();
    expect($("wizard-restore-reasons")).toHaveTextContent("pg_dump never writes");
    const plans = called(calls, "plan_restore").length;
    fireEvent.click($("wizard-allow-arbitrary-sql"));
    expect($("wizard-restore")).toBeEnabled();
    fireEvent.click($("wizard-allow-arbitrary-sql"));
    expect($("wizard-restore")).toBeDisabled();
    fireEvent.click($("wizard-allow-arbitrary-sql"));
    expect(called(calls, "plan_restore")).toHaveLength(plans); // consent only: no new plan
    fireEvent.click($("wizard-restore"));
    await waitFor(() => expect(called(calls, "start_restore")).toHaveLength(1));
    expect(called(calls, "start_restore")[0]?.args).toMatchObject({ choices: { allow_arbitrary_sql: true } });
  });

  it("restores a backup without such statements without asking", async () => {
    const { calls } = setup();
    await toTarget(calls);
    await chooseUrl(calls);
    await screen.findByTestId("wizard-target-status");
    fireEvent.click($("wizard-next"));
    await screen.findByTestId("wizard-plan");
    expect(screen.queryByTestId("wizard-arbitrary-sql")).not.toBeInTheDocument();
    expect($("wizard-restore")).toBeEnabled();
  });

  it("shows what the connecting role cannot own, and re-plans when those objects are to be the user's", async () => {
    const blocked = plan({
      connecting_role: "postgres",
      connecting_superuser: false,
      owned_by_others: [{ role: "supabase_admin", objects: ["function public.admin_note()"] }],
      superuser_only: ["event trigger ddl_watch"],
      managed_schemas: [
        {
          schema: "auth",
          owner: "supabase_auth_admin",
          load_rows: ["auth.users"],
          kept_rows: ["auth.schema_migrations (the target holds 2 rows)"],
          added: ["trigger on_auth_user_created on auth.users"],
          kept_objects: 12,
          notes: [],
        },
      ],
      blockers: [
        "postgres cannot act for the role owning some of the backup's objects; connect as a role with administrator rights, or restore them owned by postgres\nDetails: a superuser may act for every role; on the command line, --no-owner restores them owned by postgres",
      ],
    });
    const { calls } = setup({
      plans: (args) =>
        (args.choices as { no_owner: boolean }).no_owner
          ? { ...blocked, no_owner: true, blockers: [], left_out: ["event trigger ddl_watch (only a role with administrator rights can create it)"] }
          : blocked,
    });
    await toTarget(calls);
    fireEvent.click($("wizard-target-project"));
    await screen.findByTestId("wizard-target-status");
    fireEvent.click($("wizard-next"));
    expect(await screen.findByTestId("wizard-owners")).toHaveTextContent("supabase_admin");
    expect($("wizard-managed-auth")).toHaveTextContent("auth.schema_migrations");
    expect($("wizard-restore")).toBeDisabled();
    // The blocker's sentence, then the command line's words behind a closed Details.
    const blocker = $("wizard-blockers");
    expect(blocker).toHaveTextContent(/Postgres cannot act for the role owning some of the backup's objects; connect as a role with administrator rights, or restore them owned by postgres\. Details/);
    expect($("wizard-blocker-details")).not.toHaveAttribute("open");
    expect($("wizard-blocker-details")).toHaveTextContent("--no-owner");
    fireEvent.click($("wizard-no-owner"));
    await waitFor(() => expect(screen.queryByTestId("wizard-blockers")).not.toBeInTheDocument());
    expect(called(calls, "plan_restore").at(-1)?.args).toMatchObject({ choices: { no_owner: true } });
    expect(await screen.findByTestId("wizard-left-out")).toHaveTextContent("ddl_watch");
    expect(await screen.findByTestId("wizard-restore")).toBeEnabled();
  });

  it("connected as a superuser, offers to run the backup's code as a less privileged role, re-plans and restores as it", async () => {
    const warned = plan({
      connecting_superuser: true,
      warnings: ["this backup was imported from a file, and postgres is a superuser: the functions the backup defines run during the restore with a superuser's rights"],
    });
    const { calls } = setup({
      plans: (args) =>
        (args.choices as { as_role?: string | null }).as_role === "app_owner"
          ? { ...warned, warnings: ["restores as app_owner: the backup's functions run with app_owner's rights only"] }
          : warned,
    });
    await toTarget(calls);
    await chooseUrl(calls);
    await screen.findByTestId("wizard-target-status");
    fireEvent.click($("wizard-next"));
    expect(await screen.findByTestId("wizard-warnings")).toHaveTextContent("superuser's rights");
    const plans = called(calls, "plan_restore").length;
    fireEvent.change($("wizard-as-role-input"), { target: { value: " app_owner " } });
    expect(called(calls, "plan_restore")).toHaveLength(plans); // typing alone does not re-plan
    fireEvent.click($("wizard-as-role-apply"));
    await waitFor(() => expect(called(calls, "plan_restore").length).toBeGreaterThan(plans));
    expect(called(calls, "plan_restore").at(-1)?.args).toMatchObject({ choices: { as_role: "app_owner" } });
    expect(await screen.findByTestId("wizard-warnings")).toHaveTextContent("Restores as app_owner");
    expect($("wizard-as-role-current")).toHaveTextContent("app_owner");
    fireEvent.click(await screen.findByTestId("wizard-restore"));
    await waitFor(() => expect(called(calls, "start_restore")).toHaveLength(1));
    expect(called(calls, "start_restore")[0]?.args).toMatchObject({ choices: { as_role: "app_owner" } });
  });

  it("restores chosen tables: the choice re-plans and the plan names what comes along and what breaks", async () => {
    const { calls } = setup({
      plans: (args) => {
        const sel = (args.choices as { selection?: { tables?: string[] } }).selection;
        return sel?.tables?.length
          ? plan({
              selection: {
                tables: ["public.orders"],
                what: "both",
                into_schema: null,
                dependencies: ["type public.order_status"],
                notes: ["foreign key orders_customer_fkey of public.orders references public.customers"],
              },
            })
          : plan();
      },
    });
    await toSelection(calls);
    fireEvent.click($("wizard-select-some"));
    const boxes = await screen.findAllByTestId("wizard-select-table");
    fireEvent.click(boxes.find((b) => b.getAttribute("data-table") === "public.orders")!);
    await waitFor(() =>
      expect(called(calls, "plan_restore").at(-1)?.args).toMatchObject({
        choices: { selection: { tables: ['"public"."orders"'], what: "both" } },
      }),
    );
    expect(await screen.findByTestId("wizard-selection-notes")).toHaveTextContent("orders_customer_fkey");
    expect($("wizard-selection-plan")).toHaveTextContent("type public.order_status");
  });

  it("restores chosen schemas: each is offered with its table count, the choice re-plans, the restore takes it", async () => {
    const tables = [
      { schema: "public", table: "customers" },
      { schema: "public", table: "orders" },
      { schema: "sales", table: "invoices" },
    ];
    const { calls } = setup({
      plans: (args) => {
        const sel = (args.choices as { selection?: { schemas?: string[] } }).selection;
        return sel?.schemas?.length
          ? plan({
              backup_tables: tables,
              selection: {
                tables: ["sales.invoices"],
                what: "both",
                into_schema: null,
                dependencies: ["schema sales"],
                notes: ["foreign key invoices_customer_fkey of sales.invoices references public.customers"],
              },
            })
          : plan({ backup_tables: tables });
      },
    });
    await toSelection(calls);
    expect(screen.queryByTestId("wizard-select-schema-list")).not.toBeInTheDocument();
    fireEvent.click($("wizard-select-schemas"));
    const boxes = await screen.findAllByTestId("wizard-select-schema");
    expect(boxes.map((b) => b.getAttribute("data-schema"))).toEqual(["public", "sales"]);
    expect($("wizard-select-schema-list")).toHaveTextContent("public (2 tables)");
    expect($("wizard-select-schema-list")).toHaveTextContent("sales (1 table)");
    expect(screen.queryByTestId("wizard-select-tables")).not.toBeInTheDocument();
    fireEvent.click(boxes[1]!);
    await waitFor(() =>
      expect(called(calls, "plan_restore").at(-1)?.args).toMatchObject({
        choices: { selection: { schemas: ["sales"], tables: [], what: "both", into_schema: null } },
      }),
    );
    expect(await screen.findByTestId("wizard-selection-plan")).toHaveTextContent("Restoring 1 table");
    expect($("wizard-selection-plan")).toHaveTextContent("schema sales");
    expect($("wizard-selection-notes")).toHaveTextContent("invoices_customer_fkey");
    expect(screen.getAllByTestId("wizard-select-schema")[1]).toBeChecked();

    // Rows only applies to the chosen schemas too.
    fireEvent.change($("wizard-select-what"), { target: { value: "data" } });
    await waitFor(() =>
      expect(called(calls, "plan_restore").at(-1)?.args).toMatchObject({
        choices: { selection: { schemas: ["sales"], what: "data" } },
      }),
    );

    // The restore runs with the schemas the plan was made for.
    fireEvent.click(await screen.findByTestId("wizard-restore"));
    await waitFor(() => expect(called(calls, "start_restore")).toHaveLength(1));
    expect(called(calls, "start_restore")[0]?.args).toMatchObject({
      choices: { selection: { schemas: ["sales"], tables: [], what: "data" } },
    });
  });

  it("chooses schemas or tables one way at a time, and Everything drops both", async () => {
    const { calls } = setup();
    await toSelection(calls);
    fireEvent.click($("wizard-select-some"));
    fireEvent.change(await screen.findByTestId("wizard-select-filter"), { target: { value: "ord" } });
    const orders = screen.getAllByTestId("wizard-select-table");
    expect(orders.map((b) => b.getAttribute("data-table"))).toEqual(["public.orders"]);
    fireEvent.click(orders[0]!);
    await waitFor(() =>
      expect(called(calls, "plan_restore").at(-1)?.args).toMatchObject({
        choices: { selection: { tables: ['"public"."orders"'] } },
      }),
    );
    // The new plan keeps the way of choosing and the filter.
    expect(await screen.findByTestId("wizard-select-some")).toBeChecked();
    expect($("wizard-select-filter")).toHaveValue("ord");
    expect($("wizard-select-table")).toBeChecked();
    // Switching to schemas drops the chosen tables.
    fireEvent.click($("wizard-select-schemas"));
    await waitFor(() =>
      expect(called(calls, "plan_restore").at(-1)?.args).toMatchObject({
        choices: { selection: { schemas: [], tables: [] } },
      }),
    );
    fireEvent.click(await screen.findByTestId("wizard-select-schema"));
    await waitFor(() =>
      expect(called(calls, "plan_restore").at(-1)?.args).toMatchObject({
        choices: { selection: { schemas: ["public"], tables: [] } },
      }),
    );
    // And back to tables drops the schemas; nothing is left checked.
    fireEvent.click($("wizard-select-some"));
    await waitFor(() =>
      expect(called(calls, "plan_restore").at(-1)?.args).toMatchObject({
        choices: { selection: { schemas: [], tables: [] } },
      }),
    );
    for (const b of screen.getAllByTestId("wizard-select-table")) expect(b).not.toBeChecked();
    fireEvent.click($("wizard-select-schemas"));
    fireEvent.click(await screen.findByTestId("wizard-select-schema"));
    await waitFor(() =>
      expect(called(calls, "plan_restore").at(-1)?.args).toMatchObject({
        choices: { selection: { schemas: ["public"] } },
      }),
    );
    fireEvent.click($("wizard-select-all"));
    await waitFor(() =>
      expect(called(calls, "plan_restore").at(-1)?.args).toMatchObject({
        choices: { selection: { schemas: [], tables: [], what: "both", into_schema: null } },
      }),
    );
    expect(screen.queryByTestId("wizard-select-schema-list")).not.toBeInTheDocument();
  });

  it("does not go on with a damaged archive", async () => {
    const { calls } = setup();
    fireEvent.click((await screen.findAllByTestId("wizard-backup-radio"))[1]!);
    fireEvent.click($("wizard-next"));
    await waitFor(() => expect(called(calls, "start_verify")).toHaveLength(1));
    // The job failed (code integrity, as the catalog says) and its report says which part is damaged.
    const damaged = verified(corruptReport());
    expect([damaged.ok, damaged.error?.code]).toEqual([false, "integrity"]);
    await act(() => emit("job-finished", damaged));
    expect(await screen.findByTestId("wizard-verify-result")).toHaveAttribute("data-ok", "false");
    const bad = screen.getAllByTestId("wizard-verify-member").filter((m) => m.getAttribute("data-ok") === "false");
    expect(bad).toHaveLength(1);
    expect(bad[0]).toHaveTextContent("Database");
    expect(bad[0]!.querySelector("[title]")).toHaveAttribute("title", "database.dump");
    expect($("wizard-next")).toBeDisabled();
    // Back keeps the choice.
    fireEvent.click($("wizard-back"));
    expect(screen.getAllByTestId("wizard-backup-radio")[1]).toBeChecked();
  });

  it("offers what to restore after checking a backup with storage and configuration", async () => {
    const { calls } = setup();
    fireEvent.click((await screen.findAllByTestId("wizard-backup-radio"))[0]!);
    fireEvent.click($("wizard-next"));
    await waitFor(() => expect(called(calls, "start_verify")).toHaveLength(1));
    const base = verifyReport();
    const withComponents = {
      ...base,
      manifest: {
        counts: { database: { items: 2, bytes: 10 }, storage: { items: 3, bytes: 30 }, config: { items: 2, bytes: 20 } },
      },
    } as unknown as VerifyReport;
    await act(() => emit("job-finished", verified(withComponents)));
    expect(await screen.findByTestId("wizard-components")).toBeInTheDocument();
    expect($("wizard-components-storage")).not.toBeChecked();
    expect($("wizard-components-config")).not.toBeChecked();
    expect($("wizard-components-database")).toBeChecked();
    // The database goes on as before.
    expect($("wizard-next")).toBeEnabled();
  });

  it("takes a file chosen in the native open dialog", async () => {
    const { calls } = setup({ pick: "/home/ada/Downloads/shop_20261121_120000_database.tar.gz" });
    await screen.findAllByTestId("wizard-backup-radio");
    fireEvent.click($("wizard-path-choose"));
    await waitFor(() => expect($("wizard-path-input")).toHaveValue("/home/ada/Downloads/shop_20261121_120000_database.tar.gz"));
    expect($("wizard-source-path")).toBeChecked();
    expect(called(calls, "pick_path")[0]?.args).toEqual({ kind: "import_file", title: "Choose a backup to restore" });
    fireEvent.click($("wizard-next"));
    await waitFor(() =>
      expect(called(calls, "start_verify")[0]?.args).toEqual({ path: "/home/ada/Downloads/shop_20261121_120000_database.tar.gz" }),
    );
  });

  it("a cancelled open dialog keeps the current choice", async () => {
    const { calls } = setup({ pick: null });
    fireEvent.click((await screen.findAllByTestId("wizard-backup-radio"))[1]!);
    fireEvent.click($("wizard-path-choose"));
    await waitFor(() => expect(called(calls, "pick_path")).toHaveLength(1));
    expect(screen.getAllByTestId("wizard-backup-radio")[1]).toBeChecked();
    expect($("wizard-path-input")).toHaveValue("");
  });

  it("takes a typed path", async () => {
    const { calls } = setup();
    await screen.findAllByTestId("wizard-backup-radio");
    fireEvent.change($("wizard-path-input"), { target: { value: "/tmp/other.tar.gz" } });
    expect($("wizard-source-path")).toBeChecked();
    fireEvent.submit($("wizard-source")); // Enter in the field moves on
    await waitFor(() => expect(called(calls, "start_verify")[0]?.args).toEqual({ path: "/tmp/other.tar.gz" }));
  });

  it("cancels a running restore and offers to go back to the plan", async () => {
    const { calls } = setup();
    await toTarget(calls);
    await chooseUrl(calls);
    await screen.findByTestId("wizard-target-status");
    fireEvent.click($("wizard-next"));
    fireEvent.click(await screen.findByTestId("wizard-restore"));
    await waitFor(() => expect($("wizard-cancel")).toBeEnabled());
    // Escape does not leave a running restore.
    fireEvent.keyDown(document.body, { key: "Escape" });
    expect($("wizard-running")).toBeInTheDocument();
    fireEvent.click($("wizard-cancel"));
    await waitFor(() => expect(called(calls, "cancel_job")[0]?.args).toEqual({ jobId: "job-r" }));
    expect($("wizard-cancel")).toHaveTextContent("Cancelling…");
    const cancelled: ErrorPayload = { code: "cancelled", message: "cancelled by the user", hint: null, retryable: false };
    await act(() => emit("job-finished", { job_id: "job-r", kind: "restore", ok: false, error: cancelled, result: null }));
    expect(await screen.findByTestId("wizard-result")).toHaveAttribute("data-code", "cancelled");
    expect($("wizard-report-title")).toHaveTextContent("Restore cancelled");
    const before = called(calls, "plan_restore").length;
    fireEvent.click($("wizard-advice-action"));
    await screen.findByTestId("wizard-review");
    await waitFor(() => expect(called(calls, "plan_restore").length).toBe(before + 1)); // made again
  });

  it("the running step says what the plan says: a parallel restore is not one transaction (issue 41)", async () => {
    const parallel = "this backup is a directory dump (archive format 2): … restored by pg_restore -j 4 (data and indexes in parallel; not one transaction: every member is checked before the first row is loaded, and on a failure or a cancel what the restore created is dropped again)";
    const { calls } = setup({ plans: () => plan({ one_transaction: false, replace: false, warnings: [parallel] }) });
    await toTarget(calls);
    await chooseUrl(calls);
    await screen.findByTestId("wizard-target-status");
    fireEvent.click($("wizard-next"));
    fireEvent.click(await screen.findByTestId("wizard-restore"));
    await waitFor(() => expect($("wizard-running")).toBeInTheDocument());
    const promise = $("wizard-cancel-promise");
    expect(promise).toHaveAttribute("data-one-transaction", "false");
    expect(promise).toHaveTextContent("drops what it created");
    expect($("wizard-running")).not.toHaveTextContent("leaves the target as it was");
  });

  it("shows the error, its hint and advice by code when the restore fails", async () => {
    const conflict: ErrorPayload = {
      code: "auth",
      message: "password authentication failed",
      hint: "check the password",
      retryable: false,
    };
    const { calls } = setup({ startRestore: () => Promise.reject(conflict) });
    await toTarget(calls);
    await chooseUrl(calls);
    await screen.findByTestId("wizard-target-status");
    fireEvent.click($("wizard-next"));
    fireEvent.click(await screen.findByTestId("wizard-restore"));
    const report = await screen.findByTestId("wizard-result");
    expect(report).toHaveAttribute("data-ok", "false");
    expect(report).toHaveAttribute("data-code", "auth");
    expect(within(report).getByTestId("wizard-error-message")).toHaveTextContent("password authentication failed");
    expect(within(report).getByTestId("wizard-error-hint")).toHaveTextContent("check the password");
    fireEvent.click($("wizard-advice-action"));
    expect(await screen.findByTestId("wizard-target")).toBeInTheDocument();
    expect($("wizard-target-url-input")).toHaveValue("postgres://postgres@localhost:5432/shop_copy");
  });

  it("says when the backup recorded no row counts to compare", async () => {
    const { calls } = setup();
    await toTarget(calls);
    fireEvent.click($("wizard-target-this"));
    await screen.findByTestId("wizard-target-status");
    fireEvent.click($("wizard-next"));
    fireEvent.click(await screen.findByTestId("wizard-restore"));
    await waitFor(() => expect(called(calls, "start_restore")).toHaveLength(1));
    const report = restoreReport({
      tables: [],
      rows_not_recorded: "Row counts were not recorded: this backup was imported from a database dump made outside Offsite, so the restored rows were not compared with it.",
    });
    await act(() => emit("job-finished", restoreFinished("job-r", report)));
    expect(await screen.findByTestId("wizard-rows-not-recorded")).toHaveTextContent("imported from a database dump made outside Offsite");
    expect(screen.queryByTestId("wizard-report-tables")).not.toBeInTheDocument();
  });

  it("leaves with Escape when nothing runs", async () => {
    const { onClose } = setup();
    await screen.findAllByTestId("wizard-backup-radio");
    fireEvent.keyDown(document.body, { key: "Escape" });
    expect(onClose).toHaveBeenCalled();
  });
});

describe("RestoreWizard: database and storage in one restore", () => {
  const withStorage = {
    ...verifyReport(),
    manifest: { counts: { database: { items: 2, bytes: 10 }, storage: { items: 3, bytes: 30 } } },
  } as unknown as VerifyReport;

  const withConfig = {
    ...verifyReport(),
    manifest: { counts: { database: { items: 2, bytes: 10 }, config: { items: 2, bytes: 20 } } },
  } as unknown as VerifyReport;

  function setupBoth() {
    const calls: { cmd: string; request: RestoreRequest }[] = [];
    mockIPC(
      (cmd, raw) => {
        const args = (raw ?? {}) as { request?: RestoreRequest };
        if (args.request) calls.push({ cmd, request: args.request });
        switch (cmd) {
          case "list_backups":
            return [backup(0), backup(1)];
          case "list_projects":
            return [summary("shop", null), summary("staging", null)];
          case "start_verify":
            return "job-v";
          case "plan_restore": {
            const r = args.request!;
            const p: RestorePlan = {
              archive: r.archive,
              database: r.database ? plan() : null,
              storage: r.storage ? storagePlan(Boolean(r.storage.mirror)) : null,
              config: r.config
                ? {
                    ...configPlan,
                    will_write: r.config.settings ?? [],
                    vault: r.config.vault_key
                      ? { state: "differs", will_set: true, note: "Sets shop's Vault root key to the backup's before the database is restored." }
                      : configPlan.vault,
                  }
                : null,
            };
            return p;
          }
          case "start_restore":
            return "job-r";
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    render(
      <StoreProvider>
        <RestoreWizard project="shop" onClose={vi.fn()} />
      </StoreProvider>,
    );
    return calls;
  }

  it("plans both sections in one request, reviews both, runs one job and reports both", async () => {
    const calls = setupBoth();
    fireEvent.click((await screen.findAllByTestId("wizard-backup-radio"))[0]!);
    fireEvent.click($("wizard-next"));
    await act(() => emit("job-finished", verified(withStorage)));
    fireEvent.click(await screen.findByTestId("wizard-components-storage"));
    fireEvent.click($("wizard-storage-mirror"));
    fireEvent.click($("wizard-next"));
    await screen.findByTestId("wizard-target");
    fireEvent.click($("wizard-target-project"));
    await screen.findByTestId("wizard-target-status");
    fireEvent.click($("wizard-next"));

    // The review: the one plan, with the database section and the storage section.
    await screen.findByTestId("wizard-plan");
    const plans = calls.filter((c) => c.cmd === "plan_restore");
    expect(plans).toHaveLength(1);
    expect(plans[0]!.request.database?.to).toEqual({ project: "staging" });
    expect(plans[0]!.request.storage).toEqual({
      to: { kind: "project", value: "shop" },
      buckets: { kind: "all" },
      bucket_map: {},
      mirror: true,
      overwrite: false,
    });
    expect($("wizard-will-create")).toBeInTheDocument();
    const storage = $("wizard-plan-storage");
    expect(within(storage).getAllByTestId("wizard-storage-bucket")).toHaveLength(2);
    expect(within(storage).getByTestId("wizard-storage-summary")).toHaveTextContent("4 deleted");

    // A mirror deletes: Restore waits for the typed word.
    expect($("wizard-restore")).toBeDisabled();
    expect($("wizard-restore-reasons")).toHaveTextContent("mirror");
    fireEvent.change($("wizard-storage-consent"), { target: { value: "mirror" } });
    expect($("wizard-restore")).toBeEnabled();
    fireEvent.click($("wizard-restore"));

    await waitFor(() => expect(calls.filter((c) => c.cmd === "start_restore")).toHaveLength(1));
    const started = calls.find((c) => c.cmd === "start_restore")!.request;
    expect(started.database?.to).toEqual({ project: "staging" });
    expect(started.storage?.mirror).toBe(true);
    expect(started.config).toBeNull();

    // The run names the component it is on.
    await act(() => emit("job-progress", progress("job-r", { phase: "restoring", component: "storage" })));
    await waitFor(() => expect($("wizard-phase")).toHaveTextContent(/^File storage: /));

    const database = restoreReport();
    const report: RestoreReport = {
      archive: ARCHIVE,
      database,
      storage: {
        plan: storagePlan(true),
        created_buckets: ["avatars"],
        uploaded: 2,
        uploaded_bytes: 20,
        skipped: 1,
        skipped_bytes: 10,
        kept: 0,
        deleted: 4,
        deleted_bytes: 40,
        buckets: [
          { bucket: "avatars", target_bucket: "avatars", created: true, uploaded: 2, uploaded_bytes: 20, skipped: 0, kept: 0, deleted: 0 },
          { bucket: "docs", target_bucket: "docs", created: false, uploaded: 0, uploaded_bytes: 0, skipped: 1, kept: 0, deleted: 4 },
        ],
        duration_ms: 5,
      },
      config: null,
      parity: null,
      ok: true,
      duration_ms: 70_000,
    };
    const finished: JobFinished = { job_id: "job-r", kind: "restore", ok: true, error: null, result: { kind: "restore", report } };
    await act(() => emit("job-finished", finished));
    expect(await screen.findByTestId("wizard-result")).toHaveAttribute("data-ok", "true");
    expect(screen.getAllByTestId("wizard-table-row")).toHaveLength(2);
    expect($("wizard-report-storage-summary")).toHaveTextContent("2 objects written (20 B), 1 identical skipped, 4 deleted");
    expect(screen.getAllByTestId("wizard-report-bucket").map((r) => r.getAttribute("data-bucket"))).toEqual(["avatars", "docs"]);
    expect(calls.filter((c) => c.cmd === "start_restore")).toHaveLength(1);
  });

  it("reviews the configuration in the same plan: a ticked setting is planned again and written by the one job", async () => {
    const calls = setupBoth();
    fireEvent.click((await screen.findAllByTestId("wizard-backup-radio"))[0]!);
    fireEvent.click($("wizard-next"));
    await act(() => emit("job-finished", verified(withConfig)));
    fireEvent.click(await screen.findByTestId("wizard-components-config"));
    fireEvent.click($("wizard-next"));
    await screen.findByTestId("wizard-target");
    fireEvent.click($("wizard-target-this"));
    await screen.findByTestId("wizard-target-status");
    fireEvent.click($("wizard-next"));

    const table = await screen.findByTestId("wizard-config-diffs");
    expect(within(table).getAllByTestId("wizard-config-diff")).toHaveLength(3);
    expect($("wizard-config-will-write")).toHaveTextContent("Nothing will be written back");
    fireEvent.click(within(table).getAllByTestId("wizard-config-choose")[0]!);
    await waitFor(() => expect($("wizard-config-will-write")).toHaveTextContent("Will write 1 setting back: supabase/auth.json:site_url"));
    const plans = calls.filter((c) => c.cmd === "plan_restore");
    expect(plans).toHaveLength(2);
    expect(plans[1]!.request.config).toEqual({ project: "shop", settings: ["supabase/auth.json:site_url"], functions: [], vault_key: false });
    expect(plans[1]!.request.database?.to).toEqual({ project: "shop" });

    // Vault: the plan says the keys differ; ticking the box asks the engine to set the key first.
    expect($("wizard-vault-note")).toHaveAttribute("data-state", "differs");
    expect($("wizard-vault-note")).toHaveTextContent("will not decrypt there");
    expect($("wizard-vault-key")).not.toBeChecked();
    fireEvent.click($("wizard-vault-key"));
    await waitFor(() => expect($("wizard-vault-note")).toHaveTextContent("Sets shop's Vault root key"));
    expect(calls.filter((c) => c.cmd === "plan_restore")[2]!.request.config?.vault_key).toBe(true);

    await waitFor(() => expect($("wizard-restore")).toBeEnabled());
    fireEvent.click($("wizard-restore"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "start_restore")).toHaveLength(1));
    expect(calls.find((c) => c.cmd === "start_restore")!.request.config?.settings).toEqual(["supabase/auth.json:site_url"]);
    expect(calls.find((c) => c.cmd === "start_restore")!.request.config?.vault_key).toBe(true);
    const report: RestoreReport = {
      archive: ARCHIVE,
      database: restoreReport(),
      storage: null,
      config: { plan: configPlan, applied: { applied: [{ file: "supabase/auth.json", setting: "site_url" }], skipped: [] }, deployed: [{ slug: "hello-world", action: "update", version: 4 }], vault_key_set: true },
      parity: {
        parts: [{ part: "auth-users", name: "Auth users, password hashes and identities", verdict: "equal", compared: "2 tables, 5 rows", differences: [], note: null }],
        equal: true,
        note: null,
      },
      ok: true,
      duration_ms: 1000,
    };
    await act(() => emit("job-finished", { job_id: "job-r", kind: "restore", ok: true, error: null, result: { kind: "restore", report } }));
    expect(await screen.findByTestId("wizard-report-config-summary")).toHaveTextContent("Wrote 1 setting back to shop.");
    expect(screen.getByTestId("wizard-report-functions")).toHaveTextContent("Edge Functions deployed again: hello-world (updated, version 4)");
    expect(screen.getByTestId("wizard-report-vault")).toHaveTextContent("shop’s Vault root key was set to the backup’s");
    expect(screen.getByTestId("wizard-report-parity-summary")).toHaveTextContent("Every part compared is the same as in the backup’s source (1).");
    expect(screen.getAllByTestId("wizard-table-row")).toHaveLength(2);
  });
});

describe("a database on a server as the target (issue 64, item 2)", () => {
  /** The server's parts typed in, then "Check the target". */
  async function chooseServer(calls: Call[], database = "shop_new") {
    fireEvent.click($("wizard-target-server"));
    fireEvent.change($("wizard-target-host"), { target: { value: "db.example.com" } });
    fireEvent.change($("wizard-target-user"), { target: { value: "admin" } });
    fireEvent.change($("wizard-target-database"), { target: { value: database } });
    fireEvent.change($("wizard-target-password"), { target: { value: "pw" } });
    expect(called(calls, "plan_restore")).toHaveLength(0); // typing asks nothing
    fireEvent.click($("wizard-target-check"));
    await waitFor(() => expect(called(calls, "plan_restore").length).toBeGreaterThan(0));
  }

  it("sends the server's parts, and plans only when asked", async () => {
    const { calls } = setup();
    await toTarget(calls);
    fireEvent.click($("wizard-target-server"));
    expect($("wizard-target-port")).toHaveValue("5432");
    expect($("wizard-target-check")).toBeDisabled(); // no server, user or database yet
    await chooseServer(calls, "shop_copy");
    const last = called(calls, "plan_restore").at(-1)!;
    expect(last.args.target).toEqual({
      connection: {
        connection: { fields: { host: "db.example.com", port: 5432, user: "admin", database: "shop_copy" } },
        tls: "prefer",
        password: "pw",
      },
    });
    expect((last.args.choices as { create_database: boolean }).create_database).toBe(false);
    expect(await screen.findByTestId("wizard-target-status")).toHaveAttribute("data-empty", "true");
    // A changed field asks again only when checked again.
    const asked = called(calls, "plan_restore").length;
    fireEvent.change($("wizard-target-port"), { target: { value: "6543" } });
    expect(screen.queryByTestId("wizard-target-status")).not.toBeInTheDocument();
    expect(called(calls, "plan_restore")).toHaveLength(asked);
    expect($("wizard-next")).toBeDisabled();
  });

  it("offers to create a missing database, and plans again with it ticked", async () => {
    const { calls } = setup({
      plans: (args) => {
        const create = (args.choices as { create_database: boolean }).create_database;
        return plan({
          target_database: "shop_new",
          target: "postgres://admin@db.example.com:5432/shop_new",
          database_missing: true,
          may_create_database: true,
          creates_database: create,
          connecting_role: "admin",
          blockers: create ? [] : ["the database shop_new does not exist on db.example.com:5432 yet"],
        });
      },
    });
    await toTarget(calls);
    await chooseServer(calls);
    const status = await screen.findByTestId("wizard-target-status");
    expect(status).toHaveAttribute("data-missing", "true");
    expect(status).toHaveTextContent("The database shop_new does not exist on this server yet.");
    const box = $("wizard-target-create");
    expect(box).not.toBeChecked();
    const asked = called(calls, "plan_restore").length;
    fireEvent.click(box);
    await waitFor(() => expect(called(calls, "plan_restore").length).toBe(asked + 1));
    expect((called(calls, "plan_restore").at(-1)!.args.choices as { create_database: boolean }).create_database).toBe(true);
    await waitFor(() =>
      expect($("wizard-target-status")).toHaveTextContent("Offsite creates the database shop_new, empty, then restores the backup into it."),
    );
    expect($("wizard-target-status")).toHaveTextContent("Owned by admin. If the restore fails, the new database is removed again.");
    expect($("wizard-target-create")).toBeChecked();
    fireEvent.click($("wizard-next"));
    fireEvent.click(await screen.findByTestId("wizard-restore"));
    await waitFor(() => expect(called(calls, "start_restore")).toHaveLength(1));
    expect((called(calls, "start_restore")[0]!.args.choices as { create_database: boolean }).create_database).toBe(true);
  });

  it("says why a missing database cannot be created, with no box to tick", async () => {
    const { calls } = setup({
      plans: () =>
        plan({
          target_database: "shop_new",
          database_missing: true,
          may_create_database: false,
          connecting_role: "reader",
          blockers: ["the role reader may not create databases on db.example.com:5432"],
        }),
    });
    await toTarget(calls);
    await chooseServer(calls);
    await screen.findByTestId("wizard-target-status");
    expect(screen.queryByTestId("wizard-target-create")).not.toBeInTheDocument();
    expect($("wizard-target-cannot-create")).toHaveTextContent(
      "The role reader may not create databases on this server. Create the database first (as a role that may), or choose another one.",
    );
  });
});
