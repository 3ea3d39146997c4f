// The storage objects of a backup: bucket, key, size; a selected object previews (an image, or
// the start of a text) and can be saved to a file. The engine bounds what a preview reads.
import { useEffect, useState } from "react";
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

/** Paging and searching the list (the engine does both; absent: the list is all there is). */
export type ObjectPaging = {
  /** The search applied (part of `bucket/key`, any case; "" for all). */
  search: string;
  onSearch: (search: string) => void;
  /** Objects matching the search in the backup. */
  total: number;
  more: boolean;
  onMore: () => void;
  busy: boolean;
};

type Props = {
  objects: readonly ObjectEntry[];
  selected: string | null;
  onSelect: (o: ObjectEntry) => void;
  preview: PreviewState;
  onSave?: (o: ObjectEntry) => void;
  paging?: ObjectPaging;
};

export function ObjectList({ objects, selected, onSelect, preview, onSave, paging }: Props) {
  if (objects.length === 0 && !paging?.search) {
    return (
      <p className="muted small" data-testid="browse-no-objects">
        This backup holds no storage objects.
      </p>
    );
  }
  const current = objects.find((o) => objectKey(o) === selected) ?? null;
  return (
    <div className="browse-objects" data-testid="browse-objects">
      {paging && <ObjectSearch paging={paging} />}
      {objects.length === 0 && (
        <p className="muted small" data-testid="browse-no-objects-match">
          No object’s name contains “{paging?.search}”.
        </p>
      )}
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
      {paging && objects.length > 0 && <ObjectMore paging={paging} shown={objects.length} />}
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

function ObjectSearch({ paging }: { paging: ObjectPaging }) {
  // Edited freely; applied on Enter or "Find" (each is a new listing from the first object).
  const [text, setText] = useState(paging.search);
  useEffect(() => setText(paging.search), [paging.search]);
  return (
    <form
      className="toolbar"
      onSubmit={(e) => {
        e.preventDefault();
        paging.onSearch(text.trim());
      }}
    >
      <input
        className="grow"
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="Objects whose name contains…"
        aria-label="Find objects by name"
        data-testid="browse-object-filter"
      />
      <button type="submit" className="btn btn-small" disabled={paging.busy} data-testid="browse-object-filter-apply">
        Find
      </button>
    </form>
  );
}

function ObjectMore({ paging, shown }: { paging: ObjectPaging; shown: number }) {
  const rest = Math.max(0, paging.total - shown);
  return (
    <div className="toolbar">
      <span className="small muted" data-testid="browse-objects-count">
        {shown.toLocaleString("en-US")} of {paging.total.toLocaleString("en-US")} objects
        {paging.search ? ` matching “${paging.search}”` : ""}
      </span>
      <span className="spacer" />
      {paging.more && (
        <button type="button" className="btn btn-small" onClick={paging.onMore} disabled={paging.busy} data-testid="browse-more-objects">
          {paging.busy ? "Loading…" : `Show more (${rest.toLocaleString("en-US")} more)`}
        </button>
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
