import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { JobFilter, JobRecord } from "../bindings";
import { StoreProvider } from "../store";
import { summary } from "./fixtures";
import { History } from "./History";

const job = (id: string, over: Partial<JobRecord>): JobRecord => ({
  id,
  project_id: "p-shop",
  kind: "backup",
  state: "succeeded",
  started_at: "2026-11-21T10:00:00Z",
  finished_at: "2026-11-21T10:01:00Z",
  bytes_done: 1024,
  bytes_total: 1024,
  error_code: null,
  error_message: null,
  error_hint: null,
  backup_id: null,
  trigger: "manual",
  ...over,
});

const JOBS = [
  job("j1", { trigger: "schedule" }),
  job("j2", { project_id: "p-blog", state: "failed", error_code: "connection", error_message: "refused" }),
  job("j3", { kind: "prune", trigger: "retention" }),
];

function matches(j: JobRecord, f: JobFilter) {
  const project = f.project === "shop" ? "p-shop" : f.project === "blog" ? "p-blog" : null;
  return (
    (!project || j.project_id === project) &&
    (!f.kind || j.kind === f.kind) &&
    (!f.trigger || j.trigger === f.trigger) &&
    (!f.state || j.state === f.state)
  );
}

describe("History", () => {
  it("lists every job of every project and filters by project, kind, trigger and state", async () => {
    const filters: JobFilter[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "list_projects") return [summary("shop", null), summary("blog", null)];
      if (cmd === "job_history") {
        const f = (args as { filter: JobFilter }).filter;
        filters.push(f);
        return JOBS.filter((j) => matches(j, f));
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    const onBack = vi.fn();
    render(
      <StoreProvider>
        <History onBack={onBack} />
      </StoreProvider>,
    );
    await waitFor(() => expect(screen.getAllByTestId("history-row")).toHaveLength(3));
    await waitFor(() => expect(screen.getAllByTestId("history-row-project")[1]).toHaveTextContent("blog"));
    expect(filters[0]).toEqual({ project: null, kind: null, trigger: null, state: null, limit: null });

    fireEvent.change(screen.getByTestId("history-project"), { target: { value: "shop" } });
    await waitFor(() => expect(screen.getAllByTestId("history-row")).toHaveLength(2));
    fireEvent.change(screen.getByTestId("history-trigger"), { target: { value: "retention" } });
    await waitFor(() => expect(screen.getAllByTestId("history-row")).toHaveLength(1));
    const row = screen.getByTestId("history-row");
    expect(row).toHaveAttribute("data-kind", "prune");
    expect(row).toHaveTextContent("Retention");
    // (The store may also fetch again what it loaded before it subscribed: not necessarily last.)
    expect(filters).toContainEqual({ project: "shop", kind: null, trigger: "retention", state: null, limit: null });

    fireEvent.change(screen.getByTestId("history-project"), { target: { value: "" } });
    fireEvent.change(screen.getByTestId("history-trigger"), { target: { value: "" } });
    fireEvent.change(screen.getByTestId("history-state"), { target: { value: "failed" } });
    fireEvent.change(screen.getByTestId("history-kind"), { target: { value: "backup" } });
    await waitFor(() =>
      expect(filters).toContainEqual({ project: null, kind: "backup", trigger: null, state: "failed", limit: null }),
    );
    await waitFor(() => expect(screen.getAllByTestId("history-row")).toHaveLength(1));
    expect(within(screen.getByTestId("history-row")).getByTestId("history-row-project")).toHaveTextContent("blog");
    expect(screen.getByTestId("history-row")).toHaveTextContent("refused");

    fireEvent.change(screen.getByTestId("history-kind"), { target: { value: "restore" } });
    expect(await screen.findByTestId("history-empty")).toHaveTextContent("No job matches these filters");
    // The empty result offers the way back to every job: all four filters cleared.
    fireEvent.click(screen.getByTestId("history-clear"));
    await waitFor(() => expect(screen.getAllByTestId("history-row")).toHaveLength(3));
    for (const id of ["history-project", "history-kind", "history-trigger", "history-state"])
      expect(screen.getByTestId(id)).toHaveValue("");
    expect(screen.getByTestId("history-state")).toHaveTextContent("Succeeded");
    fireEvent.click(screen.getByTestId("back-home"));
    expect(onBack).toHaveBeenCalledOnce();
  });

  it("says what will appear when nothing has run yet, and leads back to the projects", async () => {
    mockIPC((cmd) => {
      if (cmd === "list_projects") return [];
      if (cmd === "job_history") return [];
      throw new Error(`unexpected command ${cmd}`);
    });
    const onBack = vi.fn();
    render(
      <StoreProvider>
        <History onBack={onBack} />
      </StoreProvider>,
    );
    const empty = await screen.findByTestId("history-empty");
    expect(empty).toHaveTextContent("No jobs yet");
    expect(empty).toHaveTextContent("a schedule or the command line");
    expect(screen.queryByTestId("history-clear")).toBeNull();
    fireEvent.click(within(empty).getByTestId("history-empty-back"));
    expect(onBack).toHaveBeenCalledOnce();
  });
});
