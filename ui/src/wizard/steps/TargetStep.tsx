// Step 3: where to restore (this project, another saved project, a database on a server — by its
// parts or a pasted URL, created empty when it does not exist yet and the role may), and what is
// there now.
import type { DatabasePlan, ProjectSummary } from "../../bindings";
import { ErrorNotice } from "../../components/ErrorNotice";
import {
  createsDatabase,
  NEW_SERVER_TARGET,
  restoreTo,
  typedTarget,
  type ServerTarget,
  type Target,
  type UrlTarget,
  type WizardState,
} from "../steps";
import type { StepProps } from "./types";
import { databaseLabel } from "../../components/names";
import { ServerFields } from "../../components/ServerFields";

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
  if (!state.components.database)
    return (
      <div data-testid="wizard-target-components">
        <p className="muted">
          The database is not restored; where the storage and configuration go was chosen in the previous step.
        </p>
        <TargetStatus state={state} onRetry={onCheck} choose={choose} />
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
            checked={typedTarget(t)}
            onChange={() => choose(NEW_SERVER_TARGET)}
            data-testid="wizard-target-server"
          />
          <span>A database on a server</span>
        </label>
        {t?.kind === "server" && <ServerTargetFields t={t} choose={choose} />}
        {t?.kind === "url" && <UrlField t={t} choose={choose} />}
        {typedTarget(t) && (
          <div className="wizard-indent">
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
      <TargetStatus state={state} onRetry={onCheck} choose={choose} />
    </div>
  );
}

type Choose = (target: Target) => void;

/** The server's parts, as the glossary names a target: server, port, user, database. */
function ServerTargetFields({ t, choose }: { t: ServerTarget; choose: Choose }) {
  return (
    <div className="wizard-indent">
      <ServerFields t={t} set={choose} idPrefix="wizard-target" databasePlaceholder="a new name creates it" passwordHelp={PASSWORD_HELP} />
      <button
        type="button"
        className="link small"
        onClick={() => choose({ kind: "url", url: "", password: t.password })}
        data-testid="wizard-target-use-url"
      >
        Paste a connection URL instead
      </button>
    </div>
  );
}

function UrlField({ t, choose }: { t: UrlTarget; choose: Choose }) {
  return (
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
      <PasswordField value={t.password} onChange={(v) => choose({ ...t, password: v })} />
      <button
        type="button"
        className="link small"
        onClick={() => choose({ ...NEW_SERVER_TARGET, password: t.password })}
        data-testid="wizard-target-use-fields"
      >
        Enter the server and database instead
      </button>
    </div>
  );
}

const PASSWORD_HELP = "Used for this restore only; never shown again.";

function PasswordField({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  return (
    <div className="field">
      <label htmlFor="wizard-target-password">Password</label>
      <input
        id="wizard-target-password"
        type="password"
        autoComplete="off"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        data-testid="wizard-target-password"
      />
      <p className="field-help">{PASSWORD_HELP}</p>
    </div>
  );
}

/** A database that does not exist yet: created empty when the role may and the user ticks the box. */
function MissingDatabase({ state, plan, choose }: { state: WizardState; plan: DatabasePlan; choose: Choose }) {
  const t = state.target;
  const create = createsDatabase(state);
  const creating = plan.creates_database;
  return (
    <div
      className={`notice ${creating ? "notice-ok" : "notice-warn"}`}
      role="status"
      data-testid="wizard-target-status"
      data-empty="true"
      data-missing="true"
    >
      <p className="notice-title">
        {creating
          ? `Offsite creates the database ${plan.target_database}, empty, then restores the backup into it.`
          : `The database ${plan.target_database} does not exist on this server yet.`}
      </p>
      <p className="small" title={plan.target} data-testid="wizard-target-name">
        {databaseLabel(plan.target)}
      </p>
      {plan.may_create_database ? (
        <>
          <label>
            <input
              type="checkbox"
              checked={create}
              onChange={(e) => {
                if (typedTarget(t)) choose({ ...t, create: e.target.checked });
              }}
              data-testid="wizard-target-create"
            />{" "}
            Create it as a new empty database
          </label>
          <p className="small muted">
            Owned by {plan.connecting_role}. If the restore fails, the new database is removed again.
          </p>
        </>
      ) : (
        <p className="small" data-testid="wizard-target-cannot-create">
          The role {plan.connecting_role} may not create databases on this server. Create the database first (as a role
          that may), or choose another one.
        </p>
      )}
    </div>
  );
}

function TargetStatus({ state, onRetry, choose }: { state: WizardState; onRetry: () => void; choose: Choose }) {
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
  if (plan.database_missing) return <MissingDatabase state={state} plan={plan} choose={choose} />;
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
