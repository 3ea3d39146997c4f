import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import { diffApi } from "./api";

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
});
