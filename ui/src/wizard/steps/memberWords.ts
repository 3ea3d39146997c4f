// A part of an archive (a member: `database/toc.dat`, `globals.sql`, `storage/…`) as a person
// names it (issue 44: restore-02 listed "database/3347.dat", "globals.sql"); the file's own name
// stays in the row's title. The layout of an archive is the engine's (docs/data.md): these are
// only its names in the glossary's words.

export function memberWords(name: string): string {
  if (name === "metadata.json" || name === "manifest.json") return "Contents list";
  if (name === "globals.sql") return "Roles and their settings";
  if (name === "database.dump" || name === "database.sql") return "Database";
  if (name === "database/toc.dat") return "Database: table of contents";
  if (/^database\/\d+\.dat(\.gz|\.zst|\.lz4)?$/.test(name)) return "Database: data of one table";
  if (name === "database/blobs.toc" || name.startsWith("database/blob_")) return "Database: large objects";
  if (name.startsWith("database/")) return "Database";
  if (name === "storage.json") return "File storage: list of files";
  if (name.startsWith("storage/")) return `File storage: ${name.slice("storage/".length)}`;
  if (name.startsWith("config/")) return `Configuration: ${name.slice("config/".length)}`;
  return name;
}
