import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import { browseApi, leftOut, preview } from "./api";

describe("browse api", () => {
  it("lists tables and objects; a backup without storage has no objects", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "browse_tables")
        return {
          backup_id: "b1",
          project: "shop",
          created_at: "2026-11-24T04:00:00Z",
          readable: true,
          note: null,
          schemas: ["public"],
          tables: [{ schema: "public", name: "orders", rows: 3, data_bytes: 30, columns: ["id"], readable: true }],
        };
      if (cmd === "browse_objects") throw { code: "not_found", message: "no storage objects", hint: null, retryable: false };
      throw new Error(cmd);
    });
    const r = await browseApi.contents("/b/shop.tar.gz");
    expect(r).toEqual({
      ok: true,
      data: {
        tables: [{ schema: "public", name: "orders", rows: 3, bytes: 30, unreadable: null }],
        note: null,
        objects: [],
        moreObjects: 0,
      },
    });
    expect(calls).toEqual(["browse_tables", "browse_objects"]);
  });

  it("says what a selective backup left out, in plain words", async () => {
    mockIPC((cmd) => {
      if (cmd === "browse_tables")
        return {
          backup_id: "b1",
          project: "shop",
          created_at: "2026-11-24T04:00:00Z",
          readable: true,
          note: null,
          schemas: ["public"],
          tables: [{ schema: "public", name: "orders", rows: 3, data_bytes: 30, columns: ["id"], readable: true }],
          selection: { exclude_schemas: ["audit"], exclude_tables: ["public.events", "public.sessions"], exclude_table_data: ["public.logs"] },
        };
      throw { code: "not_found", message: "no storage objects", hint: null, retryable: false };
    });
    const r = await browseApi.contents("/b/shop.tar.gz");
    expect(r.ok && r.data.leftOut).toEqual([
      "the schema audit",
      "the tables public.events, public.sessions",
      "the rows of public.logs (the table is in the backup, empty)",
    ]);
    expect(leftOut({ schemas: ["public", "sales"], tables: ["public.orders"] })).toEqual([
      "every schema except public, sales",
      "every table except public.orders",
    ]);
    expect(leftOut({})).toEqual([]);
    expect(leftOut(null)).toEqual([]);
  });

  it("sends the filter as `contains` and maps the page", async () => {
    let sent: unknown = null;
    mockIPC((_cmd, args) => {
      sent = args;
      return { schema: "public", table: "t", columns: ["id", "v"], rows: [["1", null]], offset: 50, more: false, scanned: 51, total_rows: 51, cut_values: false };
    });
    const r = await browseApi.rows("/a", "public", "t", 50, 50, "x");
    expect(sent).toEqual({ archive: "/a", schema: "public", table: "t", offset: 50, limit: 50, filter: { contains: "x", column_equals: null } });
    expect(r).toEqual({ ok: true, data: { columns: [{ name: "id", type: null }, { name: "v", type: null }], rows: [["1", null]], offset: 50, more: false } });
  });

  it("asks for objects by name, page by page, and maps column types", async () => {
    let sent: unknown = null;
    mockIPC((cmd, args) => {
      sent = args;
      if (cmd === "browse_objects")
        return {
          buckets: [],
          objects: [{ bucket: "b", key: "k/1", size: 3, content_type: null, last_modified: null, sha256: "00", in_archive: true, preview: "none" }],
          total: 700,
          offset: 600,
          more: true,
        };
      return {
        schema: "public",
        table: "t",
        columns: ["id", "v"],
        column_types: ["integer", null],
        types_note: "no type is shown for \"v\"",
        rows: [],
        offset: 0,
        more: false,
        scanned: 0,
        total_rows: 0,
        cut_values: false,
      };
    });
    const o = await browseApi.objects("/a", "k/", 600, 200);
    expect(sent).toEqual({ archive: "/a", query: { bucket: null, prefix: null, search: "k/", offset: 600, limit: 200 } });
    expect(o).toEqual({ ok: true, data: { objects: [{ bucket: "b", key: "k/1", size: 3, content_type: null }], total: 700, more: true } });
    await browseApi.objects("/a", "", 0, 200);
    expect(sent).toEqual({ archive: "/a", query: { bucket: null, prefix: null, search: null, offset: 0, limit: 200 } });
    const r = await browseApi.rows("/a", "public", "t", 0, 50, "");
    expect(r).toEqual({
      ok: true,
      data: {
        columns: [
          { name: "id", type: "integer" },
          { name: "v", type: null },
        ],
        rows: [],
        offset: 0,
        more: false,
        typesNote: 'no type is shown for "v"',
      },
    });
  });

  it("maps previews, saying why there is none", () => {
    const base = { bucket: "b", key: "k", size: 1, content_type: "image/png", text: null, image_base64: null, truncated: false, note: null };
    expect(preview({ ...base, kind: "image", image_base64: "AA==" })).toEqual({ kind: "image", mime: "image/png", data_base64: "AA==" });
    expect(preview({ ...base, kind: "text", text: "hi", truncated: true })).toEqual({ kind: "text", text: "hi", truncated: true });
    expect(preview({ ...base, kind: "none", note: "too large to preview" })).toEqual({ kind: "none", reason: "too large to preview" });
  });
});
