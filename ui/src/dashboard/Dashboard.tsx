// The protection dashboard (issue 29): every project worst first, each with its state, the
// facts behind it and one Fix button, under a summary line ("3 of 4 protected"). What it shows
// is what the engine decided (`health` command, `offsite_core::health`); nothing is re-derived.
import { useMemo, useState } from "react";
import { commands, type ErrorPayload, type HealthOverview, type ProjectHealth, type ProjectSummary } from "../bindings";
import { toErrorPayload } from "../ipc/errors";
import type { Route } from "../screens/Main";
import { useJobActions, useLiveJobs, useProjects } from "../store";
import { DashboardRow } from "./DashboardRow";
import { fixTarget } from "./fix";
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

/** "3 of 4 protected", in the worst state's colour (with its word for those who cannot see it). */
export function SummaryLine({ overview }: { overview: HealthOverview }) {
  const word = { protected: "all protected", at_risk: "at risk", unprotected: "unprotected" }[overview.worst];
  return (
    <p className={`dash-summary dash-summary-${overview.worst}`} data-testid="health-summary" data-worst={overview.worst}>
      <span className="dash-summary-dot" aria-hidden="true" />
      {overview.summary}
      <span className="dash-sr"> (worst: {word})</span>
    </p>
  );
}

export function Dashboard({ overview, onNavigate, openDashboard = openSupabase }: Props) {
  const projects = useProjects();
  const summaries = useMemo(() => {
    const m = new Map<string, ProjectSummary>();
    if (projects.status === "ready") for (const s of projects.data) m.set(s.project.name, s);
    return m;
  }, [projects]);
  const jobs = useLiveJobs();
  const { startBackup } = useJobActions();
  const [errors, setErrors] = useState<Record<string, ErrorPayload>>({});

  const fix = async (h: ProjectHealth) => {
    const action = h.problems[0]?.fix;
    if (!action) return;
    const target = fixTarget(action, h.project);
    setErrors(({ [h.project]: _old, ...rest }) => rest);
    const failed = (error: ErrorPayload) => setErrors((all) => ({ ...all, [h.project]: error }));
    switch (target.kind) {
      case "route":
        onNavigate(target.route);
        return;
      case "backup": {
        const started = await startBackup(h.project);
        if (!started.ok) failed(started.error);
        return;
      }
      case "supabase": {
        const opened = await openDashboard(h.project);
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
            summary={summaries.get(h.project)}
            running={jobs.find((j) => j.project === h.project && j.kind === "backup" && !j.finished)}
            fixError={errors[h.project]}
            onOpen={(name) => onNavigate({ screen: "project", name })}
            onFix={(p) => void fix(p)}
          />
        ))}
      </ul>
    </>
  );
}
