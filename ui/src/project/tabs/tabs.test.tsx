import { dayAndTime } from "./time";
import { mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { JobRecord } from "../../bindings";
import { backup, summary } from "../../screens/fixtures";
import type { ProjectTab } from "../../screens/Main";
import { ProjectPage } from "../../screens/ProjectPage";
import { StoreProvider } from "../../store";
import { healthWith, overview } from "../../dashboard/fixtures";
import { BackUpButton } from "./BackUpButton";
import { TabBar } from "./TabBar";

type Handlers = Record<string, (args: Record<string, unknown>) => unknown>;

const never = () => new Promise(() => {});
const refuse = (message: string) => () =>
  Promise.reject({ code: "internal", message, hint: null, retryable: false });

const job: JobRecord = {
  id: "j1",
  project_id: "p-shop",
  kind: "backup",
  state: "succeeded",
  started_at: "2026-11-20T10:00:00Z",
  finished_at: "2026-11-20T10:00:05Z",
  bytes_done: 2048,
  bytes_total: null,
  error_code: null,
  error_message: null,
  error_hint: null,
  backup_id: null,
} as JobRecord;

function page(tab: ProjectTab | undefined, handlers: Handlers = {}, props: Partial<Parameters<typeof ProjectPage>[0]> = {}) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  const backups = [backup(0), backup(1, { status: "verified", verified_at: "2026-11-21T12:00:00Z" }), backup(30, { status: "corrupt" })];
  mockIPC((cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    const h = handlers[cmd];
    if (h) return h(args);
    switch (cmd) {
      case "get_project":
        return summary("shop", backups[0] ?? null, backups.length);
      case "list_backups":
        return backups;
      case "get_components":
        return { storage: null, supabase: { project_ref: "abcdefghijklmnopqrst" }, default_type: null };
      case "list_jobs":
        return [job];
      case "removal_forecast":
        return [
          { backup_id: "backup-0", removed_at: null, next_prune: true, kept_by: [], kept_because: "", reasons: [] },
          { backup_id: "backup-1", removed_at: null, next_prune: false, kept_by: ["newest", "daily"], kept_because: "newest · daily", reasons: ["daily 2026-11-21", "newest verified"] },
        ];
      case "list_source_tests":
      case "list_tenants":
        return [];
      case "show_in_folder":
        return null;
      case "list_drills":
        return [{ id: "d1", backup_id: "backup-1", started_at: "", finished_at: "", verdict: "passed", rto_seconds: 3, failed_check_id: null, failed_check_title: null, report_path: null }];
      case "pitr_status":
        return { enabled: false, slot: null, max_retained: null, free_bytes: null, effective_max_retained: null, rpo_seconds: null, coverage: null, windows: [], ended: [], stray_slots: [] };
      case "list_schedules":
      case "list_destinations":
      case "list_copies":
        return [];
      default:
        return Promise.reject({ code: "internal", message: `not mocked: ${cmd}`, hint: null, retryable: false });
    }
  }, { shouldMockEvents: true });
  render(
    <StoreProvider>
      <ProjectPage name="shop" onBack={vi.fn()} {...(tab ? { tab } : {})} {...props} />
    </StoreProvider>,
  );
  return calls;
}

