// The Diff view's calls, through the generated commands.
import { commands, type DiffReport } from "../bindings";
import { call } from "../ipc/call";
import type { DiffApi } from "./DiffScreen";

export const diffApi: DiffApi = {
  backups: async (project) => {
    const r = await call(commands.listBackups(project));
    if (!r.ok) return r;
    return { ok: true, data: r.data.map((b) => ({ id: b.id, created_at: b.created_at, path: b.path, backup_type: b.backup_type, size: b.size })) };
  },
  compare: (from, to, ticket) => call(commands.diffBackups(from, to, { tables: [], rows: false, offset: 0, limit: 0 }, ticket)),
  rows: async (from, to, schema, table, offset, limit, ticket) => {
    const r = await call(commands.diffBackups(from, to, { tables: [{ schema, table }], rows: true, offset, limit }, ticket));
    if (!r.ok) return r;
    const t = (r.data as DiffReport).tables[0];
    if (!t) return { ok: false, error: { code: "not_found", message: `${schema}.${table} is in neither side`, hint: null, retryable: false } };
    return { ok: true, data: t };
  },
  cancel: (ticket) => commands.cancelDiff(ticket),
};
