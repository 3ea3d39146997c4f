import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { JobRecord } from "../bindings";
import { StoreProvider } from "../store";
import { backup, summary } from "./fixtures";
import { backupState, ProjectsHome } from "./ProjectsHome";
import { AppSettingsProvider } from "../settings/appSettings";

function renderHome(onAdd = vi.fn(), onOpen = vi.fn()) {
  render(
    <StoreProvider>
      <ProjectsHome onAdd={onAdd} onOpen={onOpen} />
    </StoreProvider>,
  );
  return { onAdd, onOpen };
}

const failedJob = (startedAt: string): JobRecord => ({
  id: "j1",
  project_id: "p-shop",
  kind: "backup",
  state: "failed",
  started_at: startedAt,
  finished_at: startedAt,
  bytes_done: 0,
  bytes_total: null,
  error_code: "connection",
  error_message: "refused",
  error_hint: null,
  backup_id: null,
});

describe("ProjectsHome", () => {
  it("invites to add the first project when there is none", async () => {
    mockIPC((cmd) => {
      if (cmd === "list_projects" || cmd === "list_jobs") return [];
      throw new Error(`unexpected command ${cmd}`);
    });
    const { onAdd } = renderHome();
    const empty = await screen.findByTestId("empty-state");
    expect(empty).toHaveTextContent("No projects yet");
    fireEvent.click(within(empty).getByTestId("add-project"));
    expect(onAdd).toHaveBeenCalledOnce();
  });

  it("says on each card whether the project is proven restorable, and names a failed drill's check", async () => {
    const now = Date.now();
    const drill = (days: number, verdict: "passed" | "failed") => ({
      id: `d${days}`,
      backup_id: "backup-0",
      started_at: new Date(now - days * 86400_000 - 300_000).toISOString(),
      finished_at: new Date(now - days * 86400_000).toISOString(),
      verdict,
      rto_seconds: 240,
      failed_check_id: verdict === "failed" ? "table:public.orders" : null,
      failed_check_title: verdict === "failed" ? "Table public.orders" : null,
      report_path: null,
    });
    mockIPC((cmd) => {
      if (cmd === "list_projects")
        return [
          { ...summary("shop", null), last_drill: drill(3, "passed"), last_passed_drill: drill(3, "passed") },
          { ...summary("blog", null), last_drill: drill(2, "failed"), last_passed_drill: null },
          summary("wiki", null),
        ];
      if (cmd === "list_jobs") return [];
      throw new Error(`unexpected command ${cmd}`);
    });
    renderHome();
    const cards = await screen.findAllByTestId("project-card");
    const line = (i: number) => within(cards[i]!).getByTestId("project-proven");
    expect(line(0)).toHaveTextContent("Proven restorable 3 days ago · RTO 4 min");
    expect(line(0)).toHaveAttribute("data-state", "proven");
    expect(line(1)).toHaveTextContent("Last drill failed 2 days ago: Table public.orders");
    expect(line(2)).toHaveTextContent("Never proven");
  });

  it("shows one card per project with host, last backup and state", async () => {
    const now = Date.now();
    const fresh = backup(0, { created_at: new Date(now - 3600_000).toISOString(), size: 5 * 1024 * 1024 });
    mockIPC((cmd) => {
      if (cmd === "list_projects") return [summary("shop", fresh), summary("blog", null)];
      if (cmd === "list_jobs") return [];
      throw new Error(`unexpected command ${cmd}`);
    });
    const { onOpen } = renderHome();
    const cards = await screen.findAllByTestId("project-card");
    expect(cards).toHaveLength(2);
    const [shop, blog] = cards as [HTMLElement, HTMLElement];
    expect(shop).toHaveAttribute("data-state", "ok");
    expect(within(shop).getByTestId("project-host")).toHaveTextContent("db.shop.example.com:5432");
    expect(within(shop).getByTestId("project-last-backup")).toHaveTextContent("1 hour ago · 5.0 MiB");
    expect(blog).toHaveAttribute("data-state", "never");
    expect(within(blog).getByTestId("project-state")).toHaveTextContent("Never backed up");
    expect(within(blog).getByTestId("backup-now-blog")).toBeEnabled();
    fireEvent.click(within(shop).getByTestId("project-open-shop"));
    expect(onOpen).toHaveBeenCalledWith("shop");
  });

  it("marks a project whose last backup job failed, titled by the error code", async () => {
    const recent = backup(0, { created_at: new Date(Date.now() - 3 * 3600_000).toISOString() });
    mockIPC((cmd) => {
      if (cmd === "list_projects") return [summary("shop", recent)];
      if (cmd === "list_jobs") return [failedJob(new Date(Date.now() - 60_000).toISOString())];
      throw new Error(`unexpected command ${cmd}`);
    });
    renderHome();
    const card = await screen.findByTestId("project-card");
    expect(card).toHaveAttribute("data-state", "failed");
    const error = within(card).getByTestId("project-last-error");
    expect(error).toHaveAttribute("data-code", "connection");
    expect(error).toHaveTextContent("Cannot reach the server");
    expect(error).toHaveAttribute("title", "refused");
  });

  it("shows the list error with its hint", async () => {
    mockIPC(() => Promise.reject({ code: "catalog", message: "database is locked", hint: "close other copies", retryable: true }));
    renderHome();
    const error = await screen.findByTestId("projects-error");
    expect(error).toHaveAttribute("data-code", "catalog");
    expect(error).toHaveTextContent("close other copies");
    expect(screen.getByTestId("projects-error-retry")).toBeInTheDocument();
  });

  it("derives ok, stale, failed and never", () => {
    const now = Date.parse("2026-11-21T12:00:00Z");
    const recent = backup(0, { created_at: "2026-11-21T10:00:00Z" });
    const old = backup(0, { created_at: "2026-11-10T10:00:00Z" });
    expect(backupState(summary("shop", null), null, now)).toBe("never");
    expect(backupState(summary("shop", recent), null, now)).toBe("ok");
    expect(backupState(summary("shop", old), null, now)).toBe("stale");
    expect(backupState(summary("shop", backup(0, { status: "corrupt", created_at: recent.created_at })), null, now)).toBe(
      "failed",
    );
    expect(backupState(summary("shop", recent), failedJob("2026-11-21T11:00:00Z"), now)).toBe("failed");
    expect(backupState(summary("shop", recent), failedJob("2026-11-21T09:00:00Z"), now)).toBe("ok");
  });

  it("is stale at the configured number of days, not before", () => {
    const day = 24 * 3600 * 1000;
    const created = "2026-11-10T12:00:00Z";
    const t = Date.parse(created);
    const s = summary("shop", backup(0, { created_at: created }));
    // Default: 2 days.
    expect(backupState(s, null, t + 2 * day - 1)).toBe("ok");
    expect(backupState(s, null, t + 2 * day)).toBe("stale");
    expect(backupState(s, null, t + 7 * day - 1, 7)).toBe("ok");
    expect(backupState(s, null, t + 7 * day, 7)).toBe("stale");
    expect(backupState(s, null, t + day, 1)).toBe("stale");
  });

  it("uses the saved stale_after_days for the cards", async () => {
    const threeDaysOld = backup(0, { created_at: new Date(Date.now() - 3 * 24 * 3600_000).toISOString() });
    mockIPC((cmd) => {
      if (cmd === "list_projects") return [summary("shop", threeDaysOld)];
      if (cmd === "list_jobs") return [];
      throw new Error(`unexpected command ${cmd}`);
    });
    const settings = {
      notifications: true,
      start_minimised: false,
      schedule_notifications: "always" as const,
      schedule_concurrency: 1,
      theme: "system" as const,
      stale_after_days: 5,
      default_backup_dir: null,
      pg_bin: null,
    };
    let resolve: (days: number) => void = () => {};
    const load = () =>
      new Promise<{ status: "ok"; data: typeof settings }>((r) => {
        resolve = (days) => r({ status: "ok", data: { ...settings, stale_after_days: days } });
      });
    render(
      <AppSettingsProvider load={load}>
        <StoreProvider>
          <ProjectsHome onAdd={vi.fn()} onOpen={vi.fn()} />
        </StoreProvider>
      </AppSettingsProvider>,
    );
    // Before the settings arrive: the default 2 days, so a 3-day-old backup is stale.
    expect(await screen.findByTestId("project-card")).toHaveAttribute("data-state", "stale");
    resolve(5);
    await waitFor(() => expect(screen.getByTestId("project-card")).toHaveAttribute("data-state", "ok"));
  });

  it("offers Settings in the toolbar and in the empty state", async () => {
    mockIPC((cmd) => {
      if (cmd === "list_projects" || cmd === "list_jobs") return [];
      throw new Error(`unexpected command ${cmd}`);
    });
    const onSettings = vi.fn();
    render(
      <StoreProvider>
        <ProjectsHome onAdd={vi.fn()} onOpen={vi.fn()} onSettings={onSettings} />
      </StoreProvider>,
    );
    await screen.findByTestId("empty-state");
    fireEvent.click(screen.getByTestId("open-settings"));
    expect(onSettings).toHaveBeenCalledOnce();
  });
  it("shows each card's schedule state, next run and an overdue badge", async () => {
    const now = Date.now();
    const old = backup(0, { created_at: new Date(now - 3 * 86400_000).toISOString() });
    mockIPC((cmd) => {
      if (cmd === "list_projects") return [summary("shop", old), summary("blog", null), summary("docs", null)];
      if (cmd === "list_jobs") return [];
      if (cmd === "project_status") {
        return [
          { name: "shop", last_good: old.created_at, next_run: "2026-11-22T01:30:00Z", overdue: true, schedule: "daily 02:30", paused: false },
          { name: "blog", last_good: null, next_run: null, overdue: false, schedule: "every 6h", paused: true },
          { name: "docs", last_good: null, next_run: null, overdue: false, schedule: null, paused: false },
        ];
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    renderHome();
    await waitFor(() => expect(screen.getAllByTestId("project-schedule")).toHaveLength(3));
    const [shop, blog, docs] = screen.getAllByTestId("project-card") as [HTMLElement, HTMLElement, HTMLElement];
    expect(shop).toHaveAttribute("data-overdue", "true");
    expect(within(shop).getByTestId("project-overdue")).toHaveTextContent("Overdue");
    expect(within(shop).getByTestId("project-schedule-state")).toHaveAttribute("data-state", "on");
    expect(within(shop).getByTestId("project-next-run")).toHaveAttribute("title", "2026-11-22T01:30:00Z");
    expect(within(blog).queryByTestId("project-overdue")).not.toBeInTheDocument();
    expect(within(blog).getByTestId("project-schedule-state")).toHaveAttribute("data-state", "paused");
    expect(within(blog).queryByTestId("project-next-run")).not.toBeInTheDocument();
    expect(within(docs).getByTestId("project-schedule-state")).toHaveAttribute("data-state", "none");
    expect(docs).toHaveAttribute("data-overdue", "false");
  });

  it("refreshes the schedule line when the catalog says a project changed (the CLI set a schedule)", async () => {
    let scheduled = false;
    mockIPC(
      (cmd) => {
        if (cmd === "list_projects") return [summary("shop", null)];
        if (cmd === "get_project") return summary("shop", null);
        if (cmd === "list_jobs") return [];
        if (cmd === "project_status") {
          return [
            scheduled
              ? { name: "shop", last_good: null, next_run: "2026-11-22T01:30:00Z", overdue: false, schedule: "daily 02:30", paused: false }
              : { name: "shop", last_good: null, next_run: null, overdue: false, schedule: null, paused: false },
          ];
        }
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    renderHome();
    const state = await screen.findByTestId("project-schedule-state");
    expect(state).toHaveAttribute("data-state", "none");
    scheduled = true;
    await emit("catalog-changed", {
      changes: [{ seq: 9, entity: "project", id: "p-shop", project_id: "p-shop", op: "upsert" }],
      reload_all: false,
    });
    await waitFor(() => expect(screen.getByTestId("project-schedule-state")).toHaveAttribute("data-state", "on"));
    expect(screen.getByTestId("project-next-run")).toBeInTheDocument();
  });
});
