// Step 5: the restore running, with its progress and Cancel.
import { useEffect, useState } from "react";
import type { JobProgress } from "../../bindings";
import { formatDuration } from "../../components/format";
import { Progress } from "./Progress";

export function RunStep({
  progress,
  startedAt,
  cancelling,
  canCancel,
  onCancel,
  onlyDatabase = true,
}: {
  progress: JobProgress | null;
  startedAt: number;
  cancelling: boolean;
  canCancel: boolean;
  onCancel: () => void;
  /** Whether only the database is restored (storage and configuration are not transactional). */
  onlyDatabase?: boolean;
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
        {onlyDatabase
          ? "The restore runs in one transaction: cancelling leaves the target as it was."
          : "One job restores each component in turn; the database's part runs in one transaction, objects and settings already written stay."}
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
