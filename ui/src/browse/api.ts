// The browse screen's calls, through the generated commands, and the engine's shapes as the
// screen shows them.
import { type BackupSelection, commands, type ObjectInfo, type ObjectPreview, type RowPage, type TableInfo } from "../bindings";
import { call } from "../ipc/call";
import type { BrowseApi, ObjectsPage } from "./BrowseScreen";
import type { ObjectEntry, Preview } from "./ObjectList";
import type { TableEntry } from "./TableList";
import type { RowsPage } from "./TablePager";

/** How many storage objects the screen asks for at a time ("Show more" asks for the next ones). */
export const OBJECTS_PAGE = 200;

export function tableEntry(t: TableInfo, note: string | null): TableEntry {
  return {
    schema: t.schema,
    name: t.name,
    rows: t.rows,
    bytes: t.data_bytes,
    unreadable: t.readable ? null : (note ?? "its rows cannot be read from this archive"),
  };
}

const list = (names: string[] | undefined) => (names ?? []).join(", ");
const plural = (names: string[] | undefined, one: string, many: string) => ((names ?? []).length === 1 ? one : many);

/**
 * What a selective backup left out, one plain phrase each (empty: the whole database). "Only
 * these" lists are said as everything else being left out.
 */
export function leftOut(s: BackupSelection | null | undefined): string[] {
  if (!s) return [];
  const out: string[] = [];
  if ((s.schemas ?? []).length > 0) out.push(`every schema except ${list(s.schemas)}`);
  if ((s.exclude_schemas ?? []).length > 0) out.push(`${plural(s.exclude_schemas, "the schema", "the schemas")} ${list(s.exclude_schemas)}`);
  if ((s.tables ?? []).length > 0) out.push(`every table except ${list(s.tables)}`);
  if ((s.exclude_tables ?? []).length > 0) out.push(`${plural(s.exclude_tables, "the table", "the tables")} ${list(s.exclude_tables)}`);
  if ((s.exclude_table_data ?? []).length > 0)
    out.push(
      `the rows of ${list(s.exclude_table_data)} (${plural(s.exclude_table_data, "the table is", "the tables are")} in the backup, empty)`,
    );
  return out;
}

export function rowsPage(p: RowPage): RowsPage {
  // Older engines sent names only: their columns have no type.
  const types: (string | null)[] = p.column_types ?? [];
  const page: RowsPage = { columns: p.columns.map((name, i) => ({ name, type: types[i] ?? null })), rows: p.rows, offset: p.offset, more: p.more };
  if (p.types_note) page.typesNote = p.types_note;
  if ((p.key ?? []).length > 0) {
    page.key = p.key ?? [];
    page.rowKeys = p.row_keys ?? [];
  }
  return page;
}

export function preview(p: ObjectPreview): Preview {
  if (p.kind === "text" && p.text !== null) return { kind: "text", text: p.text, truncated: p.truncated };
  if (p.kind === "image" && p.image_base64 !== null)
    return { kind: "image", mime: p.content_type ?? "", data_base64: p.image_base64 };
  return { kind: "none", reason: p.note ?? "No preview for this object: save it to open it." };
}

const objectEntry = (x: ObjectInfo): ObjectEntry => ({ bucket: x.bucket, key: x.key, size: x.size, content_type: x.content_type });

/** A page of objects whose `bucket/key` contains `search` (case-insensitive; "" for all). */
async function objects(archive: string, search: string, offset: number, limit: number) {
  const r = await call(commands.browseObjects(archive, { bucket: null, prefix: null, search: search === "" ? null : search, offset, limit }));
  if (!r.ok) return r;
  const page: ObjectsPage = { objects: r.data.objects.map(objectEntry), total: r.data.total, more: r.data.more };
  return { ok: true as const, data: page };
}

export const browseApi: BrowseApi = {
  contents: async (archive) => {
    const t = await call(commands.browseTables(archive));
    if (!t.ok) return t;
    const o = await objects(archive, "", 0, OBJECTS_PAGE);
    // A backup without storage has no objects to list (the engine says not_found).
    if (!o.ok && o.error.code !== "not_found") return o;
    const first = o.ok ? o.data.objects : [];
    const left = leftOut(t.data.selection);
    return {
      ok: true,
      data: {
        tables: t.data.tables.map((x) => tableEntry(x, t.data.note)),
        note: t.data.note,
        ...(left.length > 0 ? { leftOut: left } : {}),
        objects: first,
        moreObjects: o.ok ? Math.max(0, o.data.total - first.length) : 0,
      },
    };
  },
  rows: async (archive, schema, table, offset, limit, filter, equals) => {
    const r = await call(
      commands.browseRows(archive, schema, table, offset, limit, {
        contains: filter === "" ? null : filter,
        column_equals: equals ?? null,
      }),
    );
    return r.ok ? { ok: true, data: rowsPage(r.data) } : r;
  },
  objects,
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
