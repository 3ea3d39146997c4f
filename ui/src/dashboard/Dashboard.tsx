// The protection dashboard (issue 29): every project worst first, each with its state, the
// facts behind it and one Fix button, under a summary line ("3 of 4 protected"). What it shows
// is what the engine decided (`health` command, `offsite_core::health`); nothing is re-derived.
import { useState } from "react";
import { type CheckItem, commands, type ErrorPayload, type FixAction, type HealthOverview, type ProjectHealth } from "../bindings";
import { toErrorPayload } from "../ipc/errors";
import type { Route } from "../screens/Main";
import { useJobActions, useLiveJobs } from "../store";
import { DashboardRow } from "./DashboardRow";
import { fixTarget } from "./fix";
import { overviewLine } from "./headline";
import "./dashboard.css";

/** Opens the Supabase dashboard of a project (tests pass their own). */
export type OpenSupabase = (project: string) => Promise<{ ok: true } | { ok: false; error: ErrorPayload }>;

export const openSupabase: OpenSupabase = async (project) => {
  try {
    const r = await commands.openSupabaseDashboard(project);
    return r.status === "ok" ? { ok: true } : { ok: false, error: toErrorPayload(r.error) };
  } catch (e) {
    return { ok: false, error: toErrorPayload(e) };
  }
};

type Props = {
  overview: HealthOverview;
  onNavigate: (route: Route) => void;
  openDashboard?: OpenSupabase;
};

/**
 * One line over every project (issue 64): "All 4 protected · last 02:30", or "1 of 4 protected · 3
 * things need you" — the engine's verdict and count in words, in the worst state's colour (with its
 * word for those who cannot see it).
 */
export function SummaryLine({ overview }: { overview: HealthOverview }) {
  const word = { protected: "all protected", at_risk: "at risk", unprotected: "unprotected" }[overview.worst];
  // The engine's count and verdict (health::verdict): the same count the cards' badges say.
  const v = overview.verdict;
  return (
    <p
      className={`dash-summary dash-summary-${overview.worst}`}
      data-testid="health-summary"
      data-worst={overview.worst}
      data-tone={v.tone}
      data-count={v.needs_you}
    >
      <span className="dash-summary-dot" aria-hidden="true" />
      <span data-testid="needs-you" data-count={v.needs_you}>
        {overviewLine(v)}
      </span>
      <span className="dash-sr"> (worst: {word})</span>
    </p>
  );
}

export function Dashboard({ overview, onNavigate, openDashboard = openSupabase }: Props) {
  const jobs = useLiveJobs();
  const { startBackup } = useJobActions();
  const [errors, setErrors] = useState<Record<string, ErrorPayload>>({});

  const fix = async (h: ProjectHealth) => {
    const action = h.problems[0]?.fix;
    if (action) await take(h.project, action);
  };
  const fixItem = async (project: string, item: CheckItem) => {
    if (item.fix) await take(project, item.fix);
  };
  const take = async (project: string, action: FixAction) => {
    const target = fixTarget(action, project);
    setErrors(({ [project]: _old, ...rest }) => rest);
    const failed = (error: ErrorPayload) => setErrors((all) => ({ ...all, [project]: error }));
    switch (target.kind) {
      case "route":
        onNavigate(target.route);
        return;
      case "backup": {
        const started = await startBackup(project);
        if (!started.ok) failed(started.error);
        return;
      }
      case "supabase": {
        const opened = await openDashboard(project);
        if (!opened.ok) failed(opened.error);
        return;
      }
    }
  };

  return (
    <>
      <SummaryLine overview={overview} />
      <ul className="dash-list" data-testid="project-list" aria-label="Projects, worst first">
        {overview.projects.map((h) => (
          <DashboardRow
            key={h.project}
            health={h}
            running={jobs.find((j) => j.project === h.project && j.kind === "backup" && !j.finished)}
            fixError={errors[h.project]}
            onOpen={(name) => onNavigate({ screen: "project", name })}
            onFix={(p) => void fix(p)}
            onFixItem={(p, item) => void fixItem(p, item)}
          />
        ))}
      </ul>
    </>
  );
}
