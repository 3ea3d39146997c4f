// The restore wizard: choose a backup → check it → choose the target → review the plan → run →
// report. The steps' logic is the pure machine in steps.ts; this container runs the commands,
// follows the jobs and moves between the steps, each drawn by its own file in steps/. Nothing
// changes any database before "Restore" on the review step.
import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from "react";
import { type BackupRow, commands, type ErrorPayload, type JobFinished, type ProjectSummary, type Window } from "../bindings";
import { toErrorPayload } from "../ipc/errors";
import {
  canBack,
  canNext,
  canRestore,
  initialState,
  needsConsent,
  planChoices,
  preselectedBackup,
  readyPlan,
  readyRestorePlan,
  reducer,
  restoreRequest,
  runChoices,
  STEP_TITLES,
  STEPS,
  typedTarget,
  type WizardState,
} from "./steps";
import { restoreButtonLabel } from "./destructive";
import { ReportStep } from "./steps/ReportStep";
import { ReviewStep } from "./steps/ReviewStep";
import { ConsentField, OtherReasons } from "./steps/ReviewConfirm";
import { RunStep } from "./steps/RunStep";
import { BACKUPS_SHOWN, SourceStep } from "./steps/SourceStep";
import { TargetStep } from "./steps/TargetStep";
import { VerifyStep } from "./steps/VerifyStep";
import { useBackups, useProjects, useStore } from "../store";
import { PitrRestore } from "./pitr/PitrRestore";
import { Stepper } from "./Stepper";
import { useFitToViewport } from "../components/useFitToViewport";
import { formatTime } from "../components/format";
import { archiveComponents, defaultStorage } from "./steps/ComponentsRestore";
import { type Want, WhatBack } from "./WhatBack";
import "./wizard.css";

export { BACKUPS_SHOWN };

const NO_PROJECTS: ProjectSummary[] = [];
const NO_BACKUPS: BackupRow[] = [];

type Props = {
  project: string;
  /** Start with this archive chosen (a dropped file). */
  initialPath?: string;
  /** Start at "as it was at a moment", this one (RFC 3339 UTC: chosen on the project page's band). */
  initialAt?: string;
  onClose: () => void;
  /** A point in time's "Look inside at this time": open the state made (`archive`, held by the app). */
  onLookInside?: (archive: string, label: string) => void;
  /** "Some rows": look inside a backup of the project (Browse, with Recover these rows). */
  onBrowse?: (archive: string, label: string) => void;
};

function init({ project, initialPath }: { project: string; initialPath?: string | undefined }): WizardState {
  const s = initialState(project);
  return initialPath ? reducer(s, { type: "typePath", path: initialPath }) : s;
}

