// Step 3: where to restore (this project, another saved project, a connection URL), and what is
// there now.
import type { ProjectSummary } from "../../bindings";
import { ErrorNotice } from "../../components/ErrorNotice";
import { restoreTo, type Target, type WizardState } from "../steps";
import type { StepProps } from "./types";
import { databaseLabel } from "../../components/names";

export function TargetStep({
  state,
  dispatch,
  project,
  projects,
  onCheck,
}: StepProps & { project: string; projects: ProjectSummary[]; onCheck: () => void }) {
  const t = state.target;
  const choose = (target: Target) => dispatch({ type: "chooseTarget", target });
  const firstOther = projects[0]?.project.name ?? "";
  const urlTarget = t?.kind === "url" ? t : { kind: "url" as const, url: "", password: "" };
  if (!state.components.database)
    return (
      <div data-testid="wizard-target-components">
        <p className="muted">
          The database is not restored; where the storage and configuration go was chosen in the previous step.
        </p>
        <TargetStatus state={state} onRetry={onCheck} />
      </div>
    );
  return (
    <div>
      <fieldset className="wizard-choices">
        <legend className="muted small">Where to restore</legend>
        <label className="wizard-choice">
          <input
            type="radio"
            name="target"
            checked={t?.kind === "this"}
            onChange={() => choose({ kind: "this" })}
            data-testid="wizard-target-this"
          />
          <span>This project's database ({project})</span>
        </label>
        <label className="wizard-choice">
          <input
            type="radio"
            name="target"
            checked={t?.kind === "project"}
            disabled={projects.length === 0}
            onChange={() => choose({ kind: "project", name: firstOther })}
            data-testid="wizard-target-project"
          />
          <span>
            Another saved project{projects.length === 0 ? <span className="muted"> (there is none)</span> : null}
          </span>
        </label>
        {t?.kind === "project" && (
          <div className="field wizard-indent">
            <label htmlFor="wizard-target-project-select">Project</label>
            <select
              id="wizard-target-project-select"
              value={t.name}
              onChange={(e) => choose({ kind: "project", name: e.target.value })}
              data-testid="wizard-target-project-select"
            >
              {projects.map((p) => (
                <option key={p.project.id} value={p.project.name}>
                  {p.project.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <label className="wizard-choice">
          <input
            type="radio"
            name="target"
            checked={t?.kind === "url"}
            onChange={() => choose(urlTarget)}
            data-testid="wizard-target-url"
          />
          <span>Another database (a connection URL)</span>
        </label>
        {t?.kind === "url" && (
          <div className="wizard-indent">
            <div className="field">
              <label htmlFor="wizard-target-url-input">Connection URL</label>
              <input
                id="wizard-target-url-input"
                type="text"
                className="mono"
                spellCheck={false}
                placeholder="postgres://user@host:5432/database?sslmode=require"
                value={t.url}
                onChange={(e) => choose({ ...t, url: e.target.value })}
                data-testid="wizard-target-url-input"
              />
            </div>
            <div className="field">
              <label htmlFor="wizard-target-password">Password</label>
              <input
                id="wizard-target-password"
                type="password"
                autoComplete="off"
                value={t.password}
                onChange={(e) => choose({ ...t, password: e.target.value })}
                data-testid="wizard-target-password"
              />
              <p className="field-help">Used for this restore only; never shown again.</p>
            </div>
            <button
              type="button"
              className="btn"
              onClick={onCheck}
              disabled={restoreTo(state) === null || state.plan.status === "loading"}
              data-testid="wizard-target-check"
            >
              Check the target
            </button>
          </div>
        )}
      </fieldset>
      <TargetStatus state={state} onRetry={onCheck} />
    </div>
  );
}

function TargetStatus({ state, onRetry }: { state: WizardState; onRetry: () => void }) {
  const p = state.plan;
  if (p.status === "idle") return null;
  if (p.status === "loading")
    return (
      <p className="muted" data-testid="wizard-target-loading">
        Looking at the target…
      </p>
    );
  if (p.status === "error") return <ErrorNotice error={p.error} testId="wizard-plan-error" onRetry={onRetry} />;
  const plan = p.plan.database;
  if (!plan) return null;
  return (
    <div
      className={`notice ${plan.target_empty ? "notice-ok" : "notice-warn"}`}
      role="status"
      data-testid="wizard-target-status"
      data-empty={String(plan.target_empty)}
    >
      <p className="notice-title">
        {plan.target_empty
          ? `The database ${plan.target_database} is empty.`
          : `The database ${plan.target_database} is not empty (${plan.existing.length}${plan.existing.length >= 200 ? "+" : ""} objects).`}
      </p>
      <p className="small" title={plan.target} data-testid="wizard-target-name">
        {databaseLabel(plan.target)}
      </p>
      {!plan.target_empty && (
        <p className="small">Restoring into it replaces what the backup holds; the next step shows exactly what.</p>
      )}
    </div>
  );
}
