// This project's jobs of this session (running: progress and Cancel; finished: the newest result
// until dismissed or replaced by a newer one), below the tabs so every tab shows them without
// pushing the tabs down; nothing at all when there are none.
import { FinishedView, ProgressView } from "../../components/JobPanel";
import { type LiveJob, useHealth, useJobActions, useLiveJobs } from "../../store";

/** How many finished jobs are shown: the newest; a newer result replaces it (issue 44). */
export const FINISHED_SHOWN = 1;

/**
 * The results still worth a line (newest first): a failure that a later success of the same kind
 * has answered (a backup paused for the recovery key, then one that ran) is no longer news — it
 * is counted with the older results, not shown above the tabs. So is a backup refused for an
 * unconfirmed recovery key (`needs_consent`) once the key is confirmed (`consentGiven`): the
 * card would go on saying "Backups paused" under an encryption that says it is active.
 */
export function answered(finished: LiveJob[], consentGiven = false): LiveJob[] {
  return finished.filter(
    (j, i) =>
      (j.finished?.ok && !foundDamagedLater(j, finished.slice(0, i))) ||
      (!j.finished?.ok &&
        !(finished.slice(0, i).some((n) => answers(n, j)) || (consentGiven && j.finished?.error?.code === "needs_consent"))),
  );
}

/**
 * Whether the newer job `n` answers the failure of `j`: it succeeded, it is of the same kind,
 * and, for a verify, it checked the same archive (an intact archive says nothing of a damaged one).
 */
function answers(n: LiveJob, j: LiveJob): boolean {
  return n.kind === j.kind && n.finished?.ok === true && (j.kind !== "verify" || n.subject === j.subject);
}

/** The archive a finished job wrote (a backup, an import), if any. */
function archiveWritten(job: LiveJob): string | null {
  const r = job.finished?.result;
  return r?.kind === "backup" || r?.kind === "import" ? r.backup.path : null;
}

/**
 * Whether a newer verify found the archive `job` wrote damaged: its green "Imported" / "Backup
 * written" is no longer true, and the red "Archive damaged" says what is (issue 44, import-05
 * showed both, one under the other).
 */
function foundDamagedLater(job: LiveJob, newer: LiveJob[]): boolean {
  const path = archiveWritten(job);
  if (path === null) return false;
  return newer.some((n) => {
    const r = n.finished?.result;
    return r?.kind === "verify" && n.finished?.ok === false && r.report.archive === path;
  });
}

/**
 * Why a finished job failed, as a key: jobs with the same key share one card (issue 44: import-05
 * showed a Verify and an Import of damaged files as two identical "The archive is damaged"
 * cards). A damaged archive (a verify that found damage, an integrity error: code `integrity`) is
 * one cause; any other error its code. Null: it did not fail, or its failure is its own (a drill's failed check).
 */
export function failureCause(job: LiveJob): string | null {
  const f = job.finished;
  if (!f) return null;
  return f.ok ? null : (f.error?.code ?? null);
}

/** The results, newest first, one card per failure cause: each card with the older jobs it stands for. */
export function byCause(finished: LiveJob[]): { job: LiveJob; also: LiveJob[] }[] {
  const cards: { job: LiveJob; also: LiveJob[] }[] = [];
  const seen = new Map<string, { job: LiveJob; also: LiveJob[] }>();
  for (const job of finished) {
    const cause = failureCause(job);
    const card = cause === null ? undefined : seen.get(cause);
    if (card) {
      card.also.push(job);
      continue;
    }
    const fresh = { job, also: [] as LiveJob[] };
    if (cause !== null) seen.set(cause, fresh);
    cards.push(fresh);
  }
  return cards;
}

export function LiveJobs({ project }: { project: string }) {
  // A job a section shows in its context (the backup server's, the bucket's) is not shown twice.
  const live = useLiveJobs(project).filter((j) => !j.placed);
  const { cancel, dismiss } = useJobActions();
  const health = useHealth();
  const encryption =
    health.status === "ready" ? health.data.projects.find((p) => p.project === project)?.checklist.items.find((i) => i.id === "encryption") : undefined;
  if (live.length === 0) return null;
  // Results do not pile up (issue 44): the newest one; dismissing it dismisses the older ones too.
  const finished = live.filter((j) => j.finished);
  const cards = byCause(answered(finished, encryption?.state === "done")).slice(0, FINISHED_SHOWN);
  // Every result answered and nothing running: no panel (protection-04 showed an empty one).
  if (cards.length === 0 && finished.length === live.length) return null;
  return (
    <section className="panel jobs" aria-label="Jobs now" data-testid="job-panel">
      {live
        .filter((j) => !j.finished)
        .map((job) => (
          <ProgressView key={job.id} job={job} onCancel={() => void cancel(job.id)} />
        ))}
      {cards.map(({ job, also }) => (
        <FinishedView key={job.id} job={job} also={also} onDismiss={() => finished.forEach((j) => dismiss(j.id))} />
      ))}
    </section>
  );
}
