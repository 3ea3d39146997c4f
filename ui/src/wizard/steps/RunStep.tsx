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
}: {
  progress: JobProgress | null;
  startedAt: number;
  cancelling: boolean;
  canCancel: boolean;
  onCancel: () => void;
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
        Running for {formatDuration((now - startedAt) / 1000)}. The restore runs in one transaction: cancelling leaves
        the target as it was.
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
