// The restore wizard: choose a backup → check it → choose the target → review the plan → run →
// report. The steps' logic is the pure machine in steps.ts; this component runs the commands and
// follows the jobs. Nothing changes any database before "Restore" on the review step.
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import {
  type BackupRow,
  commands,
  type ErrorPayload,
  type JobFinished,
  type JobProgress,
  type ProjectSummary,
} from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatBytes, formatDuration, formatTime } from "../components/format";
import { eta, fraction, phaseLabel } from "../components/JobPanel";
import { toErrorPayload } from "../ipc/errors";
import {
  type Action,
  canBack,
  canNext,
  canRestore,
  initialState,
  needsConsent,
  planChoices,
  readyPlan,
  reducer,
  restoreDisabledReasons,
  restoreTo,
  runChoices,
  STEP_TITLES,
  STEPS,
  stepIndex,
  type Target,
  type WizardState,
} from "./steps";
import { ReportStep } from "./ReportStep";
import { useJobEvents } from "./useJobEvents";
import "./wizard.css";

/** How many of the project's backups the first step lists (newest first). */
export const BACKUPS_SHOWN = 50;

type Props = {
  project: string;
  /** Start with this archive chosen (a dropped file). */
  initialPath?: string;
  onClose: () => void;
};

function init({ project, initialPath }: { project: string; initialPath?: string | undefined }): WizardState {
  const s = initialState(project);
  return initialPath ? reducer(s, { type: "typePath", path: initialPath }) : s;
}

