// Test data shaped like the engine's health (the generated bindings' types), with problems
// built from the engine's own table of rules (rules.json, checked against RULES by
// `crates/core/src/health/tests.rs::the_ui_rules_json_is_the_rules`).
import type { CheckId, CheckItem, Checklist, FixAction, Health, HealthOverview, OverviewVerdict, Problem, ProblemKind, ProjectHealth, ProjectVerdict, VerdictState } from "../bindings";
import rulesJson from "./rules.json";

export type Rule = {
  kind: ProblemKind;
  health: Health;
  health_label: string;
  fix: FixAction;
  fix_label: string;
  /** The checklist item the problem belongs to. */
  item: CheckId;
  item_label: string;
};

export const RULES = rulesJson as Rule[];

export function rule(kind: ProblemKind): Rule {
  const r = RULES.find((x) => x.kind === kind);
  if (!r) throw new Error(`no rule for ${kind}`);
  return r;
}

export function problem(kind: ProblemKind, reason = `reason of ${kind}`): Problem {
  const r = rule(kind);
  return { kind, health: r.health, reason, fix: r.fix, fix_label: r.fix_label };
}

/** The checklist's items when all is done (encryption left off), in the engine's order. */
const DONE_ITEMS: CheckItem[] = (
  [
    ["scheduled", "Scheduled", "Backs up daily at 02:30.", null],
    ["backed_up", "Backed up recently", "The newest good backup is from {at}.", "2026-11-24T02:30:00Z"],
    ["verified", "Verified", "Checksums checked {at}.", "2026-11-24T02:31:00Z"],
    ["copies", "Copies", "3 of 3 copies, on 3 media, 1 offsite: 3-2-1 met.", null],
    ["restore_proven", "Restore proven", "A drill restored a backup and checked it {at}.", "2026-11-24T03:00:00Z"],
  ] as [CheckId, string, string, string | null][]
).map(([id, label, why, at]) => ({
  id,
  label,
  state: "done",
  // As the engine writes them: the time in this computer's zone, and the sentence with {at}.
  why: at ? why.replace("{at}", `${at.slice(0, 10)} ${at.slice(11, 16)} UTC`) : why,
  fix: null,
  fix_label: null,
  at,
  why_at: at ? why : null,
}));

/** A checklist with `open` first (as given), the other items done, encryption off. */
export function checklistWith(open: CheckItem[], paused = false): Checklist {
  const rest = DONE_ITEMS.filter((d) => !open.some((o) => o.id === d.id));
  const off: CheckItem = { id: "encryption", label: "Encryption ready", state: "off", why: "Off (your choice), so not counted: anyone who gets a copy can read it.", fix: null, fix_label: null, at: null, why_at: null };
  const items = [...open, ...rest, ...(open.some((o) => o.id === "encryption") ? [] : [off])];
  const done = items.filter((i) => i.state === "done").length;
  const total = items.filter((i) => i.state !== "off").length;
  return { items, done, total, line: `${done} of ${total} done`, paused };
}

/** The checklist item of a problem (its gap, its Fix). */
export function gapOf(p: Problem): CheckItem {
  const r = rule(p.kind);
  return { id: r.item, label: r.item_label, state: "gap", why: p.reason, fix: p.fix, fix_label: p.fix_label, at: null, why_at: null };
}

const HOUR = 3600_000;
const ago = (hours: number) => new Date(Date.now() - hours * HOUR).toISOString();

/** A protected project (schedule, fresh verified backup on this computer and a destination). */
/** What a test changes of a project's health (its verdict only in part: the rest follows the health). */
export type HealthOver = Partial<Omit<ProjectHealth, "verdict">> & { verdict?: Partial<ProjectVerdict> };

export function protectedHealth(name: string, over: HealthOver = {}): ProjectHealth {
  return {
    project: name,
    subtitle: `database ${name}`,
    health: "protected",
    health_label: "Protected",
    reason: "backed up on schedule, kept in 3 places, restore proven",
    problems: [],
    last_good: ago(2),
    last_verified: ago(2),
    last_proven: ago(1),
    copies: [
      { place: "This computer", kind: "local", ok: true, offsite: false },
      { place: "nas", kind: "destination", ok: true, offsite: false },
      { place: "s3", kind: "destination", ok: true, offsite: true },
    ],
    schedule: "daily 02:30",
    schedule_words: "daily at 02:30",
    paused: false,
    next_run: new Date(Date.now() + 20 * HOUR).toISOString(),
    overdue: false,
    last_run: { finished_at: ago(2), succeeded: true, error_code: null, error_message: null },
    checklist: checklistWith([]),
    running: [],
    ...over,
    verdict: verdictOf(over.verdict ?? {}, { last_good: ago(2), next_run: new Date(Date.now() + 20 * HOUR).toISOString(), ...over }),
  };
}

