// The restore wizard's "A point in time" (issue 46 item 6): a moment chosen on the project's band
// (its restorable windows and backups; dragged, stepped by keys, or typed in the field below it —
// issue 64 item 3), the engine's plan in words (asked once the moment settles), the target (another saved project, a
// database on a server by its parts, or a connection URL — an empty database: the engine restores the base there
// first), then the job
// (progress, Cancel) and its report. What is restorable is the engine's: its windows and its plan.
// "Look inside at this time" makes the database as it was then (the same base and replay, into a
// temporary archive the app holds) and opens it in the browse screen, where "Recover these rows…"
// takes rows from it.
import { useEffect, useMemo, useRef, useState } from "react";
import { commands, type ErrorPayload, type JobProgress, type PitrPlan, type PitrRestored, type Window } from "../../bindings";
import { ErrorNotice } from "../../components/ErrorNotice";
import { countOf, localZoneLabel } from "../../components/format";
import { toErrorPayload } from "../../ipc/errors";
import { useStore } from "../../store";
import { Progress } from "../steps/Progress";
import { Details } from "../../components/Details";
import { Stepper } from "../Stepper";
import { ServerFields } from "../../components/ServerFields";
import { type DatabaseTarget, targetLabel, targetOf, targetReady } from "../databaseTarget";
import { NEW_SERVER_TARGET } from "../steps";
import { refusal, spansOf } from "./band";
import { nearestCommitWords } from "./MomentWords";
import { type BandBackup, Timeline } from "./Timeline";
import { localFieldToUtc, localSeconds, TIME_FORMAT_HINT, toLocalField, windowEndMs, windowStartMs } from "./time";
import { useMomentPlan } from "./useMomentPlan";

/** The restore wizard's steps for a point in time, in the same stepper as a backup's. */
const PITR_STEPS = ["moment", "target", "run", "report"] as const;
type PitrStep = (typeof PITR_STEPS)[number];
const PITR_STEP_TITLES: Record<PitrStep, string> = { moment: "Choose the moment", target: "Where to restore", run: "Restore", report: "Report" };

/** What the job is for: a restore, or the state made to look inside. */
type Purpose = "restore" | "look";
type Run =
  | { status: "idle" }
  | { status: "running"; purpose: Purpose; jobId: string | null; progress: JobProgress | null; cancelling: boolean }
  | { status: "done"; purpose: Purpose; restored: PitrRestored | null; error: ErrorPayload | null; cancelled: boolean };

type Props = {
  project: string;
  windows: Window[];
  projects: string[];
  onClose: () => void;
  /** Told while the restore job runs (the wizard keeps its way out and the mode choice away). */
  onRunning?: (running: boolean) => void;
  /** "Look inside at this time": the state was made; open `archive` (held by the app) as `label`. */
  onLookInside?: (archive: string, label: string) => void;
  /** The project's backups: ticks on the band. */
  backups?: readonly BandBackup[];
  /** Start at this moment (RFC 3339 UTC: one chosen on the project page's band). */
  initialAt?: string;
};

const NO_BACKUPS: BandBackup[] = [];

