// A project export's parts, as the preview lists them before anything is imported: the
// database dump, storage (objects, size, buckets), configuration documents, and every file the
// import leaves out, by name.
import type { ExportParts } from "../bindings";
import { formatBytes } from "../components/format";
import { plural } from "../words";

export function ExportPartsList({ parts }: { parts: ExportParts }) {
  const skipped = parts.not_imported.length + parts.not_imported_more;
  return (
    <div className="small" data-testid="drop-parts">
      <ul className="drop-parts">
        <li data-testid="drop-part-database">
          Database: <span className="mono">{parts.database}</span>
          {parts.globals && (
            <>
              {" "}
              with roles (<span className="mono">{parts.globals}</span>)
            </>
          )}
        </li>
        {parts.storage && (
          <li data-testid="drop-part-storage">
            Storage: {plural(parts.storage.objects, "file")}, {formatBytes(parts.storage.bytes)} in{" "}
            {plural(parts.storage.buckets.length, "bucket")} (
            {parts.storage.buckets.map((b) => `${b.name}: ${plural(b.objects, "file")}`).join(", ")})
          </li>
        )}
        {parts.config && (
          <li data-testid="drop-part-config">
            Settings: {parts.config.documents.map((d) => d.replace(/^supabase\//, "").replace(/\.json$/, "")).join(", ")}
          </li>
        )}
      </ul>
      {skipped > 0 && (
        <details data-testid="drop-not-imported">
          <summary>{plural(skipped, "file")} not imported</summary>
          <ul className="mono">
            {parts.not_imported.map((n) => (
              <li key={n.name}>
                <bdi>{n.name}</bdi> — {n.why}
              </li>
            ))}
            {parts.not_imported_more > 0 && <li className="muted">… and {parts.not_imported_more} more</li>}
          </ul>
        </details>
      )}
    </div>
  );
}
