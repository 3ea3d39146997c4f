import { describe, expect, it } from "vitest";
import type { JobFinished } from "../bindings";
import { backup } from "../screens/fixtures";
import { catalogChanges, changesOfJob } from "./changes";

const finished = (over: Partial<JobFinished>): JobFinished => ({
  job_id: "job-1",
  kind: "backup",
  ok: true,
  error: null,
  result: null,
  ...over,
});

describe("the change adapter's stand-in (job-finished → changes)", () => {
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

  it("feeds the store from the store's own job-finished fan-out (no listener of its own)", async () => {
    const batches: unknown[] = [];
    let fanOut: ((f: JobFinished) => void) | null = null;
    const stop = await catalogChanges.listen(
      (c) => batches.push(c),
      (cb) => {
        fanOut = cb;
        return () => (fanOut = null);
      },
    );
    fanOut!(finished({ result: { kind: "backup", backup: backup(0) } }));
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ reloadAll: false, changes: [{ entity: "job" }, { entity: "backup" }] });
    stop();
    expect(fanOut).toBeNull();
  });
});
