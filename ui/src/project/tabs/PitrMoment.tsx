// The point-in-time card's band and what can be done at the moment chosen on it (issue 64 item 3):
// the band (wizard/pitr/Timeline), the moment in words with the engine's last change before it,
// and Look inside / Compare / Drill / Restore at that moment, from the same place. A moment
// outside the windows is refused with the reason, and the actions say why they wait.
import { useEffect, useMemo, useRef, useState } from "react";
import { commands, type ErrorPayload, type Window } from "../../bindings";
import { ErrorNotice } from "../../components/ErrorNotice";
import { toErrorPayload } from "../../ipc/errors";
import { useStore } from "../../store";
import { refusal, spansOf } from "../../wizard/pitr/band";
import { MomentWords } from "../../wizard/pitr/MomentWords";
import { type BandBackup, Timeline } from "../../wizard/pitr/Timeline";
import { localSeconds, toUtc } from "../../wizard/pitr/time";
import { useMomentPlan } from "../../wizard/pitr/useMomentPlan";

/** Where the card's actions go: each takes the moment as RFC 3339 UTC (the engine's form). */
export type MomentActions = {
  /** The restore wizard's point in time at this moment. */
  onRestore?: (at: string) => void;
  /** The diff screen comparing this moment with another side. */
  onCompare?: (at: string) => void;
  /** The drills screen, drilling this moment. */
  onDrill?: (at: string) => void;
  /** The state made for this moment is open-able: `archive` (held by the app) as `label`. */
  onLookInside?: (archive: string, label: string) => void;
};

type Props = MomentActions & {
  project: string;
  windows: readonly Window[];
  backups: readonly BandBackup[];
  nowMs: number;
};

/** The engine's form of a moment (ms) — whole seconds, UTC. */

type Look = { status: "idle" } | { status: "running"; jobId: string | null; cancelling: boolean } | { status: "failed"; error: ErrorPayload };

export function PitrMoment({ project, windows, backups, nowMs, onRestore, onCompare, onDrill, onLookInside }: Props) {
  const spans = useMemo(() => spansOf(windows), [windows]);
  // The moment the handle shows (moves while dragging) and the one settled on (what is asked).
  const [moment, setMoment] = useState<number | null>(null);
  const [settled, setSettled] = useState<number | null>(null);
  const newest = spans[spans.length - 1]?.to ?? null;
  // The newest second when the band first has one; the status read again every few seconds does
  // not move it (nor the actions under the pointer).
  useEffect(() => {
    if (settled === null && newest !== null) {
      setSettled(newest);
      setMoment(newest);
    }
  }, [settled, newest]);
  const shown = moment ?? newest;
  const chosen = settled ?? newest;
  const refused = chosen === null ? null : refusal(chosen, spans);
  const at = chosen !== null && refused === null ? toUtc(chosen) : null;
  const plan = useMomentPlan(project, at);
  const [looking, setLooking] = useState(false);

  if (shown === null || chosen === null) return null;
  const ready = plan.status === "ok" && plan.at === at;
  const why =
    refused !== null
      ? "Choose a moment that can be restored."
      : plan.status === "error"
        ? "This moment cannot be restored (above)."
        : !ready
          ? "Looking for the last change before it…"
          : looking
            ? "Making the database as it was then…"
            : null;
  const go = (action: (at: string) => void) => () => {
    if (at && ready) action(at);
  };
  return (
    <div className="pitr-moment-panel" data-testid="pitr-moment-panel">
      <Timeline
        windows={windows}
        backups={backups}
        value={shown}
        nowMs={nowMs}
        onChange={(ms, done) => {
          if (looking) return;
          setMoment(ms);
          if (done) setSettled(ms);
        }}
      />
      {/* While a pointer drags, the moment under it and whether it can be restored; the engine is
          asked once it is let go. */}
      <MomentWords moment={shown} refused={refusal(shown, spans)} plan={shown !== chosen ? { status: "idle" } : plan} />
      <div className="form-actions pitr-moment-actions" data-testid="pitr-moment-actions">
        {onLookInside && (
          <LookInside project={project} at={at} disabled={why !== null && !looking} onRunning={setLooking} onOpen={onLookInside} />
        )}
        {onCompare && (
          <button type="button" className="btn" disabled={why !== null} onClick={go(onCompare)} data-testid="pitr-moment-compare">
            Compare…
          </button>
        )}
        {onDrill && (
          <button type="button" className="btn" disabled={why !== null} onClick={go(onDrill)} data-testid="pitr-moment-drill">
            Drill…
          </button>
        )}
        {onRestore && (
          <button type="button" className="btn btn-primary" disabled={why !== null} onClick={go(onRestore)} data-testid="pitr-moment-restore">
            Restore…
          </button>
        )}
        {why !== null && (
          <span className="muted small" data-testid="pitr-moment-why">
            {why}
          </span>
        )}
      </div>
    </div>
  );
}

/**
 * "Look inside" at the moment: the engine makes the database as it was then (a job, cancellable
 * here), and the browse screen opens it.
 */
function LookInside({
  project,
  at,
  disabled,
  onRunning,
  onOpen,
}: {
  project: string;
  /** The settled moment (null: none that can be restored). */
  at: string | null;
  disabled: boolean;
  onRunning: (running: boolean) => void;
  onOpen: (archive: string, label: string) => void;
}) {
  const store = useStore();
  const [look, setLook] = useState<Look>({ status: "idle" });
  const unfollow = useRef<(() => void) | null>(null);
  useEffect(() => () => unfollow.current?.(), []);
  const running = look.status === "running";
  useEffect(() => onRunning(running), [running, onRunning]);

  const start = async () => {
    if (!at) return;
    setLook({ status: "running", jobId: null, cancelling: false });
    await store.ready();
    try {
      const started = await commands.startOpenAt(project, at);
      if (started.status === "error") return setLook({ status: "failed", error: toErrorPayload(started.error) });
      const jobId = started.data;
      setLook({ status: "running", jobId, cancelling: false });
      unfollow.current = store.follow(jobId, {
        onProgress: () => {},
        onFinished: (f) => {
          unfollow.current = null;
          if (f.ok && f.result?.kind === "at_state") {
            setLook({ status: "idle" });
            onOpen(f.result.archive, `${project} as it was at ${localSeconds(at)}`);
          } else if (f.error?.code === "cancelled") setLook({ status: "idle" });
          else setLook({ status: "failed", error: f.error ?? { code: "internal", message: "The job ended without a result.", hint: null, retryable: false } });
        },
      });
    } catch (e) {
      setLook({ status: "failed", error: toErrorPayload(e) });
    }
  };
  const cancel = async () => {
    if (look.status !== "running" || !look.jobId) return;
    setLook({ ...look, cancelling: true });
    if (!(await store.cancel(look.jobId))) setLook((l) => (l.status === "running" ? { ...l, cancelling: false } : l));
  };
  return (
    <>
      <button type="button" className="btn" disabled={disabled || running || !at} onClick={() => void start()} data-testid="pitr-moment-look">
        {running ? "Looking inside…" : "Look inside"}
      </button>
      {running && (
        <button type="button" className="btn btn-quiet" disabled={!look.jobId || look.cancelling} onClick={() => void cancel()} data-testid="pitr-moment-look-cancel">
          {look.cancelling ? "Cancelling…" : "Cancel"}
        </button>
      )}
      {look.status === "failed" && <ErrorNotice error={look.error} testId="pitr-moment-look-error" />}
    </>
  );
}
