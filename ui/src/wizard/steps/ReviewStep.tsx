// Step 4: the plan (what will be created, replaced and kept), the safety backup, and the typed
// consent before a non-empty database is replaced.
import { ErrorNotice } from "../../components/ErrorNotice";
import { formatTime } from "../../components/format";
import { needsConsent, readyPlan, restoreDisabledReasons } from "../steps";
import type { StepProps } from "./types";

const LIST_LIMIT = 50;

function TableList({ title, items, testId }: { title: string; items: string[]; testId: string }) {
  return (
    <div className="wizard-list" data-testid={testId} data-count={items.length}>
      <h4>
        {title} <span className="muted small">{items.length}</span>
      </h4>
      {items.length === 0 ? (
        <p className="muted small">none</p>
      ) : (
        <ul className="mono small">
          {items.slice(0, LIST_LIMIT).map((x) => (
            <li key={x}>{x}</li>
          ))}
          {items.length > LIST_LIMIT && <li className="muted">… and {items.length - LIST_LIMIT} more</li>}
        </ul>
      )}
    </div>
  );
}

export function ReviewStep({ state, dispatch, onRetry }: StepProps & { onRetry: () => void }) {
  const p = state.plan;
  if (p.status === "loading" || p.status === "idle")
    return (
      <p className="muted" data-testid="wizard-plan-loading">
        Making the plan…
      </p>
    );
  if (p.status === "error") return <ErrorNotice error={p.error} testId="wizard-plan-error" onRetry={onRetry} />;
  const plan = readyPlan(state)!;
  const reasons = restoreDisabledReasons(state);
  return (
    <div data-testid="wizard-plan">
      <dl className="kv">
        <dt>Backup</dt>
        <dd>
          {plan.project}, {formatTime(plan.created_at)} ·{" "}
          <span className="mono small">
            <bdi>{plan.archive}</bdi>
          </span>
        </dd>
        <dt>Target</dt>
        <dd className="mono" data-testid="wizard-plan-target">
          {plan.target}
        </dd>
        <dt>Target now</dt>
        <dd data-testid="wizard-plan-empty" data-empty={String(plan.target_empty)}>
          {plan.target_empty ? "empty" : `not empty: ${plan.existing.length} objects`}
        </dd>
        <dt>Rows to restore</dt>
        <dd data-testid="wizard-plan-rows">{plan.rows.toLocaleString("en-US")}</dd>
        <dt>Versions</dt>
        <dd data-testid="wizard-plan-versions">
          backup from PostgreSQL {plan.source_server_version ?? "unknown"} → server {plan.target_server_version}, with{" "}
          {plan.pg_restore_version}
        </dd>
      </dl>

      <div className="wizard-lists">
        <TableList title="Will be created" items={plan.will_create} testId="wizard-will-create" />
        <TableList title="Will be replaced" items={plan.will_replace} testId="wizard-will-replace" />
        <TableList title="Will be kept as they are" items={plan.will_keep} testId="wizard-will-keep" />
        {plan.will_drop.length > 0 && (
          <TableList
            title="Will be dropped: not in the backup, but they depend on replaced objects"
            items={plan.will_drop}
            testId="wizard-will-drop"
          />
        )}
      </div>

      {plan.missing_roles.length > 0 && (
        <div className="notice notice-warn" data-testid="wizard-missing-roles">
          <p className="notice-title">The target server lacks roles the backup uses</p>
          <p className="mono small">{plan.missing_roles.join(", ")}</p>
          <label>
            <input
              type="checkbox"
              checked={state.createRoles}
              onChange={(e) => dispatch({ type: "setCreateRoles", on: e.target.checked })}
              data-testid="wizard-create-roles"
            />{" "}
            Create them (as roles that cannot log in)
          </label>
        </div>
      )}

      {!plan.target_empty && (
        <div className="notice notice-neutral" data-testid="wizard-safety">
          <label>
            <input
              type="checkbox"
              checked={state.safetyBackup}
              onChange={(e) => dispatch({ type: "setSafetyBackup", on: e.target.checked })}
              data-testid="wizard-safety-backup"
            />{" "}
            Take a safety backup of {plan.target_database} first
          </label>
          <p className="small muted" data-testid="wizard-safety-note">
            {plan.safety_backup
              ? "A backup of the target as it is now is written before anything is replaced; the report gives its path."
              : "No safety backup: what is replaced cannot be recovered by Offsite."}
          </p>
        </div>
      )}

      {plan.warnings.length > 0 && (
        <ul className="notice notice-warn" data-testid="wizard-warnings">
          {plan.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}

      {plan.blockers.length > 0 && (
        <div className="notice notice-error" role="alert" data-testid="wizard-blockers">
          <p className="notice-title">The restore cannot run yet</p>
          <ul>
            {plan.blockers.map((b) => (
              <li key={b}>{b}</li>
            ))}
          </ul>
        </div>
      )}

      {needsConsent(state) && (
        <div className="field wizard-consent">
          <label htmlFor="wizard-consent">
            To replace the contents of <strong className="mono">{plan.target_database}</strong>, type its name:
          </label>
          <input
            id="wizard-consent"
            type="text"
            className="mono"
            autoComplete="off"
            spellCheck={false}
            value={state.consent}
            onChange={(e) => dispatch({ type: "typeConsent", text: e.target.value })}
            data-testid="wizard-consent"
          />
        </div>
      )}

      {reasons.length > 0 && (
        <p className="muted small" data-testid="wizard-restore-reasons">
          {reasons[reasons.length - 1]}
        </p>
      )}
    </div>
  );
}