export function PitrRestore({ project, windows, projects, onClose, onRunning, onLookInside, backups = NO_BACKUPS, initialAt }: Props) {
  const store = useStore();
  const newest = windows.length ? Math.max(...windows.map((w) => w.to)) : null;
  const [field, setField] = useState(() =>
    initialAt && localFieldToUtc(toLocalField(Date.parse(initialAt))) ? toLocalField(Date.parse(initialAt)) : newest !== null ? toLocalField(windowEndMs(newest)) : "",
  );
  const [nowMs] = useState(() => Date.now());
  const spans = useMemo(() => spansOf(windows), [windows]);
  const [target, setTarget] = useState<DatabaseTarget>(projects[0] ? { kind: "project", project: projects[0] } : { ...NEW_SERVER_TARGET });
  /** A database on a server that does not exist yet is created empty first (the engine refuses when the role may not). */
  const [create, setCreate] = useState(false);
  const [run, setRun] = useState<Run>({ status: "idle" });
  const unfollow = useRef<(() => void) | null>(null);
  useEffect(() => () => unfollow.current?.(), []);
  const running = run.status === "running";
  useEffect(() => onRunning?.(running), [running, onRunning]);
  const at = localFieldToUtc(field);
  const atMs = at ? Date.parse(at) : null;
  // A moment outside the windows is refused here with the reason (not moved); one inside them is
  // the engine's to plan, asked once it settles.
  const refused = atMs !== null ? refusal(atMs, spans) : null;
  const asked = useMomentPlan(project, refused === null ? at : null);
  const plan: { status: "idle" } | { status: "loading" } | { status: "ok"; plan: PitrPlan } | { status: "error"; error: ErrorPayload } =
    asked.status !== "idle" && asked.at !== at ? { status: "loading" } : asked;
  const choose = (value: string) => setField(value);

  const to = targetReady(target) ? targetOf(target) : null;
  const restoreWhy = pitrRestoreWhy(at, refused !== null, plan.status, target.kind, to !== null);
  const canRestore = restoreWhy === null && run.status === "idle";
  /** Start the job for `purpose` and follow it to its end. */
  const start = async (purpose: Purpose) => {
    if (plan.status !== "ok") return;
    const planned = plan.plan.at;
    setRun({ status: "running", purpose, jobId: null, progress: null, cancelling: false });
    const fail = (error: ErrorPayload) => setRun({ status: "done", purpose, restored: null, error, cancelled: false });
    await store.ready();
    try {
      const started =
        purpose === "look"
          ? await commands.startOpenAt(project, planned)
          : to
            ? await commands.startPitrRestore(project, planned, to, target.kind !== "project" && create)
            : null;
      if (started === null) return fail({ code: "invalid_input", message: "Choose where to restore first.", hint: null, retryable: false });
      if (started.status === "error") return fail(toErrorPayload(started.error));
      const jobId = started.data;
      setRun({ status: "running", purpose, jobId, progress: null, cancelling: false });
      unfollow.current = store.follow(jobId, {
        onProgress: (progress) => setRun((r) => (r.status === "running" ? { ...r, progress } : r)),
        onFinished: (f) => {
          if (f.ok && f.result?.kind === "at_state" && onLookInside) {
            onLookInside(f.result.archive, `${project} as it was at ${localSeconds(planned)}`);
            return;
          }
          setRun({
            status: "done",
            purpose,
            restored: f.ok && f.result?.kind === "pitr_restore" ? f.result.restored : null,
            error: f.ok ? null : (f.error ?? { code: "internal", message: "The job ended without a result.", hint: null, retryable: false }),
            cancelled: f.error?.code === "cancelled",
          });
        },
      });
    } catch (e) {
      fail(toErrorPayload(e));
    }
  };
  const cancel = async () => {
    if (run.status !== "running" || !run.jobId) return;
    setRun({ ...run, cancelling: true });
    if (!(await store.cancel(run.jobId))) setRun((r) => (r.status === "running" ? { ...r, cancelling: false } : r));
  };

  const current: PitrStep = run.status === "running" ? "run" : run.status === "done" ? "report" : plan.status === "ok" ? "target" : "moment";
  const stepper = <Stepper steps={PITR_STEPS} titles={PITR_STEP_TITLES} current={current} prefix="pitr" />;
  if (run.status === "running")
    return (
      <div data-testid="pitr-running">
        {stepper}
        <Progress progress={run.progress} />
        <button type="button" className="btn" disabled={!run.jobId || run.cancelling} onClick={() => void cancel()} data-testid="pitr-cancel">
          {run.cancelling ? "Cancelling…" : "Cancel"}
        </button>
      </div>
    );
  if (run.status === "done")
    return (
      <div data-testid="pitr-report">
        {stepper}
        {run.restored ? (
          <div className="notice notice-ok" role="status">
            <p className="notice-title" data-testid="pitr-report-title">
              Restored {project} as it was at {localSeconds(run.restored.plan.at)} into {targetLabel(target)}.
            </p>
            <p className="small" data-testid="pitr-report-replayed">
              {countOf(run.restored.replayed.commits, "transaction")} replayed onto the backup ({countOf(run.restored.replayed.changes, "row change")}
              ; {countOf(run.restored.replayed.skipped, "transaction")} already in the backup).
            </p>
          </div>
        ) : run.error ? (
          <ErrorNotice error={run.error} testId="pitr-run-error" />
        ) : (
          <p data-testid="pitr-report-cancelled">
            {run.purpose === "look" ? "Making the database as it was then" : "The restore"} {run.cancelled ? "was cancelled." : "ended."}
          </p>
        )}
        <div className="form-actions">
          <button type="button" className="btn btn-primary" onClick={onClose} data-testid="pitr-done">
            Done
          </button>
        </div>
      </div>
    );

  return (
    <div data-testid="pitr-restore">
      {stepper}
      <Timeline windows={windows} backups={backups} value={atMs} nowMs={nowMs} onChange={(ms) => choose(toLocalField(ms))} />
      <div className="field">
        <label htmlFor="pitr-at">Date and time ({localZoneLabel()})</label>
        {/* The app's one date format, typed (issue 64 item 3: a datetime-local field showed the system's "11/28/2026, 12:30:34"). */}
        <input
          id="pitr-at"
          type="text"
          inputMode="numeric"
          spellCheck={false}
          autoComplete="off"
          className="mono at-time"
          placeholder={TIME_FORMAT_HINT}
          value={field}
          onChange={(e) => choose(e.target.value)}
          aria-invalid={field.trim() !== "" && at === null}
          data-testid="pitr-at"
        />
        <p className="field-help" data-testid="pitr-at-help">
          {field.trim() !== "" && at === null
            ? `Write it as ${TIME_FORMAT_HINT}, in this computer’s time.`
            : "In this computer’s time, to the second. Or drag the band above, or step it with the arrow keys."}
        </p>
      </div>
      <p className="muted small" data-testid="pitr-ranges">
        Can be restored:{" "}
        {windows.map((w) => `${localSeconds(windowStartMs(w.from, w.to))} to ${localSeconds(windowEndMs(w.to))}`).join("; ")}
      </p>
      {refused !== null && (
        <p className="text-warn small" role="alert" data-testid="pitr-refused">
          {refused}
        </p>
      )}
      {plan.status === "loading" && (
        <p className="muted small" data-testid="pitr-planning">
          Looking for the last change before it…
        </p>
      )}
      {plan.status === "error" && <ErrorNotice error={plan.error} testId="pitr-plan-error" />}
      {plan.status === "ok" && <PlanWords plan={plan.plan} />}
      {plan.status === "ok" && onLookInside && (
        <div className="field" data-testid="pitr-look">
          <p className="small">
            Or look inside first: its tables and rows as they were then (the same backup and changes, made here into a temporary
            copy), and <em>Recover these rows…</em> from there into a project. Nothing is written anywhere until you recover.
          </p>
          <div className="form-actions">
            <button type="button" className="btn" onClick={() => void start("look")} data-testid="pitr-look-inside">
              Look inside at this time
            </button>
          </div>
        </div>
      )}
      {plan.status === "ok" && (
        <fieldset className="wizard-choices" data-testid="pitr-target">
          <legend className="muted small">Where to restore</legend>
          <p className="small">
            A restore to a time goes into an empty database: the backup the window starts from is restored there first, then the
            changes. Choose a saved project whose database is empty, or a database on a server — an empty one, or a new one
            created for it.
          </p>
          <label className="wizard-choice">
            <input
              type="radio"
              name="pitr-target"
              checked={target.kind === "project"}
              disabled={projects.length === 0}
              onChange={() => setTarget({ kind: "project", project: projects[0] ?? "" })}
              data-testid="pitr-target-project"
            />
            <span>Another saved project{projects.length === 0 ? <span className="muted"> (there is none)</span> : null}</span>
          </label>
          {target.kind === "project" && (
            <div className="field wizard-indent">
              <label htmlFor="pitr-target-project-select">Project</label>
              <select id="pitr-target-project-select" value={target.project} onChange={(e) => setTarget({ kind: "project", project: e.target.value })} data-testid="pitr-target-project-select">
                {projects.map((p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </select>
            </div>
          )}
          <label className="wizard-choice">
            <input
              type="radio"
              name="pitr-target"
              checked={target.kind === "server"}
              onChange={() => setTarget({ ...NEW_SERVER_TARGET })}
              data-testid="pitr-target-server"
            />
            <span>A database on a server</span>
          </label>
          {target.kind === "server" && (
            <div className="wizard-indent">
              <ServerFields
                t={target}
                set={setTarget}
                idPrefix="pitr-target-server"
                databasePlaceholder="an empty database"
                passwordHelp="Used for this restore only; never shown again."
              />
            </div>
          )}
          <label className="wizard-choice">
            <input
              type="radio"
              name="pitr-target"
              checked={target.kind === "url"}
              onChange={() => setTarget({ kind: "url", url: "", password: "" })}
              data-testid="pitr-target-url"
            />
            <span>Another database (a connection URL)</span>
          </label>
          {target.kind === "url" && (
            <div className="wizard-indent">
              <div className="field">
                <label htmlFor="pitr-target-url-input">Connection URL</label>
                <input
                  id="pitr-target-url-input"
                  type="text"
                  className="mono"
                  spellCheck={false}
                  placeholder="postgres://user@host:5432/database?sslmode=require"
                  value={target.url}
                  onChange={(e) => setTarget({ ...target, url: e.target.value })}
                  data-testid="pitr-target-url-input"
                />
              </div>
              <div className="field">
                <label htmlFor="pitr-target-password">Password</label>
                <input
                  id="pitr-target-password"
                  type="password"
                  autoComplete="off"
                  value={target.password}
                  onChange={(e) => setTarget({ ...target, password: e.target.value })}
                  data-testid="pitr-target-password"
                />
                <p className="field-help">Used for this restore only; never shown again.</p>
              </div>
            </div>
          )}
          {target.kind !== "project" && (
            <label className="wizard-indent" data-testid="pitr-target-create-label">
              <input type="checkbox" checked={create} onChange={(e) => setCreate(e.target.checked)} data-testid="pitr-target-create" />{" "}
              Create it as a new empty database if it does not exist yet (the role needs the right to create databases; removed
              again if the restore fails)
            </label>
          )}
        </fieldset>
      )}
      <div className="form-actions">
        <span className="spacer" />
        {restoreWhy !== null && (
          <span className="muted small" data-testid="pitr-restore-why">
            {restoreWhy}
          </span>
        )}
        <button type="button" className="btn btn-primary" disabled={!canRestore} onClick={() => void start("restore")} data-testid="pitr-restore-start">
          Restore to this time
        </button>
      </div>
    </div>
  );
}

/** Why "Restore to this time" waits, said beside it (issue 64 item 6); null: it can start. */
export function pitrRestoreWhy(
  at: string | null,
  refused: boolean,
  plan: "idle" | "loading" | "ok" | "error",
  target: DatabaseTarget["kind"],
  ready: boolean,
): string | null {
  if (!at) return "Enter a date and time first.";
  if (refused) return "Choose a moment that can be restored (above).";
  if (plan === "error") return "This time cannot be restored (above).";
  if (plan !== "ok") return "Looking for the last change before it…";
  if (!ready) {
    if (target === "url") return "Enter the connection URL of the database to restore into (postgres://…).";
    if (target === "server") return "Enter the server, user and database to restore into.";
    return "Choose where to restore.";
  }
  return null;
}

/** The engine's plan in words: the base, the change data, where the replay stops. */
export function PlanWords({ plan }: { plan: PitrPlan }) {
  return (
    <div className="notice notice-neutral" role="status" data-testid="pitr-plan-words">
      <p className="notice-title">Restore as it was at {localSeconds(plan.at)}</p>
      <ul className="small">
        <li data-testid="pitr-plan-base">
          Starts from the backup of {localSeconds(plan.base_at)}
        </li>
        <li data-testid="pitr-plan-segments">
          Then replays {countOf(plan.transactions, "transaction")} from {countOf(plan.segments.length, "change file")}
        </li>
        <li data-testid="pitr-plan-stop">
          {plan.stop_commit_at
            ? `${nearestCommitWords(plan.at, plan.stop_commit_at)}; the restore stops there`
            : "No change was committed between the backup and this time: the backup alone is restored"}
        </li>
        {plan.not_covered.length > 0 && (
          <li data-testid="pitr-plan-not-covered">
            Restored as in the backup (their changes are not captured):{" "}
            {plan.not_covered.map(([t, why]) => `${t} (${why})`).join(", ")}
          </li>
        )}
      </ul>
      {/* The engine's own terms, for whoever needs them (issue 64 item 3: no LSN or RFC 3339 on screen). */}
      <Details testId="pitr-plan-details">
        <ul>
          <li>Time sent: {plan.at} (UTC)</li>
          {plan.stop_commit_at && <li>Last commit replayed: {plan.stop_commit_at}</li>}
          {plan.stop_commit_lsn && <li>Its position in the write-ahead log (LSN): {plan.stop_commit_lsn}</li>}
        </ul>
      </Details>
    </div>
  );
}