describe("the project page's tabs", () => {
  it("opens on Backups by default, on the route's tab otherwise, and names the database, not host:port", async () => {
    page(undefined);
    expect(await screen.findByTestId("tab-backups")).toBeInTheDocument();
    expect(screen.getByTestId("project-tab-backups")).toHaveAttribute("aria-selected", "true");
    expect(await screen.findByTestId("project-subtitle")).toHaveTextContent("Supabase project abcdefghijklmnopqrst · database postgres");
    expect(screen.getByTestId("project-subtitle")).not.toHaveTextContent("5432");
    // No empty jobs card at the top.
    expect(screen.queryByTestId("job-panel")).not.toBeInTheDocument();
  });

  it("Backups: the Point in time card comes first, above the list (the dashboard's Capture now lands here)", async () => {
    page("backups");
    const card = await screen.findByTestId("pitr-card");
    expect(screen.getByTestId("tab-backups").firstElementChild).toBe(card);
    // Off, it is one line: its setup (and the server's answer to which capture it allows) opens on request.
    expect(await screen.findByTestId("pitr-setup")).toHaveTextContent("Set up…");
    expect(screen.queryByTestId("pitr-enable")).toBeNull();
  });

  it("opens on the tab the route names", async () => {
    page("schedules");
    expect(await screen.findByTestId("tab-schedules")).toBeInTheDocument();
    expect(screen.getByTestId("project-tab-schedules")).toHaveAttribute("aria-selected", "true");
    expect(screen.queryByTestId("tab-backups")).not.toBeInTheDocument();
  });

  it("Backups: loading", async () => {
    page(undefined, { list_backups: never });
    expect(await screen.findByTestId("backups-loading")).toBeInTheDocument();
  });

  it("Backups: a load error", async () => {
    page(undefined, { list_backups: refuse("catalog unreadable") });
    expect(await screen.findByTestId("backups-error")).toHaveAttribute("data-code", "internal");
  });

  it("Backups: empty", async () => {
    page(undefined, { list_backups: () => [] });
    expect(await screen.findByTestId("backups-empty")).toBeInTheDocument();
    // No side panel with nothing to select.
    expect(screen.queryByTestId("backup-detail")).not.toBeInTheDocument();
  });

  it("Backups: full — days, badges, retention, the newest good backup selected with its file and SHA-256", async () => {
    page(undefined, {}, { onRestore: vi.fn() });
    const rows = await screen.findAllByTestId("backups-row");
    expect(rows).toHaveLength(3);
    expect(screen.getAllByTestId("backups-day")).toHaveLength(2);
    // The removal forecast is its own query: it may arrive after the rows.
    await waitFor(() => expect(within(rows[0]!).getByTestId("backup-removal")).toHaveTextContent("goes at next clean-up"));
    expect(within(rows[0]!).getByTestId("backup-removal")).toHaveAttribute("title", "removed at the next clean-up (if the schedule runs on time)");
    await waitFor(() => expect(within(rows[1]!).getByTestId("backup-proven")).toBeInTheDocument());
    expect(within(rows[0]!).queryByTestId("backup-proven")).toBeNull();
    expect(within(rows[2]!).getByTestId("backup-status")).toHaveTextContent("Damaged");
    expect(await screen.findByTestId("backup-detail-path")).toHaveTextContent(backup(0).path);
    // Shortened on one line, the whole path in its title, with Copy (issue 44, screens-light-02).
    expect(screen.getByTestId("backup-detail-path")).toHaveAttribute("title", `${backup(0).path}\nShow in the file manager`);
    expect(screen.getByTestId("backup-detail-path").querySelector(".middle-ellipsis")).toHaveAttribute("title", backup(0).path);
    expect(screen.getByTestId("backup-detail-path-copy")).toBeInTheDocument();
    expect(screen.getByTestId("backup-detail-sha256")).toHaveTextContent("ab".repeat(32));
    expect(screen.getByTestId("backup-detail-retention")).toHaveTextContent("Retention: removed at the next clean-up.");
  });

  it("Backups: a safety backup is listed under the timeline with its origin, date, size, encryption and file, and no restore", async () => {
    const path = "/data/safety-backups/safety-postgres_20261124_091500_database.tar.zst.age";
    page(undefined, {
      list_safety_backups: () => [
        { path, target: "safety-postgres", created_at: "2026-11-24T09:15:00Z", size: 3 * 1024 * 1024, encrypted: true, origin: "safety" },
      ],
    }, { onRestore: vi.fn() });
    const row = await screen.findByTestId("safety-backup-row");
    expect(within(row).getByTestId("backup-origin")).toHaveTextContent("Safety");
    expect(within(row).getByTestId("backup-origin")).toHaveAttribute("data-origin", "safety");
    expect(within(row).getByTestId("backup-origin")).toHaveAttribute("title", "Taken before a restore replaced this project's database");
    // The time in the one format, no raw instant on hover (issue 44).
    expect(within(row).getByTestId("safety-backup-date")).toHaveTextContent(dayAndTime("2026-11-24T09:15:00Z"));
    expect(within(row).getByTestId("safety-backup-date")).not.toHaveAttribute("title");
    expect(row).toHaveTextContent("3.0 MB");
    expect(within(row).getByTestId("safety-backup-encrypted")).toHaveTextContent("encrypted");
    expect(within(row).getByTestId("safety-backup-path")).toHaveTextContent(path);
    expect(within(row).queryByRole("button")).toBeNull();
    // Part of the Backups list; the catalog's rows are still there.
    expect(screen.getByRole("region", { name: "Backups" })).toContainElement(row);
    expect(screen.getAllByTestId("backups-row")).toHaveLength(3);
  });

  it("Backups: only safety backups — no 'No backups yet'", async () => {
    page(undefined, {
      list_backups: () => [],
      list_safety_backups: () => [
        { path: "/d/safety-postgres_20261124_091500_database.tar.zst", target: "safety-postgres", created_at: "2026-11-24T09:15:00Z", size: 10, encrypted: false, origin: "safety" },
      ],
    });
    const row = await screen.findByTestId("safety-backup-row");
    expect(within(row).queryByTestId("safety-backup-encrypted")).toBeNull();
    expect(screen.queryByTestId("backups-empty")).not.toBeInTheDocument();
  });

  it("Backups: a per-tenant archive is marked with its tenant on the timeline", async () => {
    page(undefined, {
      list_backups: () => [{ ...backup(0, { origin: "imported" }), tenant: "orgs=1" }, backup(1)],
    });
    const rows = await screen.findAllByTestId("backups-row");
    const tenant = within(rows[0]!).getByTestId("backup-tenant");
    // In words, not the engine's mark (issue 44: "org=2" on the timeline).
    expect(tenant.textContent).toBe("orgs 1");
    expect(tenant.getAttribute("title")).toContain("the rows of orgs 1 only");
    expect(tenant).toHaveAttribute("data-tenant", "orgs=1");
    expect(within(rows[0]!).queryByTestId("backup-origin")).not.toBeInTheDocument();
    expect(within(rows[1]!).queryByTestId("backup-tenant")).not.toBeInTheDocument();
    expect(within(rows[1]!).getByTestId("backup-origin")).toHaveTextContent("made here");
  });

  it("Backups: two backups of one minute: the side panel's title carries the seconds, as the row does (issue 44)", async () => {
    page(undefined, {
      list_backups: () => [
        backup(0, { created_at: "2026-11-26T13:34:22Z", status: "verified", verified_at: "2026-11-26T13:35:00Z" }),
        backup(1, { created_at: "2026-11-26T13:34:21Z" }),
      ],
    });
    await screen.findAllByTestId("backups-row");
    await waitFor(() => expect(screen.getByTestId("backup-detail-title")).toHaveTextContent(/:34:22$/));
  });

  it("Backups: each row says where the backup came from and why retention keeps it; the side panel too, with its file a link", async () => {
    const calls = page(undefined, {
      list_backups: () => [
        backup(0, { origin: "server" }),
        backup(1, { origin: "artifact", status: "verified", verified_at: "2026-11-21T12:00:00Z" }),
        backup(2, { origin: "imported" }),
        backup(3),
      ],
      removal_forecast: () => [
        { backup_id: "backup-0", removed_at: null, next_prune: false, kept_by: ["newest", "last"], kept_because: "newest · latest", reasons: ["last 1", "newest successful"] },
        { backup_id: "backup-1", removed_at: "2026-12-02T02:30:00Z", next_prune: false, kept_by: ["daily"], kept_because: "daily", reasons: ["daily 2026-11-21"] },
        { backup_id: "backup-2", removed_at: null, next_prune: false, kept_by: ["no_policy"], kept_because: "no retention rules", reasons: ["no retention rules"] },
        { backup_id: "backup-3", removed_at: null, next_prune: true, kept_by: [], kept_because: "", reasons: [] },
      ],
    });
    const rows = await screen.findAllByTestId("backups-row");
    const origins = rows.map((r) => within(r).getByTestId("backup-origin"));
    expect(origins.map((o) => o.textContent)).toEqual(["backup server", "artifact", "imported", "made here"]);
    expect(origins[0]).toHaveAttribute("title", "Made by the backup server and downloaded");
    await waitFor(() => expect(within(rows[0]!).getByTestId("backup-removal")).toHaveTextContent("newest · latest"));
    expect(within(rows[0]!).getByTestId("backup-removal")).toHaveAttribute("title", "kept: last 1, newest successful (if the schedule runs on time)");
    expect(within(rows[1]!).getByTestId("backup-removal")).toHaveTextContent(/^daily · until 2026-12-0[12]$/);
    expect(within(rows[2]!).getByTestId("backup-removal")).toHaveTextContent("no retention rules");
    expect(within(rows[3]!).getByTestId("backup-removal")).toHaveTextContent("goes at next clean-up");
    // The newest good backup is selected: its origin and the retention reasons in the side panel.
    expect(await screen.findByTestId("backup-detail-origin")).toHaveTextContent("Made by the backup server and downloaded.");
    expect(screen.getByTestId("backup-detail-retention")).toHaveTextContent("Retention: kept: last 1, newest successful.");
    // Its file is a link that shows it in the file manager, by the backup's id.
    fireEvent.click(screen.getByTestId("backup-detail-path"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "show_in_folder")).toHaveLength(1));
    expect(calls.find((c) => c.cmd === "show_in_folder")?.args).toEqual({ backupId: "backup-0" });
  });

  it("Backups: a file the file manager cannot show says why under the link", async () => {
    page(undefined, { show_in_folder: refuse("the file is gone") });
    fireEvent.click(await screen.findByTestId("backup-detail-path"));
    expect(await screen.findByTestId("backup-detail-path-error")).toHaveTextContent("Could not show it: the file is gone");
  });

  it("Backups: a row's menu; a disabled action says why", async () => {
    const onRestore = vi.fn();
    page(undefined, {}, { onRestore });
    const rows = await screen.findAllByTestId("backups-row");
    fireEvent.click(within(rows[2]!).getByTestId("backup-row-menu"));
    const restore = screen.getByTestId("backup-row-restore");
    expect(restore).toBeDisabled();
    expect(restore).toHaveAttribute("title", "The backup is damaged");
    // Said beside it, not only in a tooltip (issue 64 item 6).
    expect(screen.getByTestId("backup-row-restore-why")).toHaveTextContent("The backup is damaged");
    expect(screen.queryByTestId("backup-row-verify-why")).toBeNull();
    fireEvent.click(within(rows[0]!).getByTestId("backup-row-menu"));
    fireEvent.click(screen.getByTestId("backup-row-restore"));
    expect(onRestore).toHaveBeenCalledWith(backup(0).path);
  });

  it("Backups: the side panel's disabled buttons say why under them", async () => {
    page(undefined, { list_backups: () => [{ ...backup(0), status: "missing" }, backup(1)] });
    const rows = await screen.findAllByTestId("backups-row");
    fireEvent.click(rows[0]!.querySelector(".tl-row")!);
    expect(await screen.findByTestId("verify-selected")).toBeDisabled();
    expect(screen.getByTestId("backup-side-why")).toHaveTextContent("Verify, Show file: the file is missing");
    fireEvent.click(rows[1]!.querySelector(".tl-row")!);
    await waitFor(() => expect(screen.getByTestId("verify-selected")).toBeEnabled());
    expect(screen.queryByTestId("backup-side-why")).toBeNull();
  });

  it("Backups: a suspicious backup is amber with its reason (row and side panel), a pinned one says so and unpins; the header shows the engine's statistics", async () => {
    const reason = "public.orders: 120,431 → 12 rows";
    const calls = page(undefined, {
      list_backups: () => [
        { ...backup(0), suspicious: reason },
        { ...backup(1, { status: "verified" }), pinned: true, note: "before the migration", started_by: "ana" },
      ],
      backup_stats: () => ({
        project: "shop", count: 2, total_bytes: 3 * 1024 * 1024,
        by_type: [{ backup_type: "database", count: 2, bytes: 3 * 1024 * 1024 }],
        oldest: "2026-11-20T10:00:00Z", newest: "2026-11-21T10:00:00Z", growth_per_week_bytes: 1024 * 1024,
        suspicious: 1, pinned: 1,
        destinations: [{ destination: "local", copies: 2, bytes: 3 * 1024 * 1024 }, { destination: "nas", copies: 1, bytes: 1024 }],
      }),
      pin_backup: () => ({ suspicious: [], compared_with: null, note: null, started_by: null, pinned: false, trigger: null }),
    });
    const rows = await screen.findAllByTestId("backups-row");
    expect(rows[0]!.querySelector(".tl-row")).toHaveClass("tl-row-suspicious");
    expect(within(rows[0]!).getByTestId("backup-suspicious")).toHaveTextContent(`Suspicious: ${reason}`);
    expect(rows[1]!.querySelector(".tl-row")).not.toHaveClass("tl-row-suspicious");
    expect(within(rows[1]!).getByTestId("backup-pinned")).toHaveTextContent("Pinned");
    const summary = await screen.findByTestId("backup-stats-summary");
    expect(summary).toHaveTextContent("3.0 MB in all (2 database backups)");
    expect(summary).toHaveTextContent("+1.0 MB a week");
    expect(summary).toHaveTextContent("1 suspicious, 1 pinned");
    expect(screen.getByTestId("backup-stats-places")).toHaveTextContent("this computer: 2 backups, 3.0 MB · nas: 1 copy, 1.0 KB");
    fireEvent.click(rows[0]!.querySelector(".tl-row")!);
    expect(await screen.findByTestId("backup-detail-suspicious")).toHaveTextContent(reason);
    fireEvent.click(rows[1]!.querySelector(".tl-row")!);
    expect(await screen.findByTestId("backup-detail-note")).toHaveTextContent("“before the migration” · by ana · pinned");
    fireEvent.click(within(rows[1]!).getByTestId("backup-row-menu"));
    fireEvent.click(screen.getByTestId("backup-row-pin"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "pin_backup" && c.args.backupId === "backup-1" && c.args.pinned === false)).toBe(true));
  });

  it("Sources: loading (the cards are there, the lights off)", async () => {
    page("sources", { get_components: never });
    expect(await screen.findByTestId("source-database")).toBeInTheDocument();
    expect(screen.getByTestId("source-storage")).toHaveAttribute("data-light", "off");
  });

  it("Sources: full, and a components error shows as a warning light", async () => {
    page("sources");
    // Set up but never tested: not green (the light follows the last test, not the setting).
    await waitFor(() => expect(screen.getByTestId("source-storage")).toHaveAttribute("data-light", "untested"));
    expect(screen.getByTestId("source-database")).toHaveAttribute("data-light", "untested");
    for (const id of ["database", "storage", "server", "artifacts"]) {
      expect(screen.getByTestId(`source-${id}`)).toBeInTheDocument();
    }
    // Encryption and destinations protect the backups: the Protection tab has them (issue 44).
    expect(screen.queryByTestId("source-encryption")).toBeNull();
    expect(screen.queryByTestId("source-destinations")).toBeNull();
    expect(screen.getByTestId("source-server")).toHaveAttribute("data-light", "off");
    // Nothing tests tenants: their card has no light (a green one said "tested: OK").
    expect(screen.getByTestId("source-tenants")).not.toHaveAttribute("data-light");
    expect(screen.getByTestId("components-section")).toBeInTheDocument();
    expect(screen.getByTestId("server-section")).toBeInTheDocument();
    expect(screen.getByTestId("artifacts-section")).toBeInTheDocument();
  });

  it("Protection: encryption, destinations and the 3-2-1 count, beside the other tabs", async () => {
    page("protection");
    expect(await screen.findByTestId("tab-protection")).toBeInTheDocument();
    expect(screen.getByTestId("source-encryption")).toBeInTheDocument();
    expect(screen.getByTestId("source-destinations")).toBeInTheDocument();
    expect(screen.getByTestId("protection-321")).toBeInTheDocument();
    expect(screen.getByTestId("project-tab-protection")).toHaveAttribute("aria-selected", "true");
  });

  it("Sources: each connection's last test — passed, failed (the light warns) or never", async () => {
    page("sources", {
      get_components: () => ({
        storage: { endpoint: "e", region: "r", access_key_id: "k", path_style: true, buckets: { kind: "all" }, concurrency: null },
        supabase: null,
        server: { url: "https://backup.example.com:8443/", project: "shop", fingerprint: null, insecure_http: false },
        artifacts: null,
        default_type: null,
      }),
      list_source_tests: () => [
        { source: "database", tested_at: "2026-11-21T12:00:00Z", ok: true, message: null },
        { source: "server", tested_at: "2026-11-21T13:00:00Z", ok: false, message: "the server refused the token" },
      ],
    });
    const db = await screen.findByTestId("source-database-last-test");
    expect(db).toHaveAttribute("data-state", "ok");
    expect(db).toHaveTextContent(/^Last tested 2026-11-2[01] \d\d:\d\d: OK$/);
    const server = await screen.findByTestId("source-server-last-test");
    expect(server).toHaveAttribute("data-state", "failed");
    expect(server).toHaveTextContent("failed — the server refused the token");
    await waitFor(() => expect(screen.getByTestId("source-server")).toHaveAttribute("data-light", "warn"));
    expect(screen.getByTestId("source-database")).toHaveAttribute("data-light", "ok");
    expect(screen.getByTestId("source-storage-last-test")).toHaveTextContent("Storage: Never tested");
    expect(screen.getByTestId("source-storage-last-test")).toHaveAttribute("data-state", "never");
    expect(screen.getByTestId("source-storage")).toHaveAttribute("data-light", "untested");
    // No Supabase project and no artifact bucket: nothing to have tested.
    expect(screen.queryByTestId("source-supabase-last-test")).toBeNull();
    expect(screen.queryByTestId("source-artifacts-last-test")).toBeNull();
  });

  it("Sources: a test recorded anywhere turns the light green at once (the change feed names the project)", async () => {
    let tests: { source: string; tested_at: string; ok: boolean; message: string | null }[] = [];
    page("sources", { list_source_tests: () => tests });
    await waitFor(() => expect(screen.getByTestId("source-database-last-test")).toHaveTextContent("Never tested"));
    expect(screen.getByTestId("source-database")).toHaveAttribute("data-light", "untested");
    tests = [{ source: "database", tested_at: "2026-11-21T12:00:00Z", ok: true, message: null }];
    await act(async () => {
      await emit("catalog-changed", { changes: [{ seq: 7, entity: "project", id: "p-shop", project_id: "p-shop", op: "upsert" }], reload_all: false });
    });
    await waitFor(() => expect(screen.getByTestId("source-database")).toHaveAttribute("data-light", "ok"));
    expect(screen.getByTestId("source-database-last-test")).toHaveAttribute("data-state", "ok");
  });

  it("Sources: an error", async () => {
    page("sources", { get_components: refuse("no components") });
    expect(await screen.findByTestId("sources-error")).toHaveAttribute("data-code", "internal");
    expect(screen.getByTestId("source-storage")).toHaveAttribute("data-light", "warn");
  });

  it("Activity: loading", async () => {
    page("activity", { list_jobs: never });
    expect(await screen.findByTestId("job-history-loading")).toBeInTheDocument();
  });

  it("Activity: empty", async () => {
    page("activity", { list_jobs: () => [] });
    expect(await screen.findByTestId("job-history-empty")).toBeInTheDocument();
  });

  it("Activity: error", async () => {
    page("activity", { list_jobs: refuse("no jobs table") });
    expect(await screen.findByTestId("job-history-error")).toHaveAttribute("data-code", "internal");
  });

  it("Activity: full", async () => {
    page("activity");
    expect(await screen.findByTestId("job-history-row")).toHaveAttribute("data-state", "succeeded");
  });

  it("Schedules: the schedules and the retention policy", async () => {
    page("schedules", { get_retention: never });
    expect(await screen.findByTestId("schedule-section")).toBeInTheDocument();
    expect(await screen.findByTestId("schedule-backup-none")).toBeInTheDocument();
  });
});

