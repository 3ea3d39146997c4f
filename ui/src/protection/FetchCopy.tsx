// In the restore wizard, when the chosen backup's local file is gone: fetch it back from one of
// its copies. The engine downloads it, checks it against its recorded SHA-256 and only then puts
// it back in the local folder; the wizard's own check and restore follow as for any backup.
import type { ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatBytes } from "../components/format";
import { COPY_STATE_LABEL, DESTINATION_KIND_LABEL, type CopyView } from "./types";

export type FetchState =
  | { status: "idle" }
  | { status: "fetching"; destination: string; bytesDone: number; bytesTotal: number | null }
  | { status: "done"; destination: string }
  | { status: "error"; destination: string; error: ErrorPayload };

/** Copies a backup can be fetched from (the engine recorded them as there). */
export function fetchable(copies: CopyView[]): CopyView[] {
  return copies.filter((c) => c.state === "stored");
}

export function FetchCopy({
  copies,
  state,
  onFetch,
}: {
  copies: CopyView[] | null;
  state: FetchState;
  onFetch: (destination: string) => void;
}) {
  const usable = copies ? fetchable(copies) : [];
  return (
    <div className="notice notice-warn small" role="region" aria-label="Fetch a copy" data-testid="fetch-copy" data-status={state.status}>
      <p className="notice-title">The local file of this backup is gone.</p>
      {copies === null && <p className="muted">Looking for its copies…</p>}
      {copies !== null && usable.length === 0 && (
        <p data-testid="fetch-copy-none">No copy of it is known elsewhere. Choose another backup or give an archive's path.</p>
      )}
      {usable.length > 0 && state.status !== "done" && (
        <>
          <p>A copy can be fetched: it is downloaded, checked against its SHA-256, then restored from here.</p>
          <div className="form-actions">
            {usable.map((c) => (
              <button
                key={c.destination}
                type="button"
                className="btn btn-small btn-primary"
                disabled={state.status === "fetching"}
                onClick={() => onFetch(c.destination)}
                data-testid="fetch-copy-from"
                data-destination={c.destination}
                title={`${c.kind ? DESTINATION_KIND_LABEL[c.kind] : ""} · ${COPY_STATE_LABEL[c.state]}`}
              >
                Fetch from {c.destination}
              </button>
            ))}
          </div>
        </>
      )}
      {state.status === "fetching" && (
        <p role="status" data-testid="fetch-copy-progress">
          Fetching from {state.destination}… {formatBytes(state.bytesDone)}
          {state.bytesTotal ? ` of ${formatBytes(state.bytesTotal)}` : ""}
        </p>
      )}
      {state.status === "done" && (
        <p role="status" className="notice-ok" data-testid="fetch-copy-done">
          Fetched from {state.destination} and checked. Go on: the backup is on this computer again.
        </p>
      )}
      {state.status === "error" && <ErrorNotice error={state.error} testId="fetch-copy-error" />}
    </div>
  );
}
