// The chosen moment under the band (issue 64 item 3): the moment in the app's one date format, and
// either why it cannot be restored (outside the windows: band.ts) or the engine's answer for it —
// "The last change before 10:42:07 was at 10:41:55" — with the engine's own terms behind Details.
import { Details } from "../../components/Details";
import { ErrorNotice } from "../../components/ErrorNotice";
import { localSeconds } from "./time";
import type { MomentPlan } from "./useMomentPlan";

type Props = {
  /** The moment (ms, a whole second). */
  moment: number;
  /** Why it cannot be restored (band.ts: refusal); null: a window holds it. */
  refused: string | null;
  /** The engine's plan for it (asked only when not refused). */
  plan: MomentPlan;
  testId?: string;
};

export function MomentWords({ moment, refused, plan, testId = "pitr-moment" }: Props) {
  return (
    <div className="pitr-moment" aria-live="polite" data-testid={testId}>
      <p className="pitr-moment-at">
        <span className="muted small">Chosen moment </span>
        <strong className="num" data-testid={`${testId}-at`}>
          {localSeconds(moment)}
        </strong>
      </p>
      {refused !== null ? (
        <p className="text-warn small" role="alert" data-testid={`${testId}-refused`}>
          {refused}
        </p>
      ) : plan.status === "ok" ? (
        <>
          <p className="small" data-testid={`${testId}-commit`}>
            {plan.plan.stop_commit_at
              ? nearestCommitWords(plan.plan.at, plan.plan.stop_commit_at)
              : `No change was made between the backup of ${localSeconds(plan.plan.base_at)} and this moment: it is that backup as it was.`}
          </p>
          <Details testId={`${testId}-details`}>
            <ul>
              <li>Time sent: {plan.plan.at} (UTC)</li>
              {plan.plan.stop_commit_at && <li>Last commit replayed: {plan.plan.stop_commit_at}</li>}
              {plan.plan.stop_commit_lsn && <li>Its position in the write-ahead log (LSN): {plan.plan.stop_commit_lsn}</li>}
              <li>Backup it starts from: {plan.plan.base_backup_id}</li>
            </ul>
          </Details>
        </>
      ) : plan.status === "error" ? (
        <ErrorNotice error={plan.error} testId={`${testId}-error`} />
      ) : (
        <p className="muted small" data-testid={`${testId}-asking`}>
          Looking for the last change before it…
        </p>
      )}
    </div>
  );
}

/**
 * "The last change before 10:42:07 was at 10:41:55" (the day named when the two differ): the
 * commit the engine's replay stops at, in the app's date format without fractions.
 */
export function nearestCommitWords(at: string, lastCommit: string): string {
  const [atDay, atTime] = localSeconds(at).split(" ");
  const [day, time] = localSeconds(lastCommit).split(" ");
  return `The last change before ${atTime} was at ${day === atDay ? time : `${day} ${time}`}`;
}