describe("the tab bar", () => {
  it("is a tablist; arrows, Home and End move between tabs", () => {
    const onTab = vi.fn();
    render(<TabBar tab="backups" onTab={onTab} />);
    const list = screen.getByRole("tablist");
    expect(within(list).getAllByRole("tab").map((t) => t.textContent)).toEqual([
      "Backups",
      "Sources",
      "Protection",
      "Schedules & retention",
      "Activity",
    ]);
    expect(screen.getByTestId("project-tab-backups")).toHaveAttribute("tabindex", "0");
    expect(screen.getByTestId("project-tab-sources")).toHaveAttribute("tabindex", "-1");
    fireEvent.keyDown(list, { key: "ArrowRight" });
    expect(onTab).toHaveBeenLastCalledWith("sources");
    fireEvent.keyDown(list, { key: "ArrowLeft" });
    expect(onTab).toHaveBeenLastCalledWith("activity");
    fireEvent.keyDown(list, { key: "End" });
    expect(onTab).toHaveBeenLastCalledWith("activity");
    fireEvent.keyDown(list, { key: "Home" });
    expect(onTab).toHaveBeenLastCalledWith("backups");
  });
});

describe("the split Back up now", () => {
  const storage = { endpoint: "e", region: "r", access_key_id: "k", path_style: true, buckets: { kind: "all" as const }, concurrency: null };

  it("the main part makes the default type; the arrow offers the types, those it cannot make disabled with why", () => {
    const onBackUp = vi.fn();
    render(<BackUpButton components={{ storage, supabase: null }} defaultType="storage" busy={false} onBackUp={onBackUp} />);
    expect(screen.queryByTestId("backup-type-menu")).toBeNull();
    fireEvent.click(screen.getByTestId("backup-now"));
    expect(onBackUp).toHaveBeenLastCalledWith(null);
    fireEvent.click(screen.getByTestId("backup-type-toggle"));
    expect(screen.getByTestId("backup-type-toggle")).toHaveAttribute("aria-expanded", "true");
    const items = within(screen.getByRole("menu")).getAllByRole("menuitem");
    expect(items.map((i) => i.getAttribute("data-testid"))).toEqual([
      "backup-type-database",
      "backup-type-full",
      "backup-type-storage",
      "backup-type-config",
      "backup-type-incremental",
      "backup-with-note",
    ]);
    expect(screen.getByTestId("backup-type-storage")).toHaveTextContent("default");
    expect(screen.getByTestId("backup-type-config")).toBeDisabled();
    expect(screen.getByTestId("backup-type-config").title).toMatch(/Supabase/);
    fireEvent.click(screen.getByTestId("backup-type-full"));
    expect(onBackUp).toHaveBeenLastCalledWith("full");
    expect(screen.queryByTestId("backup-type-menu")).toBeNull();
  });

  it("With a note…: the default type, with the note typed (trimmed; empty is none)", () => {
    const onBackUp = vi.fn();
    render(<BackUpButton components={null} defaultType="database" busy={false} onBackUp={onBackUp} />);
    fireEvent.click(screen.getByTestId("backup-type-toggle"));
    fireEvent.click(screen.getByTestId("backup-with-note"));
    fireEvent.change(screen.getByTestId("backup-note-input"), { target: { value: "  before the migration " } });
    fireEvent.click(screen.getByTestId("backup-note-go"));
    expect(onBackUp).toHaveBeenLastCalledWith(null, "before the migration");
    expect(screen.queryByTestId("backup-type-menu")).toBeNull();
    fireEvent.click(screen.getByTestId("backup-type-toggle"));
    fireEvent.click(screen.getByTestId("backup-with-note"));
    fireEvent.click(screen.getByTestId("backup-note-go"));
    expect(onBackUp).toHaveBeenLastCalledWith(null, null);
  });

  it("is disabled while a backup runs, and Escape closes the menu", () => {
    const { rerender } = render(<BackUpButton components={null} defaultType="database" busy={false} onBackUp={vi.fn()} />);
    fireEvent.click(screen.getByTestId("backup-type-toggle"));
    fireEvent.keyDown(screen.getByRole("menu"), { key: "Escape" });
    expect(screen.queryByRole("menu")).toBeNull();
    rerender(<BackUpButton components={null} defaultType="database" busy onBackUp={vi.fn()} />);
    expect(screen.getByTestId("backup-now")).toBeDisabled();
    expect(screen.getByTestId("backup-now")).toHaveTextContent("Backing up…");
    expect(screen.getByTestId("backup-type-toggle")).toBeDisabled();
    // And says why (issue 64 item 6).
    expect(screen.getByTestId("backup-now")).toHaveAttribute("title", "A backup is running.");
  });

  it("waits while the engine says a backup of the project runs (a schedule's, not started in this window: issue 64 item 6)", async () => {
    const running = healthWith("shop", "overdue", { verdict: { state: "running", backup_running: true }, running: ["backup"] });
    page(undefined, { health: () => overview([running]) });
    await waitFor(() => expect(screen.getByTestId("backup-now")).toBeDisabled());
    expect(screen.getByTestId("backup-now")).toHaveTextContent("Backing up…");
    expect(screen.getByTestId("backup-now")).toHaveAttribute("title", "A backup is running.");
  });

  it("the page offers the type nowhere else", async () => {
    page(undefined);
    await screen.findAllByTestId("backups-row");
    expect(document.querySelectorAll("select[aria-label='Type of backup']")).toHaveLength(0);
    expect(screen.queryByTestId("backup-type")).toBeNull();
  });
});

