// The scheduler's jobs in the window (issue 64 item 6): `job-started` makes a job this window
// did not start a live job of its project — shown with its steps, named "Scheduled backup",
// cancellable — and its end is handled as the scheduler's: a success leaves no card (the lists
// and the notification say it), a failure stays and says why.
import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { JobFinished, JobProgress, JobStarted } from "../bindings";
import { FinishedView, kindLabel, ProgressView } from "../components/JobPanel";
import type { ChangeSource } from "./changes";
import { AppStore } from "./store";

const quiet: ChangeSource = { complete: true, listen: async () => () => {} };

let stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops) s();
  stops = [];
});

async function connected(): Promise<AppStore> {
  mockIPC(() => null, { shouldMockEvents: true });
  const store = new AppStore({ changes: quiet, coalesceMs: 20 });
  stops.push(store.connect());
  await store.ready();
  return store;
}

const started = (job_id: string, trigger: JobStarted["trigger"] = "schedule"): JobStarted => ({
  job_id,
  kind: "backup",
  project: "shop",
  trigger,
});

const progress = (job_id: string): JobProgress => ({
  job_id,
  phase: "dumping",
  bytes_done: 2048,
  bytes_total: null,
  bytes_per_sec: 1024,
  finished: false,
});

const finished = (job_id: string, ok: boolean): JobFinished => ({
  job_id,
  kind: "backup",
  ok,
  error: ok ? null : { code: "connection", message: "could not connect to shop's database", hint: null, retryable: true },
  result: null,
});

describe("the scheduler's jobs", () => {
  it("show under their project with their step, named as scheduled, and leave no card when they succeed", async () => {
    const store = await connected();
    await emit("job-started", started("s-1"));
    await emit("job-progress", progress("s-1"));
    await waitFor(() => expect(store.liveJob("s-1")?.progress?.phase).toBe("dumping"));
    const job = store.liveJob("s-1")!;
    expect(job).toMatchObject({ kind: "backup", project: "shop", startedBy: "schedule", phases: ["dumping"], finished: null });
    expect(kindLabel(job)).toBe("Scheduled backup");
    render(<ProgressView job={job} onCancel={() => {}} />);
    expect(screen.getByTestId("job-running")).toHaveTextContent("Scheduled backup");
    expect(screen.getByTestId("job-cancel")).toBeEnabled();

    await emit("job-finished", finished("s-1", true));
    await waitFor(() => expect(store.liveJob("s-1")).toBeNull());
    expect(store.liveJobs()).toEqual([]);
  });

  it("keep a failure on screen, saying why", async () => {
    const store = await connected();
    await emit("job-started", started("s-2", "catch_up"));
    await emit("job-finished", finished("s-2", false));
    await waitFor(() => expect(store.liveJob("s-2")?.finished?.ok).toBe(false));
    expect(store.liveJob("s-2")).toMatchObject({ project: "shop", startedBy: "catch_up" });
    expect(store.liveJob("s-2")?.finished?.error?.message).toBe("could not connect to shop's database");
  });

  it("a cancelled one says Cancelled once, with what to do next (not a box saying it twice more)", async () => {
    const store = await connected();
    await emit("job-started", started("s-4"));
    await emit("job-finished", {
      ...finished("s-4", false),
      error: { code: "cancelled", message: "cancelled", hint: "Nothing was kept; run it again when ready", retryable: false },
    });
    await waitFor(() => expect(store.liveJob("s-4")?.finished).not.toBeNull());
    render(<FinishedView job={store.liveJob("s-4")!} onDismiss={() => {}} />);
    const card = screen.getByTestId("job-finished");
    expect(card).toHaveTextContent(/^Scheduled backupCancelledDismissNothing was kept; run it again when ready\.$/);
    expect(card).toHaveClass("job-cancelled");
    expect(card).not.toHaveClass("job-failed");
    expect(screen.queryByTestId("job-error")).toBeNull();
  });

  it("the retention after a scheduled run is named by what it does, not as a schedule", async () => {
    const store = await connected();
    await emit("job-started", { ...started("s-3", "retention"), kind: "prune" });
    await waitFor(() => expect(store.liveJob("s-3")?.kind).toBe("prune"));
    expect(kindLabel(store.liveJob("s-3")!)).toBe("Remove old backups");
  });

  it("a job this window started keeps its card when it succeeds", async () => {
    mockIPC((cmd) => (cmd === "start_backup" ? "w-1" : null), { shouldMockEvents: true });
    const store = new AppStore({ changes: quiet, coalesceMs: 20 });
    stops.push(store.connect());
    await store.ready();
    expect(await store.startBackup("shop")).toEqual({ ok: true, id: "w-1" });
    await emit("job-finished", finished("w-1", true));
    await waitFor(() => expect(store.liveJob("w-1")?.finished?.ok).toBe(true));
    expect(kindLabel(store.liveJob("w-1")!)).toBe("Backup");
  });
});