export function RestoreWizard({ project, initialPath, initialAt, onClose, onLookInside, onBrowse }: Props) {
  const [state, dispatch] = useReducer(reducer, { project, initialPath }, init);
  const store = useStore();
  // The project's backups and the other saved projects (possible targets), from the store.
  const backupList = useBackups(project);
  const projectList = useProjects();
  const backups = backupList.status === "ready" ? backupList.data : null;
  const loadError = backupList.status === "error" ? backupList.error : null;
  const projects = useMemo(
    () => (projectList.status === "ready" ? projectList.data.filter((x) => x.project.name !== project) : NO_PROJECTS),
    [projectList, project],
  );
  // Step 1 starts on the newest verified backup (unless a path was given or a choice made).
  useEffect(() => {
    if (!backups || state.source !== null || state.step !== "source") return;
    const b = preselectedBackup(backups);
    if (b) dispatch({ type: "chooseBackup", backupId: b.id, path: b.path });
    // Only when the list arrives: a choice the user clears is not made again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [backups]);
  // "A point in time" is offered beside the backups when the engine has restorable windows.
  const [windows, setWindows] = useState<Window[]>([]);
  // What the user wants back (the first question); "The project as it was at a moment" with
  // restorable windows is the point-in-time flow, everything else goes through the steps below.
  const [want, setWant] = useState<Want>(initialAt ? "moment" : "project");
  const mode: "backup" | "time" = want === "moment" && windows.length > 0 ? "time" : "backup";
  // A restore to a time running: the wizard is neither left nor switched to a backup meanwhile.
  const [timeRunning, setTimeRunning] = useState(false);
  useEffect(() => {
    let live = true;
    commands
      .pitrStatus(project)
      .then((r) => {
        if (live && r.status === "ok") setWindows(r.data.windows);
      })
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [project]);
  const heading = useRef<HTMLHeadingElement>(null);
  const body = useRef<HTMLFormElement>(null);
  // The jobs this wizard follows; left when it closes.
  const following = useRef<(() => void)[]>([]);
  useEffect(
    () => () => {
      for (const stop of following.current) stop();
      following.current = [];
    },
    [],
  );
  const stateRef = useRef(state);
  stateRef.current = state;

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
    await store.ready();
    try {
      const started = await commands.startVerify(path);
      if (started.status === "error") return dispatch({ type: "verifyFailed", error: toErrorPayload(started.error) });
      const jobId = started.data;
      dispatch({ type: "verifyJob", jobId });
      const unfollow = store.follow(jobId, {
        onProgress: (progress) => dispatch({ type: "verifyProgress", progress }),
        onFinished: (f) => {
          if (stateRef.current.source?.path !== path) return; // another archive was chosen meanwhile
          // A damaged archive is a failed job that still carries its report: the step shows it.
          if (f.result?.kind === "verify") dispatch({ type: "verifyDone", report: f.result.report });
          else dispatch({ type: "verifyFailed", error: f.error ?? unexpected(f) });
        },
      });
      following.current.push(unfollow);
    } catch (e) {
      dispatch({ type: "verifyFailed", error: toErrorPayload(e) });
    }
  }, [store]);

  useEffect(() => {
    if (state.step === "verify" && state.verify.status === "idle") void startVerify();
  }, [state.step, state.verify.status, startVerify]);

  // ---- the plan: made on demand (target step) and again when a choice changes (review step)
  const plan = useCallback(async () => {
    const s = stateRef.current;
    const request = restoreRequest(s, planChoices(s));
    if (!request) return;
    const seq = s.planSeq + 1;
    dispatch({ type: "planStarted" });
    try {
      const r = await commands.planRestore(request);
      if (r.status === "ok") dispatch({ type: "planLoaded", seq, plan: r.data });
      else dispatch({ type: "planFailed", seq, error: toErrorPayload(r.error) });
    } catch (e) {
      dispatch({ type: "planFailed", seq, error: toErrorPayload(e) });
    }
  }, []);

  const autoPlan =
    state.plan.status === "idle" &&
    restoreRequest(state, planChoices(state)) !== null &&
    (state.step === "review" || (state.step === "target" && (!typedTarget(state.target) || state.targetChecked)));
  useEffect(() => {
    if (autoPlan) void plan();
  }, [autoPlan, plan, state.target, state.components]);

  // ---- the restore: ONE job for every chosen component, started once, right after the confirmation
  const restoreStarted = useRef(false);
  useEffect(() => {
    if (state.step !== "run" || state.run.status !== "running" || state.run.jobId !== null) {
      if (state.step !== "run") restoreStarted.current = false;
      return;
    }
    if (restoreStarted.current) return;
    restoreStarted.current = true;
    const s = state;
    const request = restoreRequest(s, runChoices(s));
    const finish = (report: JobFinished["result"], error: ErrorPayload | null) =>
      dispatch({
        type: "runFinished",
        now: Date.now(),
        report: report?.kind === "restore" ? report.report : null,
        error,
      });
    if (!request) return finish(null, { code: "internal", message: "Nothing to restore.", hint: null, retryable: false });
    (async () => {
      await store.ready();
      try {
        const started = await commands.startRestore(request);
        if (started.status === "error") return finish(null, toErrorPayload(started.error));
        const jobId = started.data;
        dispatch({ type: "runJob", jobId });
        const unfollow = store.follow(jobId, {
          onProgress: (progress) => dispatch({ type: "runProgress", progress }),
          onFinished: (f) => finish(f.result, f.ok ? null : (f.error ?? unexpected(f))),
        });
        following.current.push(unfollow);
      } catch (e) {
        finish(null, toErrorPayload(e));
      }
    })();
  }, [state, store]);

  const cancel = async () => {
    const s = stateRef.current;
    if (s.run.status !== "running" || !s.run.jobId) return;
    dispatch({ type: "cancelRequested" });
    if (!(await store.cancel(s.run.jobId))) dispatch({ type: "cancelRefused" });
  };

  const next = () => dispatch({ type: "next" });
  const onSubmit = (e: React.FormEvent) => {
    e.preventDefault();
    if (canNext(state)) next(); // Enter moves on; it never starts the restore
  };

  // The first question presets the steps it routes to: "Some tables" opens the review's choice
  // on tables, "Files" ticks the storage and not the database (each once: a change stays).
  const preset = useRef<{ tables: boolean; files: string | null }>({ tables: false, files: null });
  useEffect(() => {
    if (want === "tables" && state.step === "review" && !preset.current.tables && state.selectionView.mode === "all") {
      preset.current.tables = true;
      dispatch({ type: "setSelectionView", view: { mode: "tables" } });
    }
  }, [want, state.step, state.selectionView.mode]);
  useEffect(() => {
    if (want !== "files" || state.verify.status !== "done" || !state.source) return;
    if (preset.current.files === state.source.path) return;
    preset.current.files = state.source.path;
    const m = state.verify.report.manifest;
    if (!m || !archiveComponents(m).storage) return;
    dispatch({ type: "setStorage", choice: defaultStorage(project) });
    dispatch({ type: "setDatabase", on: false });
  }, [want, state.verify, state.source, project]);

  const step = state.step;
  useFitToViewport(body, step);
  // Every step opens at its top, its verdict first (issue 64, storage-06: the report opened at the
  // review's scroll position, an empty box under half a "Done").
  const scroller = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    if (scroller.current) scroller.current.scrollTop = 0;
  }, [step]);
  const whatBack =
    step === "source" && !initialPath ? (
      <WhatBack
        want={want}
        onWant={setWant}
        hasTime={windows.length > 0}
        locked={timeRunning}
        onLookInside={
          onBrowse && state.source?.kind === "backup" && backups
            ? () => {
                const b = backups.find((x) => x.id === (state.source as { backupId: string }).backupId);
                if (b) onBrowse(b.path, `${project} · ${formatTime(b.created_at)}`);
              }
            : null
        }
      />
    ) : null;
  return (
    <section className="wizard" aria-labelledby="wizard-title" data-testid="restore-wizard" data-step={step}>
      <div className="toolbar">
        <button
          type="button"
          className="btn btn-quiet"
          onClick={onClose}
          disabled={step === "run" || timeRunning}
          data-testid="wizard-close"
        >
          ← {project}
        </button>
        <h2 id="wizard-title" className="screen-title">
          Restore
        </h2>
      </div>

      {/* The question sits above the point-in-time panel; in the steps, at the top of the first
          one, inside its scrolling body (the buttons below stay in view). */}
      {mode === "time" && whatBack}
      {mode === "time" && windows.length > 0 ? (
        <div className="panel wizard-body" data-testid="wizard-time">
          <h3 className="panel-title">A point in time</h3>
          <PitrRestore
            project={project}
            windows={windows}
            projects={projects.map((p) => p.project.name)}
            backups={backups ?? NO_BACKUPS}
            onClose={onClose}
            onRunning={setTimeRunning}
            {...(onLookInside ? { onLookInside } : {})}
            {...(initialAt ? { initialAt } : {})}
          />
        </div>
      ) : (
      <>
      <Stepper steps={STEPS} titles={STEP_TITLES} current={step} prefix="wizard" />

      <form ref={body} className="panel wizard-body scroll-panel" onSubmit={onSubmit} noValidate data-testid={`wizard-${step}`}>
        {/* The step scrolls in a box of its own that ends where the buttons begin (issue 44,
            restore-11: a sticky bar over the content sliced a line at its edge). */}
        <div ref={scroller} className="scroll-panel-body wizard-scroll" data-testid="wizard-scroll">
        {whatBack}
        <h3 className="panel-title" ref={heading} tabIndex={-1} data-testid="wizard-heading">
          {STEP_TITLES[step]}
        </h3>
        {step === "source" && (
          <SourceStep
            state={state}
            dispatch={dispatch}
            backups={backups}
            loadError={loadError}
            provenBackupId={
              projectList.status === "ready"
                ? (projectList.data.find((x) => x.project.name === project)?.last_passed_drill?.backup_id ?? null)
                : null
            }
          />
        )}
        {step === "verify" && (
          <VerifyStep
            state={state}
            dispatch={dispatch}
            projects={projects.map((p) => p.project.name)}
            onRetry={() => void startVerify()}
          />
        )}
        {step === "target" && (
          <TargetStep state={state} dispatch={dispatch} project={project} projects={projects} onCheck={() => dispatch({ type: "checkTarget" })} />
        )}
        {step === "review" && <ReviewStep state={state} dispatch={dispatch} onRetry={() => void plan()} />}
        {step === "run" && state.run.status === "running" && (
          <RunStep
            progress={state.run.progress}
            startedAt={state.run.startedAt}
            cancelling={state.run.cancelling}
            canCancel={state.run.jobId !== null}
            onCancel={() => void cancel()}
            onlyDatabase={!state.components.storage && !state.components.config}
            oneTransaction={readyPlan(state)?.one_transaction ?? null}
          />
        )}
        {step === "report" && state.run.status === "finished" && (
          <ReportStep
            state={state}
            onGoto={(to) => dispatch({ type: "goto", step: to })}
            onDone={onClose}
            onPutBack={() => dispatch({ type: "putBack" })}
          />
        )}

        </div>
        {/* No empty bar of buttons (and its divider) under Cancel or Done: only when it holds one. */}
        {(canBack(state) || step === "source" || step === "verify" || step === "target" || step === "review") && (
        <div className="scroll-panel-footer">
        {step === "review" && <OtherReasons state={state} />}
        <div className="form-actions wizard-actions" data-testid="wizard-actions">
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
          {step === "review" && <ConsentField state={state} dispatch={dispatch} />}
          {step === "review" && (
            <button
              type="button"
              className={`btn btn-primary${needsConsent(state) ? " btn-danger" : ""}`}
              disabled={!canRestore(state)}
              onClick={() => dispatch({ type: "confirm", now: Date.now() })}
              data-testid="wizard-restore"
            >
              {restoreButtonLabel(readyRestorePlan(state))}
            </button>
          )}
        </div>
        </div>
        )}
      </form>
      </>
      )}
    </section>
  );
}

function unexpected(f: JobFinished): ErrorPayload {
  return { code: "internal", message: `The ${f.kind} job ended without a result.`, hint: null, retryable: false };
}