describe("the Protection tab's Destinations card", () => {
  const dest = { name: "usb" } as unknown as import("../../bindings").DestinationRecord;
  const protection = (over: Partial<import("../../bindings").Protection>): import("../../bindings").Protection => ({
    project: "shop",
    newest_backup: "b1",
    copies: 2,
    media: 1,
    offsite: false,
    meets_321: false,
    destinations: 1,
    pending: [],
    notes: ["usb is on the same disk as the local backups: one medium, not two"],
    summary: "2 copies on 1 medium, none offsite",
    ...over,
  });
  it("is amber with the engine's reason when the copies say the destination counts less (not green beside 'same disk')", async () => {
    const { destinationsCard } = await import("./ProtectionTab");
    const c = destinationsCard({ status: "ready", data: [dest] }, { status: "ready", data: protection({}) });
    expect(c.light).toBe("warn");
    expect(c.line).toBe("1 destination · usb is on the same disk as the local backups: one medium, not two");
  });
  it("is green only when 3-2-1 is met, grey without destinations, amber when they cannot be read", async () => {
    const { destinationsCard } = await import("./ProtectionTab");
    const met = protection({ copies: 3, media: 2, offsite: true, meets_321: true, notes: [] });
    expect(destinationsCard({ status: "ready", data: [dest, dest] }, { status: "ready", data: met })).toEqual({ light: "ok", line: "2 destinations · 3-2-1 met" });
    expect(destinationsCard({ status: "ready", data: [] }, { status: "ready", data: met }).light).toBe("off");
    const err = { code: "internal", message: "x", hint: null, retryable: false } as never;
    expect(destinationsCard({ status: "error", error: err }, { status: "loading" }).light).toBe("warn");
    expect(destinationsCard({ status: "ready", data: [dest] }, { status: "loading" }).light).toBeUndefined();
    const noNotes = protection({ notes: [], media: 2, summary: "2 copies on 2 media, none offsite" });
    expect(destinationsCard({ status: "ready", data: [dest] }, { status: "ready", data: noNotes }).line).toBe(
      "1 destination · 2 copies on 2 separate disks, none away from this computer",
    );
  });
});
