// What the drop preview shows about a file: `commands.inspectImport` reads Offsite archives,
// plain pg_dump files and project exports alike (reading only); `unsupported_format` and its
// kin mean "not a backup Offsite can read".
import { commands, type ErrorPayload, type ImportKind, type ImportPreview } from "../bindings";
import { errorDisplay } from "../ipc/errorDisplay";
import { toErrorPayload } from "../ipc/errors";

export type Inspected =
  | { status: "ok"; preview: ImportPreview }
  | { status: "unrecognised"; error: ErrorPayload }
  | { status: "error"; error: ErrorPayload };

export const KIND_LABELS: Record<ImportKind, string> = {
  offsite_archive: "Offsite archive",
  pg_dump: "pg_dump file",
  project_export: "Project export",
  plain_sql: "Plain SQL dump",
  pg_dumpall: "pg_dumpall file",
};

function failure(error: unknown): Inspected {
  const e = toErrorPayload(error);
  return errorDisplay(e.code).unreadableFile ? { status: "unrecognised", error: e } : { status: "error", error: e };
}

export async function inspect(path: string): Promise<Inspected> {
  try {
    const r = await commands.inspectImport(path);
    return r.status === "ok" ? { status: "ok", preview: r.data } : failure(r.error);
  } catch (e) {
    return failure(e);
  }
}
