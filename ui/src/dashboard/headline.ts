// One headline per project and one line for all (issue 64, item 1): "Last good backup 2 hours
// ago · next tonight 02:30" on each card, "All 4 protected · last 02:30" over them. The words
// come from the engine's facts (health, checklist, schedule); the times in the app's one format.
import type { CheckItem, HealthOverview, ProjectHealth } from "../bindings";
import { formatAgo, formatTime } from "../components/format";

const pad = (n: number) => String(n).padStart(2, "0");
const clock = (d: Date) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** Whole calendar days from `now` to `t` in this computer's zone (0: the same day). */
function daysApart(t: Date, now: Date): number {
  const day = (d: Date) => Date.UTC(d.getFullYear(), d.getMonth(), d.getDate());
  return Math.round((day(t) - day(now)) / 86_400_000);
}

/**
 * When a coming run is, as a person says it: "today 14:00", "tonight 02:30" (this evening, or the
 * small hours after it), "tomorrow 09:00", "Mon 02:30" within a week, else the app's date format.
 */
export function upcomingWords(iso: string, now: Date = new Date()): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const days = daysApart(t, now);
  const h = t.getHours();
  if (days <= 0) return `${h >= 18 ? "tonight" : "today"} ${clock(t)}`;
  if (days === 1 && h < 6) return `tonight ${clock(t)}`;
  if (days === 1) return `tomorrow ${clock(t)}`;
  if (days < 7) return `${WEEKDAYS[t.getDay()]} ${clock(t)}`;
  return formatTime(iso);
}

/** When a past moment was, short: "02:30" today, "yesterday 02:30", else the app's date format. */
export function pastWords(iso: string, now: Date = new Date()): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const days = daysApart(t, now);
  if (days === 0) return clock(t);
  if (days === -1) return `yesterday ${clock(t)}`;
  return formatTime(iso);
}

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
