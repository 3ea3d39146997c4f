// The browse screen's calls, through the generated commands, and the engine's shapes as the
// screen shows them.
import { commands, type ObjectPreview, type RowPage, type TableInfo } from "../bindings";
import { call } from "../ipc/call";
import type { BrowseApi } from "./BrowseScreen";
import type { Preview } from "./ObjectList";
import type { TableEntry } from "./TableList";
import type { RowsPage } from "./TablePager";

/** How many storage objects the screen lists. */
export const OBJECTS_SHOWN = 500;

export function tableEntry(t: TableInfo, note: string | null): TableEntry {
  return {
    schema: t.schema,
    name: t.name,
    rows: t.rows,
    bytes: t.data_bytes,
    unreadable: t.readable ? null : (note ?? "its rows cannot be read from this archive"),
  };
}

export function rowsPage(p: RowPage): RowsPage {
  return { columns: p.columns.map((name) => ({ name, type: null })), rows: p.rows, offset: p.offset, more: p.more };
}

export function preview(p: ObjectPreview): Preview {
  if (p.kind === "text" && p.text !== null) return { kind: "text", text: p.text, truncated: p.truncated };
  if (p.kind === "image" && p.image_base64 !== null)
    return { kind: "image", mime: p.content_type ?? "", data_base64: p.image_base64 };
  return { kind: "none", reason: p.note ?? "No preview for this object: save it to open it." };
}

export const browseApi: BrowseApi = {
  contents: async (archive) => {
    const t = await call(commands.browseTables(archive));
    if (!t.ok) return t;
    const o = await call(commands.browseObjects(archive, { bucket: null, prefix: null, offset: 0, limit: OBJECTS_SHOWN }));
    // A backup without storage has no objects to list (the engine says not_found).
    if (!o.ok && o.error.code !== "not_found") return o;
    const objects = o.ok ? o.data.objects : [];
    return {
      ok: true,
      data: {
        tables: t.data.tables.map((x) => tableEntry(x, t.data.note)),
        note: t.data.note,
        objects: objects.map((x) => ({ bucket: x.bucket, key: x.key, size: x.size, content_type: x.content_type })),
        moreObjects: o.ok ? Math.max(0, o.data.total - objects.length) : 0,
      },
    };
  },
  rows: async (archive, schema, table, offset, limit, filter) => {
    const r = await call(
      commands.browseRows(archive, schema, table, offset, limit, { contains: filter === "" ? null : filter, column_equals: null }),
    );
    return r.ok ? { ok: true, data: rowsPage(r.data) } : r;
  },
  exportCsv: async (archive, schema, table) => {
    const r = await call(commands.exportTableCsv(archive, schema, table));
    return r.ok ? { ok: true, data: r.data?.path ?? null } : r;
  },
  preview: async (archive, bucket, key) => {
    const r = await call(commands.objectPreview(archive, bucket, key));
    return r.ok ? { ok: true, data: preview(r.data) } : r;
  },
  saveObject: async (archive, bucket, key) => {
    const r = await call(commands.saveObject(archive, bucket, key));
    return r.ok ? { ok: true, data: r.data?.path ?? null } : r;
  },
};
