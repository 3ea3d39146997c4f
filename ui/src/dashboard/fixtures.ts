// Test data shaped like the engine's health (the generated bindings' types), with problems
// built from the engine's own table of rules (rules.json, checked against RULES by
// `crates/core/src/health/tests.rs::the_ui_rules_json_is_the_rules`).
import type { FixAction, Health, HealthOverview, Problem, ProblemKind, ProjectHealth } from "../bindings";
import rulesJson from "./rules.json";

export type Rule = { kind: ProblemKind; health: Health; health_label: string; fix: FixAction; fix_label: string };

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

const HOUR = 3600_000;
const ago = (hours: number) => new Date(Date.now() - hours * HOUR).toISOString();

/** A protected project (schedule, fresh verified backup on this computer and a destination). */
export function protectedHealth(name: string, over: Partial<ProjectHealth> = {}): ProjectHealth {
  return {
    project: name,
    subtitle: `database ${name}`,
    health: "protected",
    health_label: "Protected",
    reason: "backed up on schedule, kept in 2 places",
    problems: [],
    last_good: ago(2),
    last_verified: ago(2),
    last_proven: null,
    copies: [
      { place: "This computer", kind: "local", ok: true },
      { place: "nas", kind: "destination", ok: true },
    ],
    schedule: "daily 02:30",
    paused: false,
    next_run: new Date(Date.now() + 20 * HOUR).toISOString(),
    overdue: false,
    last_run: { finished_at: ago(2), succeeded: true, error_code: null, error_message: null },
    ...over,
  };
}

/** A project whose worst problem is `kind` (its state and reason as the engine would say). */
export function healthWith(name: string, kind: ProblemKind, over: Partial<ProjectHealth> = {}): ProjectHealth {
  const p = problem(kind);
  return protectedHealth(name, {
    health: p.health,
    health_label: rule(kind).health_label,
    reason: p.reason,
    problems: [p],
    ...over,
  });
}

export function overview(projects: ProjectHealth[], summary?: string): HealthOverview {
  const order: Health[] = ["protected", "at_risk", "unprotected"];
  const worst = projects.reduce<Health>((w, p) => (order.indexOf(p.health) > order.indexOf(w) ? p.health : w), "protected");
  const n = projects.filter((p) => p.health === "protected").length;
  return {
    summary: summary ?? (projects.length === 0 ? "no projects yet" : `${n} of ${projects.length} protected`),
    worst,
    projects,
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
