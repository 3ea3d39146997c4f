// The store seen from the screens: freshness without any action, and one job-event subscription.
import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, render, screen, waitFor } from "@testing-library/react";
import { StrictMode } from "react";
import { describe, expect, it, vi } from "vitest";
import type { BackupRow, CatalogChanged, ProjectSummary } from "../bindings";
import { JobPanel } from "../components/JobPanel";
import { healthWith, overview, overviewOf } from "../dashboard/fixtures";
import { backup, summary } from "../screens/fixtures";
import { ProjectPage } from "../screens/ProjectPage";
import { ProjectsHome } from "../screens/ProjectsHome";
import { RestoreWizard } from "../wizard/RestoreWizard";
import type { Change, ChangeSource } from "./changes";
import { StoreProvider, useHealth, useLiveJobs } from "./hooks";
import { AppStore } from "./store";

const row = (i: number): BackupRow => {
  const b = backup(i);
  return {
    id: b.id,
    path: b.path,
    size: b.size,
    backup_type: b.backup_type,
    created_at: b.created_at,
    verified_at: null,
    status: "unverified",
    verify_problem: null,
  };
};

describe("screens on the store", () => {
  it("a backup made elsewhere appears on the open project page without any other action", async () => {
    let backups: BackupRow[] = [row(1), row(2)];
    let shop: ProjectSummary = summary("shop", backup(1), 2);
    const calls: string[] = [];
    mockIPC(
      (cmd) => {
        calls.push(cmd);
        switch (cmd) {
          case "get_project":
            return shop;
          case "list_backups":
            return backups;
          case "list_jobs":
            return [];
          case "list_destinations":
          case "list_copies":
          case "list_safety_backups":
            return [];
          case "get_protection":
            return { project: "shop", newest_backup: null, copies: 1, media: 1, offsite: false, meets_321: false, destinations: 0, pending: [], summary: "" };
          case "health":
            return overview([healthWith("shop", "one_copy")]);
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    let push: (changes: Change[]) => void = () => {};
    const source: ChangeSource = {
      complete: true,
      listen: async (onBatch) => {
        push = (changes) => onBatch({ changes, reloadAll: false });
        return () => {};
      },
    };
    const store = new AppStore({ changes: source, coalesceMs: 10 });
    render(
      <StoreProvider store={store}>
        <ProjectPage name="shop" onBack={vi.fn()} />
      </StoreProvider>,
    );
    await waitFor(() => expect(screen.getAllByTestId("backups-row")).toHaveLength(2));
    expect(screen.getByTestId("backup-count")).toHaveTextContent("2");

    // Once subscribed, the store fetches once more what it loaded before (see store.test.ts):
    // let that settle so the calls below are only the change's.
    await act(() => store.ready());
    await act(() => new Promise((r) => setTimeout(r, 60)));
    // The timeline's first retention forecast and drills (asked once the list arrived) are not the change's.
    await waitFor(() => expect(calls).toContain("list_drills"));
    await act(() => new Promise((r) => setTimeout(r, 60)));

    // The CLI (another process) writes a backup of shop; the catalog reports it.
    backups = [row(0), ...backups];
    shop = summary("shop", backup(0), 3);
    calls.length = 0;
    act(() => push([{ seq: 41, entity: "backup", id: "backup-0", project_id: "p-shop", op: "upsert" }]));

    await waitFor(() => expect(screen.getAllByTestId("backups-row")).toHaveLength(3));
    expect(screen.getByTestId("backup-count")).toHaveTextContent("3");
    expect(screen.getAllByTestId("backups-row")[0]!.querySelector("[data-backup-id]")).toHaveAttribute("data-backup-id", "backup-0");
    // The page's 3-2-1 view and "where it lives" follow the backups too (issue 25), and the
    // timeline's proven badges (the drills), and the safety backups listed under it (a restore
    // that replaced the database adds one), and the header's checklist (the engine's health),
    // and the Backups tab's statistics line.
    expect(calls.sort()).toEqual([
      "backup_stats",
      "get_project",
      "get_protection",
      "health",
      "list_backups",
      "list_copies",
      "list_drills",
      "list_safety_backups",
      "removal_forecast",
    ]);
  });

  it("shows a backup the catalog-changed event names on the open project page (the app's own adapter)", async () => {
    let backups: BackupRow[] = [row(1)];
    mockIPC(
      (cmd) => {
        switch (cmd) {
          case "get_project":
            return summary("shop", backup(1), backups.length);
          case "list_backups":
            return backups;
          case "list_jobs":
            return [];
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    render(
      <StoreProvider>
        <ProjectPage name="shop" onBack={vi.fn()} />
      </StoreProvider>,
    );
    await waitFor(() => expect(screen.getAllByTestId("backups-row")).toHaveLength(1));
    backups = [row(0), ...backups];
    const event: CatalogChanged = {
      changes: [
        { seq: 7, entity: "job", id: "cli-job", project_id: "p-shop", op: "upsert" },
        { seq: 8, entity: "backup", id: "backup-0", project_id: "p-shop", op: "upsert" },
      ],
      reload_all: false,
    };
    await act(() => emit("catalog-changed", event));
    await waitFor(() => expect(screen.getAllByTestId("backups-row")).toHaveLength(2));
    expect(screen.getByTestId("backup-count")).toHaveTextContent("2");
  });

  it("registers one job-event listener however many components use jobs", async () => {
    const listening: Record<string, number> = {};
    mockIPC((cmd, raw) => {
      const args = (raw ?? {}) as { event?: string };
      switch (cmd) {
        case "plugin:event|listen":
          listening[args.event ?? "?"] = (listening[args.event ?? "?"] ?? 0) + 1;
          return Object.values(listening).reduce((a, b) => a + b, 0);
        case "plugin:event|unlisten":
          listening[args.event ?? "?"] = (listening[args.event ?? "?"] ?? 0) - 1;
          return null;
        case "list_projects":
          return [summary("shop", backup(0)), summary("blog", null)];
        case "health":
          return overviewOf([summary("shop", backup(0)), summary("blog", null)]);
        case "get_project":
          return summary("shop", backup(0));
        case "list_backups":
          return [row(0)];
        case "list_jobs":
          return [];
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    });
    function LiveCount({ project }: { project?: string }) {
      return <span data-testid="live-count">{useLiveJobs(project).length}</span>;
    }
    const { unmount } = render(
      <StrictMode>
        <StoreProvider>
          <ProjectsHome onOpen={vi.fn()} onAdd={vi.fn()} />
          <ProjectPage name="shop" onBack={vi.fn()} />
          <JobPanel project="shop" />
          <JobPanel project="blog" />
          <JobPanel />
          <LiveCount />
          <LiveCount project="shop" />
          <RestoreWizard project="shop" onClose={vi.fn()} />
        </StoreProvider>
      </StrictMode>,
    );
    await screen.findAllByTestId("project-card");
    await screen.findAllByTestId("wizard-backup-option");
    await waitFor(() => expect(listening).toEqual({ "job-progress": 1, "job-finished": 1, "job-started": 1, "catalog-changed": 1 }));
    unmount();
    await waitFor(() => expect(listening).toEqual({ "job-progress": 0, "job-finished": 0, "job-started": 0, "catalog-changed": 0 }));
  });

  it("the dashboard's health is fetched again whenever the catalog names a project, backup, job or drill", async () => {
    let fetched = 0;
    mockIPC(
      (cmd) => {
        if (cmd === "health") {
          fetched += 1;
          return { summary: `fetch ${fetched}`, worst: "protected", projects: [] };
        }
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    function Summary() {
      const h = useHealth();
      return <span data-testid="summary">{h.status === "ready" ? h.data.summary : h.status}</span>;
    }
    render(
      <StoreProvider options={{ coalesceMs: 0 }}>
        <Summary />
      </StoreProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("summary")).toHaveTextContent("fetch 1"));
    const entities = ["project", "backup", "job", "drill"] as const;
    for (const [i, entity] of entities.entries()) {
      const event: CatalogChanged = {
        changes: [{ seq: 10 + i, entity, id: `x${i}`, project_id: "p-shop", op: "upsert" }],
        reload_all: false,
      };
      await act(() => emit("catalog-changed", event));
      await waitFor(() => expect(screen.getByTestId("summary")).toHaveTextContent(`fetch ${i + 2}`));
    }
  });
});
