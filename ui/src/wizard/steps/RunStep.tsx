// Step 5: the restore running, with its progress and Cancel.
import { useEffect, useState } from "react";
import type { JobProgress } from "../../bindings";
import { formatDuration } from "../../components/format";
import { Progress } from "./Progress";

/**
 * What a cancel (or a failure) leaves, as the plan says: the database part runs in one transaction
 * only when the plan's `one_transaction` says so (a directory dump restored by `pg_restore -j` is
 * not one: a failure or a cancel drops what it created again, issue 42). `oneTransaction` is null when the
 * restore has no database part.
 */
export function cancelPromise(onlyDatabase: boolean, oneTransaction: boolean | null): string {
  if (onlyDatabase) {
    if (oneTransaction === null) return "Cancelling stops the restore.";
    return oneTransaction
      ? "The restore runs in one transaction: cancelling leaves the target as it was."
      : "The restore is not one transaction: it loads tables in parallel. Every file in the archive is checked before a row is loaded, and cancelling or a failure drops what it created again, so the target is left empty as it was.";
  }
  if (oneTransaction === null) {
    return "One job restores each component in turn; objects and settings already written stay.";
  }
  return oneTransaction
    ? "One job restores each component in turn; the database's part runs in one transaction, objects and settings already written stay."
    : "One job restores each component in turn; the database's part is not one transaction (it loads tables in parallel): cancelling or a failure drops what it created again; objects and settings already written stay.";
}

export function RunStep({
  progress,
  startedAt,
  cancelling,
  canCancel,
  onCancel,
  onlyDatabase = true,
  oneTransaction,
}: {
  progress: JobProgress | null;
  startedAt: number;
  cancelling: boolean;
  canCancel: boolean;
  onCancel: () => void;
  /** Whether only the database is restored (storage and configuration are not transactional). */
  onlyDatabase?: boolean;
  /** The plan's `one_transaction` for the database part; null without one. */
  oneTransaction: boolean | null;
}) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  return (
    <div data-testid="wizard-running">
      <Progress progress={progress} />
      <p className="muted small" data-testid="wizard-elapsed">
        Running for {formatDuration((now - startedAt) / 1000)}.{" "}
        <span data-testid="wizard-cancel-promise" data-one-transaction={String(oneTransaction)}>
          {cancelPromise(onlyDatabase, oneTransaction)}
        </span>
      </p>
      <button
        type="button"
        className="btn"
        onClick={onCancel}
        disabled={!canCancel || cancelling}
        data-testid="wizard-cancel"
      >
        {cancelling ? "Cancelling…" : "Cancel"}
      </button>
    </div>
  );
}
