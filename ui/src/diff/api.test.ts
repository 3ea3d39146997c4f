import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it, vi } from "vitest";
import type { JobFinished } from "../bindings";
import type { AppStore, JobHandlers } from "../store";
import { diffApiWith } from "./api";

/** A store that finishes every followed job with `finished` (and records cancels). */
function storeFinishing(finished: Omit<JobFinished, "job_id">) {
  const cancel = vi.fn(() => Promise.resolve(true));
  const store = {
    ready: () => Promise.resolve(),
    follow: (jobId: string, h: JobHandlers) => {
      setTimeout(() => h.onFinished({ ...finished, job_id: jobId }), 0);
      return () => {};
    },
    cancel,
  } as unknown as AppStore;
  return { store, cancel };
}

const diffApi = diffApiWith(storeFinishing({ kind: "restore", ok: true, error: null, result: null }).store);

const orders = {
  schema: "public",
  table: "orders",
  status: "changed",
  compared_by: "primary_key",
  key: ["id"],
  rows_from: 3,
  rows_to: 3,
  added: 0,
  removed: 0,
  changed: 1,
  unchanged: 2,
  columns_added: [],
  columns_removed: [],
  columns_retyped: [],
  bytes_read: 60,
  rows: [{ kind: "changed", key: [{ column: "id", value: "2" }], columns: [{ column: "note", before: null, after: "x" }] }],
  rows_offset: 50,
  rows_more: false,
  note: null,
};

describe("diff api", () => {
  it("asks the engine for one table's page of changed rows, and for every table without rows", async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === "diff_backups") return { from: "a", to: "b", tables: [orders], bytes_read: 60, notes: [] };
      throw new Error(cmd);
    });
    const r = await diffApi.rows("b1", "shop:live", "public", "orders", 50, 50, "t1");
    expect(r).toEqual({ ok: true, data: orders });
    expect(calls[0]).toEqual({
      cmd: "diff_backups",
      args: { from: "b1", to: "shop:live", options: { tables: [{ schema: "public", table: "orders" }], rows: true, offset: 50, limit: 50 }, ticket: "t1" },
    });
    await diffApi.compare("b1", "b2", "t2");
    expect(calls[1]!.args).toEqual({ from: "b1", to: "b2", options: { tables: [], rows: false, offset: 0, limit: 0 }, ticket: "t2" });
  });

  it("passes the engine's error on", async () => {
    mockIPC(() => {
      throw { code: "not_found", message: "no table public.nope in either side of the diff", hint: null, retryable: false };
    });
    const r = await diffApi.rows("b1", "b2", "public", "nope", 0, 50, "t3");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe("not_found");
  });

  it("makes a point in time by the engine's job and gives its archive's path; a failed job gives its error", async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === "start_open_at") return "job-1";
      if (cmd === "close_at") return true;
      throw new Error(cmd);
    });
    const state = {
      project: "shop",
      at: "2026-11-26T06:00:00Z",
      base_backup_id: "b1",
      base_at: "2026-11-26T05:00:00Z",
      commit_at: null,
      commit_lsn: null,
      transactions: 0,
      changes: 0,
    };
    const made = storeFinishing({ kind: "restore", ok: true, error: null, result: { kind: "at_state", archive: "/tmp/at/shop.tar", state } as never });
    const started = vi.fn();
    const r = await diffApiWith(made.store).openAt!("shop", "2026-11-26T06:00:00Z", started);
    expect(r).toEqual({ ok: true, data: "/tmp/at/shop.tar" });
    expect(calls[0]).toEqual({ cmd: "start_open_at", args: { project: "shop", at: "2026-11-26T06:00:00Z" } });
    // The cancel it was given cancels that job.
    (started.mock.calls[0]![0] as () => void)();
    expect(made.cancel).toHaveBeenCalledWith("job-1");
    await diffApiWith(made.store).closeAt!("/tmp/at/shop.tar");
    expect(calls[1]).toEqual({ cmd: "close_at", args: { archive: "/tmp/at/shop.tar" } });

    const error = { code: "not_found" as const, message: "no window holds that time; nearest: 06:01:00", hint: null, retryable: false };
    const failed = storeFinishing({ kind: "restore", ok: false, error, result: null });
    expect(await diffApiWith(failed.store).openAt!("shop", "2026-11-26T06:00:00Z")).toEqual({ ok: false, error });
  });
});
