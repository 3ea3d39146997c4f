import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import type { JobFinished } from "../bindings";
import { backup } from "../screens/fixtures";
import { type ChangeBatch, catalogChanges, changesOfJob } from "./changes";

const finished = (over: Partial<JobFinished>): JobFinished => ({
  job_id: "job-1",
  kind: "backup",
  ok: true,
  error: null,
  result: null,
  ...over,
});

describe("the change adapter", () => {
  it("a backup names the job and the new backup of its project", () => {
    const b = backup(0);
    expect(changesOfJob(finished({ result: { kind: "backup", backup: b } }))).toEqual([
      { seq: 0, entity: "job", id: "job-1", project_id: "p-shop", op: "upsert" },
      { seq: 0, entity: "backup", id: b.id, project_id: "p-shop", op: "upsert" },
    ]);
  });

  it("an import into a new project names the project too; a failed job only the job", () => {
    const b = backup(0, { project_id: "p-new" });
    const changes = changesOfJob(
      finished({ kind: "import", result: { kind: "import", project: "new", created_project: true, backup: b } }),
    );
    expect(changes.map((c) => [c.entity, c.project_id])).toEqual([
      ["job", "p-new"],
      ["project", "p-new"],
      ["backup", "p-new"],
    ]);
    const failed = finished({ ok: false, error: { code: "connection", message: "refused", hint: null, retryable: true } });
    expect(changesOfJob(failed)).toEqual([{ seq: 0, entity: "job", id: "job-1", project_id: null, op: "upsert" }]);
  });

  it("delivers catalog-changed events, and this window's finished jobs from the store's fan-out", async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const batches: ChangeBatch[] = [];
    let fanOut: ((f: JobFinished) => void) | null = null;
    const stop = await catalogChanges.listen(
      (b) => batches.push(b),
      (cb) => {
        fanOut = cb;
        return () => (fanOut = null);
      },
    );
    expect(catalogChanges.complete).toBe(true);
    const change = { seq: 3, entity: "backup" as const, id: "b-1", project_id: "p-shop", op: "delete" as const };
    await emit("catalog-changed", { changes: [change], reload_all: false });
    await emit("catalog-changed", { changes: [], reload_all: true });
    fanOut!(finished({ result: { kind: "backup", backup: backup(0) } }));
    expect(batches).toEqual([
      { changes: [change], reloadAll: false },
      { changes: [], reloadAll: true },
      { changes: changesOfJob(finished({ result: { kind: "backup", backup: backup(0) } })), reloadAll: false },
    ]);
    stop();
    expect(fanOut).toBeNull();
    await emit("catalog-changed", { changes: [change], reload_all: false });
    expect(batches).toHaveLength(3);
  });
});
