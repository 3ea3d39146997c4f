// What the screens say about restore drills: the project card's "proven restorable" line, the
// RTO, a check's status. Pure, so the wording is tested once.
import type { CheckStatus, Verdict } from "../bindings";
import { formatAgo, formatDuration, formatTime } from "../components/format";
import { backupName } from "../components/names";
import type { BackupType } from "../bindings";
import { shortVersion } from "../words";

/** What a card needs of a drill: when it ended, how, how long the restore took, what failed. */
export type DrillGlance = {
  finished_at: string;
  verdict: Verdict;
  rto_seconds: number | null;
  /** The first failed check's title ("Table public.orders: rows and content"), when it failed. */
  failed_check: string | null;
};

export type ProvenState = "proven" | "failed" | "never";

/** How long a restore took: the app's one duration format ("42 s", "4 min", "under 1 s"; "—" unknown). */
export function restoreTime(seconds: number | null | undefined): string {
  return formatDuration(seconds);
}

/**
 * The drill's recovery time (its RTO) in words: "restored in 4 min" (issue 44: the bare "RTO"
 * was unexplained; the term is named, with what it means, behind the report's Details).
 */
export function rtoLabel(seconds: number | null | undefined): string {
  const t = restoreTime(seconds);
  return t === "—" ? "restore time unknown" : `restored in ${t}`;
}

/**
 * Where a drill restored the backup, in the app's words: the throwaway cluster the Drills page
 * offers ("on this computer"), or the scratch server by its host (the engine's location, e.g.
 * "private socket", and the server's build string go behind Details).
 */
export function whereRestored(target: { kind: string; server_version: string; location: string }): string {
  const version = shortVersion(target.server_version);
  const server = /^PostgreSQL /.test(version) ? version : `PostgreSQL ${version}`;
  if (target.kind === "throwaway") return `A throwaway server on this computer (${server}), removed afterwards`;
  const host = target.location.split("/")[0] ?? target.location;
  return `The scratch server ${host} (${server})`;
}

/** The term and its meaning, for the report's Details. */
export const RTO_EXPLAINED = "RTO (recovery time objective): how long getting this backup back into a database takes";

/**
 * The card's line: the newest drill decides. Passed: "Proven restorable 3 days ago · restored in 4 min".
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
