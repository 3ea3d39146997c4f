// One headline per project and one line for all (issue 64, item 1): "Last good backup 2 hours
// ago · next tonight 02:30" on each card, "All 4 protected · last 02:30" over them. Which state,
// which tone and which count are the engine's (`offsite_core::health::verdict`, carried as
// `ProjectHealth.verdict` and `HealthOverview.verdict`); here they are only put in words, the
// times in the app's one format.
import type { OverviewVerdict, ProjectVerdict, VerdictTone } from "../bindings";
import { formatAgo, pastWords, upcomingWords } from "../components/format";

export { pastWords, upcomingWords };

export type Headline = {
  text: string;
  /** The engine's tone: "ok" only when the backups are fine, "warn" when they are not. */
  tone: VerdictTone;
};

/** Why "Back up now" waits while a backup of the project runs (the card's and the checklist's). */
export const BACKUP_RUNNING = "A backup is running";

/**
 * The card's headline, the engine's verdict in words: when the last good backup was, what went
 * wrong since, and what comes next ("next tonight 02:30", "no schedule", "schedule paused",
 * "overdue"); paused backups say nothing more here (the card's banner says what resumes them).
 */
export function projectHeadline(v: ProjectVerdict, now: Date = new Date()): Headline {
  const ago = (t: string) => formatAgo(t, now.getTime());
  const parts: string[] = [];
  if (v.state === "running") parts.push("Backing up now");
  const good = v.last_good ? `last good backup ${ago(v.last_good)}` : "no good backup yet";
  parts.push(parts.length === 0 ? good.charAt(0).toUpperCase() + good.slice(1) : good);
  if (v.failed_at) {
    parts.push(v.state === "credentials_refused" ? `the last backup was refused ${ago(v.failed_at)}` : `the last backup failed ${ago(v.failed_at)}`);
  }
  const next = {
    at: v.next_run ? `next ${upcomingWords(v.next_run, now)}` : null,
    no_schedule: "no schedule",
    schedule_paused: "schedule paused",
    overdue: "overdue",
    nothing: null,
  }[v.next];
  if (next) parts.push(next);
  return { text: parts.join(" · "), tone: v.tone };
}

/** "1 thing needs you", "3 things need you": the engine's one count (the checklists'). */
export function needsYouWords(n: number): string {
  return n === 1 ? "1 thing needs you" : `${n} things need you`;
}

/**
 * The one line over every project, the engine's summary in words: "All 4 protected · last 02:30"
 * when all are, else "1 of 4 protected · 3 things need you" (and how many back up now).
 */
export function overviewLine(v: OverviewVerdict, now: Date = new Date()): string {
  const n = v.projects;
  if (n === 0) return "No projects yet";
  const running = v.running === 0 ? "" : ` · ${v.running === 1 ? "1 backup" : `${v.running} backups`} running`;
  if (v.all_protected) {
    const all = n === 1 ? "Protected" : n === 2 ? "Both protected" : `All ${n} protected`;
    return `${all}${v.last_good ? ` · last ${pastWords(v.last_good, now)}` : ""}${running}`;
  }
  const needs = v.needs_you === 0 ? "" : ` · ${needsYouWords(v.needs_you)}`;
  return `${v.protected} of ${n} protected${needs}${running}`;
}
