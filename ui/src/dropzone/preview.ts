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

/** What the file is, in the app's words (the tool that wrote it is said behind Details). */
export const KIND_LABELS: Record<ImportKind, string> = {
  offsite_archive: "A backup made by Offsite",
  pg_dump: "A database dump made outside Offsite",
  project_export: "A project export (database and its files)",
  plain_sql: "A database dump written as SQL text",
  pg_dumpall: "A dump of a whole database server (SQL text)",
};

/** The same file kind as the engine's tools name it (behind Details). */
export const KIND_TECHNICAL: Record<ImportKind, string> = {
  offsite_archive: "Offsite archive (.tar.zst)",
  pg_dump: "pg_dump custom-format file (pg_dump -Fc)",
  project_export: "project export folder or archive with database.dump",
  plain_sql: "plain SQL dump (pg_dump -Fp)",
  pg_dumpall: "pg_dumpall file", // under Details
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
