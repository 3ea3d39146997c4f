// One headline per project and one line for all (issue 64, item 1): "Last good backup 2 hours
// ago · next tonight 02:30" on each card, "All 4 protected · last 02:30" over them. The words
// come from the engine's facts (health, checklist, schedule); the times in the app's one format.
import type { CheckItem, HealthOverview, ProjectHealth } from "../bindings";
import { formatAgo, pastWords, upcomingWords } from "../components/format";

export { pastWords, upcomingWords };

const isOpen = (i: CheckItem | undefined) => i !== undefined && (i.state === "gap" || i.state === "paused");

export type Headline = {
  text: string;
  /** The colour it is said in: "ok" only when the backups are fine, "warn" when they are not. */
  tone: "ok" | "warn" | "plain";
};

/**
 * The card's headline: when the last good backup was, and what comes next ("next tonight 02:30",
 * "no schedule", "backups paused", "overdue"), with a failed last run said as such.
 */
export function projectHeadline(h: ProjectHealth, now: Date = new Date()): Headline {
  const first = h.last_good ? `Last good backup ${formatAgo(h.last_good, now.getTime())}` : "No good backup yet";
  const parts = [first];
  const run = h.last_run;
  const failed = run && !run.succeeded && !(h.checklist.paused && run.error_code === "needs_consent");
  if (failed) parts.push(`the last backup failed ${formatAgo(run.finished_at, now.getTime())}`);
  // Paused backups are said by the card's banner, with what resumes them: not again here.
  if (h.checklist.paused) {
    // nothing: the banner says it
  } else if (!h.schedule) parts.push("no schedule");
  else if (h.paused) parts.push("schedule paused");
  else if (h.overdue) parts.push("overdue");
  else if (h.next_run) parts.push(`next ${upcomingWords(h.next_run, now)}`);
  const backedUp = h.checklist.items.find((i) => i.id === "backed_up");
  const tone = isOpen(backedUp) || failed || h.overdue ? "warn" : h.health === "protected" ? "ok" : "plain";
  return { text: parts.join(" · "), tone };
}

/** How many checklist items need the user: the one count the badges and the summary say. */
export function openItems(h: ProjectHealth): number {
  return h.checklist.items.filter((i) => isOpen(i)).length;
}

/**
 * The one line over every project: "All 4 protected · last 02:30" when all are, else "1 of 4
 * protected · 3 things need you" (the checklists' count).
 */
export function overviewLine(o: HealthOverview, now: Date = new Date()): string {
  const n = o.projects.length;
  if (n === 0) return "No projects yet";
  const protectedCount = o.projects.filter((p) => p.health === "protected").length;
  const open = o.projects.reduce((sum, p) => sum + openItems(p), 0);
  const newest = o.projects
    .map((p) => p.last_good)
    .filter((t): t is string => !!t)
    .sort((a, b) => new Date(b).getTime() - new Date(a).getTime())[0];
  const last = newest ? ` · last ${pastWords(newest, now)}` : "";
  const all = n === 1 ? "Protected" : n === 2 ? "Both protected" : `All ${n} protected`;
  if (protectedCount === n && open === 0) return `${all}${last}`;
  const needs = open === 0 ? "" : ` · ${open === 1 ? "1 thing needs" : `${open} things need`} you`;
  return `${protectedCount} of ${n} protected${needs}`;
}
