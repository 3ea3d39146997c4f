// A damaged archive file, said once: the fact and its next step in one sentence, the engine's hint
// (what was left as it was), the raw details (member names, SHA-256 pairs) behind a disclosure,
// and only the safe ways out (never "Restore").
import type { ErrorPayload } from "../bindings";
import { DAMAGED_TEXT } from "../ipc/errorDisplay";

export type SafeAction = { label: string; run: () => void; testId: string };

export function DamagedNotice({
  error,
  details,
  testId,
  actions = [],
  next = DAMAGED_TEXT,
}: {
  /** The engine's error, when there is one (its message goes into the details). */
  error?: ErrorPayload | null;
  /** More raw facts (a verify report's problems). */
  details?: string[];
  testId: string;
  actions?: SafeAction[];
  /** The fact and its next step, when the screen's own is better (an import: nothing was added). */
  next?: string;
}) {
  const raw = [...(error ? [error.message] : []), ...(error?.detail ? [error.detail] : []), ...(details ?? [])];
  return (
    <div className="notice notice-error" role="alert" data-testid={testId} data-code="integrity">
      <p className="notice-title" data-testid={`${testId}-title`}>
        The archive is damaged
      </p>
      <p data-testid={`${testId}-next`}>{next}</p>
      {error?.hint && (
        <p className="notice-hint" data-testid={`${testId}-hint`}>
          {error.hint}
        </p>
      )}
      {raw.length > 0 && (
        <details className="small" data-testid={`${testId}-details`}>
          <summary>Details</summary>
          <ul className="mono damaged-details">
            {raw.map((r) => (
              <li key={r}>
                <bdi>{r}</bdi>
              </li>
            ))}
          </ul>
        </details>
      )}
      {actions.length > 0 && (
        <div className="notice-actions">
          {actions.map((a) => (
            <button key={a.testId} type="button" className="btn btn-small" onClick={a.run} data-testid={a.testId}>
              {a.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