/**
 * The engine's verdict as test data (`health::verdict` decides it; the tests of the words take
 * it as given): protected unless `v` says otherwise, the times and the count from the health.
 */
function verdictOf(v: Partial<ProjectVerdict>, h: HealthOver): ProjectVerdict {
  const open = (h.checklist ?? checklistWith([])).items.filter((i) => i.state === "gap" || i.state === "paused").length;
  return {
    state: "protected",
    tone: "ok",
    last_good: h.last_good ?? null,
    failed_at: null,
    next: h.schedule === null ? "no_schedule" : h.paused ? "schedule_paused" : h.overdue ? "overdue" : h.next_run ? "at" : "nothing",
    next_run: h.next_run ?? null,
    needs_you: open,
    backup_running: false,
    ...v,
  };
}

/** The verdict state the engine gives a project whose worst problem is `kind` (test data). */
const STATE_OF: Partial<Record<ProblemKind, VerdictState>> = {
  never_backed_up: "never_backed_up",
  no_good_backup: "never_backed_up",
  credentials_rejected: "credentials_refused",
  last_run_failed: "failed",
  overdue: "overdue",
  recovery_key_unconfirmed: "paused",
  encryption_not_set_up: "paused",
};

/** A project whose worst problem is `kind` (its state and reason as the engine would say). */
export function healthWith(name: string, kind: ProblemKind, over: HealthOver = {}): ProjectHealth {
  const p = problem(kind);
  return protectedHealth(name, {
    health: p.health,
    health_label: rule(kind).health_label,
    reason: p.reason,
    problems: [p],
    checklist: checklistWith([gapOf(p)]),
    ...over,
    verdict: {
      state: STATE_OF[kind] ?? "at_risk",
      tone: rule(kind).item === "backed_up" ? "warn" : "plain",
      ...over.verdict,
    },
  });
}

export function overview(projects: ProjectHealth[], summary?: string): HealthOverview {
  const order: Health[] = ["protected", "at_risk", "unprotected"];
  const worst = projects.reduce<Health>((w, p) => (order.indexOf(p.health) > order.indexOf(w) ? p.health : w), "protected");
  const n = projects.filter((p) => p.health === "protected").length;
  const needs = projects.reduce((sum, p) => sum + p.checklist.items.filter((i) => i.state === "gap" || i.state === "paused").length, 0);
  return {
    summary: summary ?? (projects.length === 0 ? "no projects yet" : `${n} of ${projects.length} protected`),
    worst,
    projects,
    needs_you: needs,
    needs_you_line: needs === 0 ? "Nothing needs you" : needs === 1 ? "1 thing needs you" : `${needs} things need you`,
    verdict: overviewVerdict(projects),
  };
}

/** The engine's line over every project as test data (`health::verdict::overview_verdict`). */
export function overviewVerdict(projects: ProjectHealth[], over: Partial<OverviewVerdict> = {}): OverviewVerdict {
  const protectedCount = projects.filter((p) => p.health === "protected" && p.verdict.needs_you === 0).length;
  const newest = projects
    .map((p) => p.last_good)
    .filter((t): t is string => !!t)
    .sort((a, b) => new Date(b).getTime() - new Date(a).getTime())[0];
  const all = projects.length > 0 && protectedCount === projects.length;
  return {
    projects: projects.length,
    protected: protectedCount,
    all_protected: all,
    needs_you: projects.reduce((sum, p) => sum + p.verdict.needs_you, 0),
    last_good: newest ?? null,
    running: projects.filter((p) => p.verdict.backup_running).length,
    tone: all ? "ok" : projects.some((p) => p.verdict.tone === "warn") ? "warn" : "plain",
    ...over,
  };
}

/** The health of projects known only by their summaries (screens' tests that show the home). */
export function overviewOf(summaries: { project: { name: string }; backup_count: number }[]): HealthOverview {
  return overview(
    summaries.map((s) =>
      s.backup_count === 0
        ? healthWith(s.project.name, "never_backed_up", { last_good: null, last_verified: null, copies: [] })
        : healthWith(s.project.name, "no_schedule", { schedule: null, next_run: null }),
    ),
  );
}
