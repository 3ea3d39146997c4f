// What the drop preview shows about a file, whichever command read it: the UI's own view, not a
// copy of a Rust type. `inspectImport` (pg_dump files and project exports too) is used when the
// generated bindings have it; until then `inspectArchive` reads Offsite's own archives.
import { commands, type ErrorPayload, type Manifest } from "../bindings";
import { toErrorPayload } from "../ipc/errors";

export type PreviewTable = { name: string; rows: number | null };

export type Preview = {
  path: string;
  /** "Offsite archive", "pg_dump file", "Project export". */
  kind: string;
  project: string | null;
  backupType: string | null;
  createdAt: string | null;
  size: number | null;
  serverVersion: string | null;
  tool: string | null;
  tables: PreviewTable[];
  members: number;
  notes: string[];
};

export type Inspected =
  | { status: "ok"; preview: Preview; via: "inspectImport" | "inspectArchive" }
  | { status: "unrecognised"; error: ErrorPayload }
  | { status: "error"; error: ErrorPayload };

/** Error codes that mean "this file is not something Offsite can read". */
const UNRECOGNISED = new Set(["unsupported_format", "integrity", "invalid_input", "unsafe_path"]);

const KIND_LABELS: Record<string, string> = {
  offsite_archive: "Offsite archive",
  pg_dump: "pg_dump file",
  project_export: "Project export",
};

type Loose = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" ? v : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function fromManifest(path: string, m: Manifest): Preview {
  return {
    path,
    kind: "Offsite archive",
    project: m.project,
    backupType: m.type,
    createdAt: m.created_at,
    size: m.members.reduce((n, x) => n + x.size, 0),
    serverVersion: m.versions.server,
    tool: m.versions.pg_dump ?? m.versions.tool,
    tables: (m.tables ?? []).map((t) => ({ name: `${t.schema}.${t.table}`, rows: t.rows })),
    members: m.members.length,
    notes: m.globals_note ? [m.globals_note] : [],
  };
}

/** `inspectImport`'s answer (read defensively: it is not in the generated bindings yet). */
export function fromImport(path: string, raw: unknown): Preview {
  const p = (raw ?? {}) as Loose;
  const recorded = p.rows_recorded !== false;
  const kind = str(p.kind);
  return {
    path: str(p.path) ?? path,
    kind: (kind && KIND_LABELS[kind]) ?? kind ?? "File",
    project: str(p.project),
    backupType: str(p.backup_type),
    createdAt: str(p.created_at),
    size: num(p.size),
    serverVersion: str(p.server_version),
    tool: str(p.pg_dump_version),
    tables: arr(p.tables).map((t) => {
      const x = (t ?? {}) as Loose;
      const name = str(x.schema) ? `${str(x.schema)}.${str(x.table) ?? ""}` : (str(x.table) ?? String(t));
      return { name, rows: recorded ? num(x.rows) : null };
    }),
    members: arr(p.members).length,
    notes: arr(p.notes).filter((n): n is string => typeof n === "string"),
  };
}

type AnyCommand = (path: string) => Promise<{ status: "ok"; data: unknown } | { status: "error"; error: unknown }>;

/** `commands.inspectImport` once the bindings have it. */
export function importCommand(): AnyCommand | null {
  const c = (commands as unknown as Record<string, unknown>).inspectImport;
  return typeof c === "function" ? (c as AnyCommand) : null;
}

function failure(error: unknown): Inspected {
  const e = toErrorPayload(error);
  return UNRECOGNISED.has(e.code) ? { status: "unrecognised", error: e } : { status: "error", error: e };
}

export async function inspect(path: string): Promise<Inspected> {
  try {
    const viaImport = importCommand();
    if (viaImport) {
      const r = await viaImport(path);
      return r.status === "ok"
        ? { status: "ok", preview: fromImport(path, r.data), via: "inspectImport" }
        : failure(r.error);
    }
    const r = await commands.inspectArchive(path);
    return r.status === "ok"
      ? { status: "ok", preview: fromManifest(path, r.data), via: "inspectArchive" }
      : failure(r.error);
  } catch (e) {
    return failure(e);
  }
}
