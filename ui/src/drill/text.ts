// What the screens say about restore drills: the project card's "proven restorable" line, the
// RTO, a check's status. Pure, so the wording is tested once.
import type { CheckStatus, Verdict } from "../bindings";
import { formatAgo, formatTime } from "../components/format";
import { backupName } from "../components/names";
import type { BackupType } from "../bindings";

/** What a card needs of a drill: when it ended, how, how long the restore took, what failed. */
export type DrillGlance = {
  finished_at: string;
  verdict: Verdict;
  rto_seconds: number | null;
  /** The first failed check's title ("Table public.orders: rows and content"), when it failed. */
  failed_check: string | null;
};

export type ProvenState = "proven" | "failed" | "never";

/** "RTO 42 s", "RTO 4 min", "RTO 1 h 5 min" (rounded to what a person reads). */
export function rtoLabel(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "RTO —";
  // Under a second is not "0 s": a fast restore still took time.
  if (seconds < 1) return "RTO under 1 s";
  const s = Math.round(seconds);
  if (s < 60) return `RTO ${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `RTO ${m} min`;
  const h = Math.floor(m / 60);
  const rest = m % 60;
  return rest === 0 ? `RTO ${h} h` : `RTO ${h} h ${rest} min`;
}

/**
 * The card's line: the newest drill decides. Passed: "Proven restorable 3 days ago · RTO 4 min".
 * Failed: "Last drill failed 2 days ago: Table public.orders" (and when an older drill passed,
 * "· last proven 20 days ago"). None: "Never proven".
 */
export function provenLine(
  last: DrillGlance | null | undefined,
  lastPassed: DrillGlance | null | undefined,
  now: number = Date.now(),
): { state: ProvenState; text: string } {
  if (!last) {
    if (lastPassed) return passedLine(lastPassed, now);
    return { state: "never", text: "Never proven" };
  }
  if (last.verdict === "passed") return passedLine(last, now);
  let text = `Last drill failed ${formatAgo(last.finished_at, now)}`;
  if (last.failed_check) text += `: ${last.failed_check}`;
  if (lastPassed) text += ` · last proven ${formatAgo(lastPassed.finished_at, now)}`;
  return { state: "failed", text };
}

function passedLine(d: DrillGlance, now: number): { state: ProvenState; text: string } {
  const rto = d.rto_seconds === null ? "" : ` · ${rtoLabel(d.rto_seconds)}`;
  return { state: "proven", text: `Proven restorable ${formatAgo(d.finished_at, now)}${rto}` };
}

export const CHECK_STATUS_LABEL: Record<CheckStatus, string> = {
  passed: "Passed",
  failed: "Failed",
  not_comparable: "Not comparable",
  skipped: "Skipped",
};

export const VERDICT_LABEL: Record<Verdict, string> = {
  passed: "Passed",
  failed: "Failed",
};

/** "3 passed · 1 failed · 2 not comparable", in that order, only the ones present. */
export function checkCounts(statuses: readonly CheckStatus[]): string {
  const order: CheckStatus[] = ["passed", "failed", "not_comparable", "skipped"];
  return order
    .map((s) => [s, statuses.filter((x) => x === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${CHECK_STATUS_LABEL[s].toLowerCase()}`)
    .join(" · ");
}

/** What a drill screen knows of the project's backups: its type and time, by id. */
export type BackupNames = ReadonlyMap<string, { backup_type: BackupType; created_at: string }>;

/**
 * A drilled backup as a person names it: by its type and time ("Database backup of 2026-11-23
 * 03:00"), never by its id (issue 44). A backup no longer in the list is named by the time the
 * drill's report recorded, or as removed.
 */
export function drillBackupName(backupId: string, names: BackupNames, createdAt?: string | null): string {
  const b = names.get(backupId);
  if (b) return backupName(b);
  if (createdAt) return `Backup of ${formatTime(createdAt)} (no longer in the list)`;
  return "A backup no longer in the list";
}