export function RestoreWizard({ project, initialPath, onClose }: Props) {
  const [state, dispatch] = useReducer(reducer, { project, initialPath }, init);
  const [backups, setBackups] = useState<BackupRow[] | null>(null);
  const [projects, setProjects] = useState<ProjectSummary[]>([]);
  const [loadError, setLoadError] = useState<ErrorPayload | null>(null);
  const { whenReady, follow } = useJobEvents();
  const heading = useRef<HTMLHeadingElement>(null);
  const stateRef = useRef(state);
  stateRef.current = state;

  // The project's backups and the other saved projects (possible targets).
  useEffect(() => {
    let active = true;
    (async () => {
      try {
        const [b, p] = await Promise.all([commands.listBackups(project), commands.listProjects()]);
        if (!active) return;
        if (b.status === "ok") setBackups(b.data);
        else setLoadError(toErrorPayload(b.error));
        if (p.status === "ok") setProjects(p.data.filter((x) => x.project.name !== project));
      } catch (e) {
        if (active) setLoadError(toErrorPayload(e));
      }
    })();
    return () => {
      active = false;
    };
  }, [project]);

  // Each step starts at its heading, so keyboard and screen-reader users land in it.
  const firstRender = useRef(true);
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    heading.current?.focus();
  }, [state.step]);

  // Escape leaves the wizard (not while a restore runs, and not from inside a field); the capture
  // listener runs before the screens' own Escape handling, which would go to the home screen.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "Escape") return;
      e.stopPropagation();
      const s = stateRef.current;
      if (s.step === "run" || s.verify.status === "running") return;
      const t = e.target;
      if (t instanceof Element && t.closest("input, select, textarea")) return;
      onClose();
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, [onClose]);

  // ---- the integrity check: starts when the step is entered without a result for this archive
  const verifyingPath = useRef<string | null>(null);
  const startVerify = useCallback(async () => {
    const path = stateRef.current.source?.path;
    if (!path) return;
    dispatch({ type: "verifyStarted" });
    verifyingPath.current = path;
    await whenReady();
    try {
      const started = await commands.startVerify(path);
      if (started.status === "error") return dispatch({ type: "verifyFailed", error: toErrorPayload(started.error) });
      const jobId = started.data;
      dispatch({ type: "verifyJob", jobId });
      follow(jobId, {
        onProgress: (progress) => dispatch({ type: "verifyProgress", progress }),
        onFinished: (f) => {
          if (stateRef.current.source?.path !== path) return; // another archive was chosen meanwhile
          if (f.ok && f.result?.kind === "verify") dispatch({ type: "verifyDone", report: f.result.report });
          else dispatch({ type: "verifyFailed", error: f.error ?? unexpected(f) });
        },
      });
    } catch (e) {
      dispatch({ type: "verifyFailed", error: toErrorPayload(e) });
    }
  }, [whenReady, follow]);

  useEffect(() => {
    if (state.step === "verify" && state.verify.status === "idle") void startVerify();
  }, [state.step, state.verify.status, startVerify]);

  // ---- the plan: made on demand (target step) and again when a choice changes (review step)
  const plan = useCallback(async () => {
    const s = stateRef.current;
    const path = s.source?.path;
    const to = restoreTo(s);
    if (!path || !to) return;
    const seq = s.planSeq + 1;
    dispatch({ type: "planStarted" });
    try {
      const r = await commands.planRestore(path, to, planChoices(s));
      if (r.status === "ok") dispatch({ type: "planLoaded", seq, plan: r.data });
      else dispatch({ type: "planFailed", seq, error: toErrorPayload(r.error) });
    } catch (e) {
      dispatch({ type: "planFailed", seq, error: toErrorPayload(e) });
    }
  }, []);

  const autoPlan =
    state.plan.status === "idle" &&
    restoreTo(state) !== null &&
    (state.step === "review" || (state.step === "target" && state.target?.kind !== "url"));
  useEffect(() => {
    if (autoPlan) void plan();
  }, [autoPlan, plan, state.target]);

  // ---- the restore: starts once, right after the confirmation
  const restoreStarted = useRef(false);
  useEffect(() => {
    if (state.step !== "run" || state.run.status !== "running" || state.run.jobId !== null) {
      if (state.step !== "run") restoreStarted.current = false;
      return;
    }
    if (restoreStarted.current) return;
    restoreStarted.current = true;
    const s = state;
    const path = s.source?.path;
    const to = restoreTo(s);
    const finish = (report: JobFinished["result"], error: ErrorPayload | null) =>
      dispatch({
        type: "runFinished",
        now: Date.now(),
        report: report?.kind === "restore" ? report.report : null,
        error,
      });
    if (!path || !to) return finish(null, { code: "internal", message: "Nothing to restore.", hint: null, retryable: false });
    (async () => {
      await whenReady();
      try {
        const started = await commands.startRestore(path, to, runChoices(s));
        if (started.status === "error") return finish(null, toErrorPayload(started.error));
        const jobId = started.data;
        dispatch({ type: "runJob", jobId });
        follow(jobId, {
          onProgress: (progress) => dispatch({ type: "runProgress", progress }),
          onFinished: (f) => finish(f.result, f.ok ? null : (f.error ?? unexpected(f))),
        });
      } catch (e) {
        finish(null, toErrorPayload(e));
      }
    })();
  }, [state, whenReady, follow]);

  const cancel = async () => {
    const s = stateRef.current;
    if (s.run.status !== "running" || !s.run.jobId) return;
    dispatch({ type: "cancelRequested" });
    try {
      const r = await commands.cancelJob(s.run.jobId);
      if (r.status === "error" || !r.data) dispatch({ type: "cancelRefused" });
    } catch {
      dispatch({ type: "cancelRefused" });
    }
  };

  const next = () => dispatch({ type: "next" });
  const onSubmit = (e: React.FormEvent) => {
    e.preventDefault();
    if (canNext(state)) next(); // Enter moves on; it never starts the restore
  };

  const step = state.step;
  return (
    <section className="wizard" aria-labelledby="wizard-title" data-testid="restore-wizard" data-step={step}>
      <div className="toolbar">
        <button
          type="button"
          className="btn btn-quiet"
          onClick={onClose}
          disabled={step === "run"}
          data-testid="wizard-close"
        >
          ← {project}
        </button>
        <h2 id="wizard-title" className="screen-title">
          Restore
        </h2>
      </div>

      <ol className="wizard-steps" aria-label="Steps" data-testid="wizard-steps">
        {STEPS.map((st, i) => (
          <li
            key={st}
            className={`wizard-step${st === step ? " wizard-step-current" : ""}${i < stepIndex(step) ? " wizard-step-done" : ""}`}
            aria-current={st === step ? "step" : undefined}
            data-testid={`wizard-step-${st}`}
          >
            <span className="wizard-step-num">{i + 1}</span> {STEP_TITLES[st]}
          </li>
        ))}
      </ol>

      <form className="panel wizard-body" onSubmit={onSubmit} noValidate data-testid={`wizard-${step}`}>
        <h3 className="panel-title" ref={heading} tabIndex={-1} data-testid="wizard-heading">
          {STEP_TITLES[step]}
        </h3>
        {step === "source" && (
          <SourceStep state={state} dispatch={dispatch} backups={backups} loadError={loadError} />
        )}
        {step === "verify" && <VerifyStep state={state} onRetry={() => void startVerify()} />}
        {step === "target" && (
          <TargetStep state={state} dispatch={dispatch} project={project} projects={projects} onCheck={() => void plan()} />
        )}
        {step === "review" && <ReviewStep state={state} dispatch={dispatch} onRetry={() => void plan()} />}
        {step === "run" && state.run.status === "running" && (
          <RunStep
            progress={state.run.progress}
            startedAt={state.run.startedAt}
            cancelling={state.run.cancelling}
            canCancel={state.run.jobId !== null}
            onCancel={() => void cancel()}
          />
        )}
        {step === "report" && state.run.status === "finished" && (
          <ReportStep state={state} onGoto={(to) => dispatch({ type: "goto", step: to })} onDone={onClose} />
        )}

        <div className="form-actions wizard-actions">
          {canBack(state) && (
            <button type="button" className="btn" onClick={() => dispatch({ type: "back" })} data-testid="wizard-back">
              Back
            </button>
          )}
          <span className="spacer" />
          {(step === "source" || step === "verify" || step === "target") && (
            <button type="submit" className="btn btn-primary" disabled={!canNext(state)} data-testid="wizard-next">
              Next
            </button>
          )}
          {step === "review" && (
            <button
              type="button"
              className={`btn btn-primary${needsConsent(state) ? " btn-danger" : ""}`}
              disabled={!canRestore(state)}
              onClick={() => dispatch({ type: "confirm", now: Date.now() })}
              data-testid="wizard-restore"
            >
              {needsConsent(state) ? "Replace and restore" : "Restore"}
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

function unexpected(f: JobFinished): ErrorPayload {
  return { code: "internal", message: `The ${f.kind} job ended without a result.`, hint: null, retryable: false };
}

type StepProps = { state: WizardState; dispatch: (a: Action) => void };

// ---------------------------------------------------------------- 1. source

function SourceStep({
  state,
  dispatch,
  backups,
  loadError,
}: StepProps & { backups: BackupRow[] | null; loadError: ErrorPayload | null }) {
  const chosen = state.source;
  const shown = backups?.slice(0, BACKUPS_SHOWN) ?? [];
  const [pickError, setPickError] = useState<ErrorPayload | null>(null);
  return (
    <fieldset className="wizard-choices">
      <legend className="muted small">The backup to restore</legend>
      {backups === null && !loadError && <p className="muted">Loading backups…</p>}
      {loadError && <ErrorNotice error={loadError} testId="wizard-backups-error" />}
      {backups !== null && backups.length === 0 && (
        <p className="muted" data-testid="wizard-no-backups">
          This project has no backups yet. Give the path of an archive below.
        </p>
      )}
      {shown.map((b) => (
        <label key={b.id} className="wizard-choice" data-testid="wizard-backup-option" data-backup-id={b.id}>
          <input
            type="radio"
            name="source"
            checked={chosen?.kind === "backup" && chosen.backupId === b.id}
            onChange={() => dispatch({ type: "chooseBackup", backupId: b.id, path: b.path })}
            data-testid="wizard-backup-radio"
          />
          <span>
            <strong>{formatTime(b.created_at)}</strong> · {b.backup_type} · {formatBytes(b.size)} ·{" "}
            <span className={`status status-${b.status}`}>{b.status}</span>
            <br />
            <span className="mono small muted path">
              <bdi>{b.path}</bdi>
            </span>
          </span>
        </label>
      ))}
      {backups !== null && backups.length > BACKUPS_SHOWN && (
        <p className="muted small">
          The newest {BACKUPS_SHOWN} of {backups.length} backups are listed; give an older one's path below.
        </p>
      )}
      <label className="wizard-choice">
        <input
          type="radio"
          name="source"
          checked={chosen?.kind === "path" || (chosen === null && state.pathInput !== "")}
          onChange={() => dispatch({ type: "typePath", path: state.pathInput })}
          data-testid="wizard-source-path"
        />
        <span>An archive file on this computer</span>
      </label>
      <div className="field wizard-indent">
        <label htmlFor="wizard-path">Path of the archive</label>
        <input
          id="wizard-path"
          type="text"
          className="mono"
          spellCheck={false}
          placeholder="/home/you/backups/shop_20261121_120000_database.tar.gz"
          value={state.pathInput}
          onChange={(e) => dispatch({ type: "typePath", path: e.target.value })}
          data-testid="wizard-path-input"
        />
        <div className="wizard-path-row">
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              setPickError(null);
              commands.pickPath("import_file", "Choose a backup to restore").then(
                (r) => {
                  if (r.status === "error") setPickError(toErrorPayload(r.error));
                  else if (r.data) dispatch({ type: "typePath", path: r.data });
                },
                (e: unknown) => setPickError(toErrorPayload(e)),
              );
            }}
            data-testid="wizard-path-choose"
          >
            Choose file…
          </button>
          <p className="field-help" data-testid="wizard-path-note">
            Or type or paste its path, or drop it on the window.
          </p>
        </div>
        {pickError && <ErrorNotice error={pickError} testId="wizard-path-error" />}
      </div>
    </fieldset>
  );
}

// ---------------------------------------------------------------- 2. verify

function VerifyStep({ state, onRetry }: { state: WizardState; onRetry: () => void }) {
  const v = state.verify;
  return (
    <div>
      <p className="mono small path" data-testid="wizard-verify-path">
        <bdi>{state.source?.path}</bdi>
      </p>
      {(v.status === "idle" || v.status === "running") && (
        <>
          <p data-testid="wizard-verify-running">Checking every member against its SHA-256 checksum…</p>
          <Progress progress={v.status === "running" ? v.progress : null} />
        </>
      )}
      {v.status === "error" && (
        <>
          <ErrorNotice error={v.error} testId="wizard-verify-error" />
          <button type="button" className="btn" onClick={onRetry} data-testid="wizard-verify-retry">
            Check again
          </button>
        </>
      )}
      {v.status === "done" && (
        <>
          <div
            className={`notice ${v.report.ok ? "notice-ok" : "notice-error"}`}
            role="status"
            data-testid="wizard-verify-result"
            data-ok={String(v.report.ok)}
          >
            <p className="notice-title">
              {v.report.ok
                ? `Archive intact: ${formatBytes(v.report.bytes_verified)} checked`
                : `Archive damaged${v.report.first_bad ? `: ${v.report.first_bad}` : ""}. It cannot be restored.`}
            </p>
            <p className="small" data-testid="wizard-verify-sidecar">
              Checksum file beside it:{" "}
              {v.report.sidecar.status === "match"
                ? "matches"
                : v.report.sidecar.status === "missing"
                  ? "none (the manifest's checksums still cover every byte)"
                  : "does not match"}
            </p>
          </div>
          <table className="history-table wizard-table" data-testid="wizard-verify-members">
            <thead>
              <tr>
                <th>Member</th>
                <th className="num">Size</th>
                <th>Result</th>
              </tr>
            </thead>
            <tbody>
              {v.report.members.map((m) => (
                <tr key={m.name} data-testid="wizard-verify-member" data-ok={String(m.ok)}>
                  <td className="mono">{m.name}</td>
                  <td className="num">{formatBytes(m.actual_size)}</td>
                  <td className={m.ok ? "state-succeeded" : "state-failed"}>{m.ok ? "OK" : (m.problem ?? "bad")}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {v.report.problems.length > 0 && (
            <ul className="job-problems" data-testid="wizard-verify-problems">
              {v.report.problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          )}
          {!v.report.ok && (
            <button type="button" className="btn" onClick={onRetry} data-testid="wizard-verify-retry">
              Check again
            </button>
          )}
        </>
      )}
    </div>
  );
}

// ---------------------------------------------------------------- 3. target

function TargetStep({
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
  const plan = p.plan;
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
      <p className="small mono">{plan.target}</p>
      {!plan.target_empty && (
        <p className="small">Restoring into it replaces what the backup holds; the next step shows exactly what.</p>
      )}
    </div>
  );
}

// ---------------------------------------------------------------- 4. review

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

function ReviewStep({ state, dispatch, onRetry }: StepProps & { onRetry: () => void }) {
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

// ---------------------------------------------------------------- 5. run

function Progress({ progress }: { progress: JobProgress | null }) {
  const f = progress ? fraction(progress) : null;
  const percent = f === null ? null : Math.round(f * 100);
  return (
    <div className="wizard-progress">
      <p data-testid="wizard-phase">{progress ? phaseLabel(progress.phase) : "Starting…"}</p>
      <div
        className={`progress${percent === null ? " progress-indeterminate" : ""}`}
        role="progressbar"
        aria-label="Progress"
        aria-valuemin={0}
        aria-valuemax={100}
        {...(percent === null ? {} : { "aria-valuenow": percent })}
        data-testid="wizard-progress"
      >
        <div className="progress-fill" style={{ width: percent === null ? undefined : `${percent}%` }} />
      </div>
      <dl className="job-stats">
        <div>
          <dt>Done</dt>
          <dd data-testid="wizard-bytes">
            {progress ? formatBytes(progress.bytes_done) : "—"}
            {progress && progress.bytes_total !== null ? ` of ${formatBytes(progress.bytes_total)}` : ""}
            {percent !== null ? ` (${percent}%)` : ""}
          </dd>
        </div>
        <div>
          <dt>Speed</dt>
          <dd data-testid="wizard-throughput">
            {progress?.bytes_per_sec ? `${formatBytes(progress.bytes_per_sec)}/s` : "—"}
          </dd>
        </div>
        <div>
          <dt>Time left</dt>
          <dd data-testid="wizard-eta">{formatDuration(progress ? eta(progress) : null)}</dd>
        </div>
      </dl>
    </div>
  );
}

function RunStep({
  progress,
  startedAt,
  cancelling,
  canCancel,
  onCancel,
}: {
  progress: JobProgress | null;
  startedAt: number;
  cancelling: boolean;
  canCancel: boolean;
  onCancel: () => void;
}) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  return (
    <div data-testid="wizard-running">
      <Progress progress={progress} />
      <p className="muted small" data-testid="wizard-elapsed">
        Running for {formatDuration((now - startedAt) / 1000)}. The restore runs in one transaction: cancelling leaves
        the target as it was.
      </p>
      <button
        type="button"
        className="btn"
        onClick={onCancel}
        disabled={!canCancel || cancelling}
        data-testid="wizard-cancel"
      >
        {cancelling ? "Cancelling…" : "Cancel"}
      </button>
    </div>
  );
}
