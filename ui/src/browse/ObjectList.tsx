// The storage objects of a backup: bucket, key, size; a selected object previews (an image, or
// the start of a text) and can be saved to a file. The engine bounds what a preview reads.
import type { ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatBytes } from "../components/format";

export type ObjectEntry = { bucket: string; key: string; size: number; content_type: string | null };

export type Preview =
  | { kind: "image"; mime: string; data_base64: string }
  | { kind: "text"; text: string; truncated: boolean }
  | { kind: "none"; reason: string };

export type PreviewState =
  | { status: "idle" }
  | { status: "loading" }
  | { status: "ready"; preview: Preview }
  | { status: "error"; error: ErrorPayload };

export const objectKey = (o: { bucket: string; key: string }) => `${o.bucket}/${o.key}`;

/** Only these image types are shown inline (an SVG can carry script: it is offered as text). */
const INLINE_IMAGES: ReadonlySet<string> = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"]);

export function previewImageSrc(p: Extract<Preview, { kind: "image" }>): string | null {
  const mime = p.mime.toLowerCase();
  if (!INLINE_IMAGES.has(mime) || !/^[A-Za-z0-9+/=]*$/.test(p.data_base64)) return null;
  return `data:${mime};base64,${p.data_base64}`;
}

type Props = {
  objects: readonly ObjectEntry[];
  selected: string | null;
  onSelect: (o: ObjectEntry) => void;
  preview: PreviewState;
  onSave?: (o: ObjectEntry) => void;
};

export function ObjectList({ objects, selected, onSelect, preview, onSave }: Props) {
  if (objects.length === 0) {
    return (
      <p className="muted small" data-testid="browse-no-objects">
        This backup holds no storage objects.
      </p>
    );
  }
  const current = objects.find((o) => objectKey(o) === selected) ?? null;
  return (
    <div className="browse-objects" data-testid="browse-objects">
      <ul className="browse-table-list">
        {objects.map((o) => {
          const k = objectKey(o);
          return (
            <li key={k} className={k === selected ? "selected" : undefined}>
              <button type="button" className="link mono" onClick={() => onSelect(o)} data-testid="browse-object" data-key={k}>
                {k}
              </button>{" "}
              <span className="small muted">{formatBytes(o.size)}</span>
            </li>
          );
        })}
      </ul>
      {current && (
        <div className="browse-preview" data-testid="browse-preview" data-key={objectKey(current)}>
          <div className="toolbar">
            <span className="mono small">{objectKey(current)}</span>
            <span className="spacer" />
            {onSave && (
              <button type="button" className="btn btn-small" onClick={() => onSave(current)} data-testid="browse-object-save">
                Save…
              </button>
            )}
          </div>
          <PreviewBody state={preview} />
        </div>
      )}
    </div>
  );
}

function PreviewBody({ state }: { state: PreviewState }) {
  if (state.status === "idle") return null;
  if (state.status === "loading") return <p className="muted small">Reading the object…</p>;
  if (state.status === "error") return <ErrorNotice error={state.error} testId="browse-preview-error" />;
  const p = state.preview;
  if (p.kind === "text") {
    return (
      <pre className="browse-text" data-testid="browse-preview-text">
        {p.text}
        {p.truncated ? "\n…" : ""}
      </pre>
    );
  }
  if (p.kind === "image") {
    const src = previewImageSrc(p);
    if (src) return <img className="browse-image" src={src} alt="Preview of the object" data-testid="browse-preview-image" />;
    return <p className="muted small">No preview for {p.mime}: save it to open it.</p>;
  }
  return (
    <p className="muted small" data-testid="browse-preview-none">
      {p.reason}
    </p>
  );
}
