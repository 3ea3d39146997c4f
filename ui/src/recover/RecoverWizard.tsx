// "Recover these rows…" (issue 45): the rows of a backup's table that match the filter, brought
// back into a live database with the rows they need. Target → the plan (per table what is
// inserted, overwritten, left and kept, sample rows, triggers; what overwrites in red) → the typed
// word → one job with progress and Cancel → the report with per-table counts and Undo. The engine
// decides everything; nothing is written before the button on the plan.
import { useEffect, useRef, useState } from "react";
import type { ColumnEquals, ErrorPayload, JobFinished, JobProgress, RecoverReport, RecoverRequest, RowKeys, UndoReport } from "../bindings";
import { Details } from "../components/Details";
import { ErrorNotice } from "../components/ErrorNotice";
import { ServerFields } from "../components/ServerFields";
import type { Call } from "../ipc/call";
import type { JobHandlers } from "../store/store";
import { NEW_SERVER_TARGET } from "../wizard/steps";
import { Progress } from "../wizard/steps/Progress";
import { plural, sentenceCase } from "../words";
import {
  CONFIRM_WORD,
  canStart,
  destructiveLines,
  quotedTable,
  type RecoverForm,
  recoverRequest,
  recoveryName,
  startLabel,
  targetReady,
  typedPassword,
  totals,
  undoSummary,
} from "./rules";
import { PlanTables, ReportTables, UndoTables } from "./RecoverTables";
import { chosenWords } from "./chosen";
import "../wizard/wizard.css";
import "./recover.css";

/** What the wizard asks of the app (the generated commands and the job store; tests pass their own). */
export type RecoverApi = {
  plan: (request: RecoverRequest) => Promise<Call<RecoverReport>>;
  start: (request: RecoverRequest) => Promise<Call<string>>;
  undo: (undoId: string, password: string | null) => Promise<Call<string>>;
  follow: (jobId: string, handlers: JobHandlers) => () => void;
  cancel: (jobId: string) => Promise<boolean>;
};

type Props = {
  archive: string;
  schema: string;
  /** The table's name. */
  name: string;
  filters: ColumnEquals[];
  /** Rows ticked one by one (Browse, Diff), by the key the engine gave each. */
  keys?: RowKeys | null;
  /** What a row the target has with other values gets at first (Diff's changed rows: the backup's). */
  onConflict?: "keep" | "update";
  /** The saved projects (possible targets); the first is chosen. */
  projects: string[];
  api: RecoverApi;
  onClose: () => void;
};

/** Which rows, in the words above the form: the ticked ones, or the filters'. */
export function whereWords(filters: ColumnEquals[], keys?: RowKeys | null): string {
  const where = filters.map((f) => `${f.column} = ${f.value}`).join(" and ");
  if (keys && keys.values.length > 0) {
    const n = keys.values.length;
    return `The ${n === 1 ? "row" : `${n} rows`} you ticked (${chosenWords(keys)})${where ? `, where ${where}` : ""}`;
  }
  return `The rows where ${where}`;
}

type Step =
  | { name: "choose" }
  | { name: "planning" }
  | { name: "plan"; plan: RecoverReport }
  | { name: "running"; jobId: string; progress: JobProgress | null; cancelling: boolean }
  | { name: "done"; report: RecoverReport }
  | { name: "undoing"; report: RecoverReport; jobId: string; progress: JobProgress | null }
  | { name: "undone"; report: RecoverReport; undo: UndoReport }
  | { name: "cancelled" };

const unexpected = (f: JobFinished): ErrorPayload => ({
  code: "internal",
  message: `The job ended without a report (${f.kind}).`,
  hint: null,
  retryable: false,
});

export function RecoverWizard({ archive, schema, name, filters, keys = null, onConflict = "keep", projects, api, onClose }: Props) {
  const table = `${schema}.${name}`;
  const [form, setForm] = useState<RecoverForm>({
    target: projects[0] ? { kind: "project", project: projects[0] } : { ...NEW_SERVER_TARGET },
    children: false,
    onConflict,
  });
  const [step, setStep] = useState<Step>({ name: "choose" });
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [typed, setTyped] = useState("");
  const following = useRef<(() => void)[]>([]);
  useEffect(
    () => () => {
      for (const stop of following.current) stop();
    },
    [],
  );
  const request = recoverRequest(archive, quotedTable(schema, name), filters, form, keys);
  const password = typedPassword(form.target);

  const plan = async () => {
    if (!request) return;
    setError(null);
    setTyped("");
    setStep({ name: "planning" });
    const r = await api.plan({ ...request, dry_run: true });
    if (r.ok) setStep({ name: "plan", plan: r.data });
    else {
      setError(r.error);
      setStep({ name: "choose" });
    }
  };

  const start = async () => {
    if (!request) return;
    setError(null);
    const r = await api.start(request);
    if (!r.ok) return setError(r.error);
    const jobId = r.data;
    setStep({ name: "running", jobId, progress: null, cancelling: false });
    following.current.push(
      api.follow(jobId, {
        onProgress: (progress) => setStep((s) => (s.name === "running" ? { ...s, progress } : s)),
        onFinished: (f) => {
          if (f.ok && f.result?.kind === "recover") return setStep({ name: "done", report: f.result.report });
          if (f.error?.code === "cancelled") return setStep({ name: "cancelled" });
          setError(f.error ?? unexpected(f));
          setStep({ name: "choose" });
        },
      }),
    );
  };

  const cancel = async (jobId: string) => {
    setStep((s) => (s.name === "running" ? { ...s, cancelling: true } : s));
    if (!(await api.cancel(jobId))) setStep((s) => (s.name === "running" ? { ...s, cancelling: false } : s));
  };

  const undo = async (report: RecoverReport) => {
    if (!report.undo_id) return;
    setError(null);
    const r = await api.undo(report.undo_id, password);
    if (!r.ok) return setError(r.error);
    const jobId = r.data;
    setStep({ name: "undoing", report, jobId, progress: null });
    following.current.push(
      api.follow(jobId, {
        onProgress: (progress) => setStep((s) => (s.name === "undoing" ? { ...s, progress } : s)),
        onFinished: (f) => {
          if (f.ok && f.result?.kind === "recover_undo") return setStep({ name: "undone", report, undo: f.result.report });
          setError(f.error ?? unexpected(f));
          setStep({ name: "done", report });
        },
      }),
    );
  };

  const busy = step.name === "running" || step.name === "undoing" || step.name === "planning";
  return (
    <section className="panel recover" aria-labelledby="recover-title" data-testid="recover-wizard">
      <div className="toolbar">
        <h3 id="recover-title" className="panel-title">
          Recover rows of {table}
        </h3>
        <span className="spacer" />
        <button type="button" className="btn btn-quiet btn-small" onClick={onClose} disabled={busy} data-testid="recover-close">
          {step.name === "done" || step.name === "undone" ? "Close" : "Cancel"}
        </button>
      </div>
      <p className="small muted" data-testid="recover-where">
        {whereWords(filters, keys)}, with every row they reference that the target lacks.
      </p>
      {error && <ErrorNotice error={error} testId="recover-error" />}
      {(step.name === "choose" || step.name === "planning") && (
        <ChooseStep form={form} setForm={setForm} projects={projects} planning={step.name === "planning"} onPlan={() => void plan()} />
      )}
      {step.name === "plan" && (
        <PlanStep
          plan={step.plan}
          typed={typed}
          setTyped={setTyped}
          onBack={() => setStep({ name: "choose" })}
          onStart={() => void start()}
        />
      )}
      {step.name === "running" && (
        <div data-testid="recover-running">
          <p>Recovering into {request?.to.project ?? "the database"}… (one transaction: all of it or nothing)</p>
          <Progress progress={step.progress} />
          <button type="button" className="btn" onClick={() => void cancel(step.jobId)} disabled={step.cancelling} data-testid="recover-cancel">
            {step.cancelling ? "Cancelling…" : "Cancel"}
          </button>
        </div>
      )}
      {step.name === "cancelled" && (
        <p className="notice notice-neutral" role="status" data-testid="recover-cancelled">
          Cancelled: nothing was written.
        </p>
      )}
      {(step.name === "done" || step.name === "undoing") && (
        <div data-testid="recover-report">
          <p className="notice notice-ok" role="status" data-testid="recover-done-text">
            {plural(totals(step.report.tables).insert + totals(step.report.tables).update, "row")} recovered into{" "}
            {step.report.target} ({plural(step.report.tables.length, "table")}).
            {step.report.undo_id && " Undo puts them back as they were before."}
          </p>
          {step.report.undo_id && (
            <Details testId="recover-undo-details">
              Undo id <span className="mono" data-testid="recover-undo-id">{step.report.undo_id}</span> (
              <span className="mono">offsite recover --undo {step.report.undo_id}</span> in a terminal does the same)
            </Details>
          )}
          <ReportTables report={step.report} />
          {step.name === "undoing" ? (
            <Progress progress={step.progress} />
          ) : (
            step.report.undo_id && (
              <button type="button" className="btn btn-danger" onClick={() => void undo(step.report)} data-testid="recover-undo">
                Undo this recovery
              </button>
            )
          )}
        </div>
      )}
      {step.name === "undone" && <UndoneStep undo={step.undo} />}
    </section>
  );
}

function ChooseStep({
  form,
  setForm,
  projects,
  planning,
  onPlan,
}: {
  form: RecoverForm;
  setForm: (f: RecoverForm) => void;
  projects: string[];
  planning: boolean;
  onPlan: () => void;
}) {
  const t = form.target;
  return (
    <form
      className="recover-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (targetReady(t)) onPlan();
      }}
    >
      <fieldset>
        <legend>Into</legend>
        <label className="choice">
          <input
            type="radio"
            name="recover-target"
            checked={t.kind === "project"}
            disabled={projects.length === 0}
            onChange={() => setForm({ ...form, target: { kind: "project", project: projects[0] ?? "" } })}
            data-testid="recover-target-project"
          />{" "}
          A project’s database{" "}
          {t.kind === "project" && (
            <select
              value={t.project}
              onChange={(e) => setForm({ ...form, target: { kind: "project", project: e.target.value } })}
              aria-label="Project"
              data-testid="recover-project"
            >
              {projects.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          )}
        </label>
        <label className="choice">
          <input
            type="radio"
            name="recover-target"
            checked={t.kind === "server"}
            onChange={() => setForm({ ...form, target: { ...NEW_SERVER_TARGET } })}
            data-testid="recover-target-server"
          />{" "}
          A database on a server
        </label>
        {t.kind === "server" && (
          <div className="recover-server">
            <ServerFields t={t} set={(target) => setForm({ ...form, target })} idPrefix="recover-server" />
          </div>
        )}
        <label className="choice">
          <input
            type="radio"
            name="recover-target"
            checked={t.kind === "url"}
            onChange={() => setForm({ ...form, target: { kind: "url", url: "", password: "" } })}
            data-testid="recover-target-url"
          />{" "}
          A database by URL
        </label>
        {t.kind === "url" && (
          <div className="recover-url">
            <input
              className="grow"
              value={t.url}
              placeholder="postgres://user@host:5432/database"
              aria-label="Database URL"
              onChange={(e) => setForm({ ...form, target: { ...t, url: e.target.value } })}
              data-testid="recover-url"
            />
            <input
              type="password"
              value={t.password}
              placeholder="Password"
              aria-label="Password"
              autoComplete="off"
              onChange={(e) => setForm({ ...form, target: { ...t, password: e.target.value } })}
              data-testid="recover-password"
            />
          </div>
        )}
      </fieldset>
      <fieldset>
        <legend>Rows</legend>
        <label className="choice">
          <input
            type="checkbox"
            checked={form.children}
            onChange={(e) => setForm({ ...form, children: e.target.checked })}
            data-testid="recover-children"
          />{" "}
          Also the rows that reference them (children, transitively: a tenant’s whole subtree)
        </label>
      </fieldset>
      <fieldset>
        <legend>A row the target has with other values</legend>
        <label className="choice">
          <input
            type="radio"
            name="recover-conflict"
            checked={form.onConflict === "keep"}
            onChange={() => setForm({ ...form, onConflict: "keep" })}
            data-testid="recover-keep"
          />{" "}
          Keep the target’s row
        </label>
        <label className="choice">
          <input
            type="radio"
            name="recover-conflict"
            checked={form.onConflict === "update"}
            onChange={() => setForm({ ...form, onConflict: "update" })}
            data-testid="recover-update"
          />{" "}
          Overwrite it with the backup’s
        </label>
      </fieldset>
      <div className="toolbar">
        <span className="spacer" />
        <button type="submit" className="btn btn-primary" disabled={planning || !targetReady(t)} data-testid="recover-plan">
          {planning ? "Planning…" : "Show the plan"}
        </button>
      </div>
    </form>
  );
}

function PlanStep({
  plan,
  typed,
  setTyped,
  onBack,
  onStart,
}: {
  plan: RecoverReport;
  typed: string;
  setTyped: (s: string) => void;
  onBack: () => void;
  onStart: () => void;
}) {
  const red = destructiveLines(plan);
  return (
    <div data-testid="recover-plan-view">
      {red && (
        <div className="notice notice-error destroy-banner" role="alert" data-testid="recover-destroys">
          {red.map((line) => (
            <p key={line} className="notice-title">
              {line}
            </p>
          ))}
        </div>
      )}
      <PlanTables plan={plan} />
      {plan.notes.length > 0 && (
        <ul className="small muted" data-testid="recover-notes">
          {plan.notes.map((n) => (
            <li key={n}>{sentenceCase(n)}</li>
          ))}
        </ul>
      )}
      <label className="recover-confirm">
        Type <strong>{CONFIRM_WORD}</strong> to confirm{" "}
        <input value={typed} onChange={(e) => setTyped(e.target.value)} aria-label="Confirmation" data-testid="recover-confirm" />
      </label>
      <div className="toolbar">
        <button type="button" className="btn" onClick={onBack} data-testid="recover-back">
          ← Back
        </button>
        <span className="spacer" />
        <button
          type="button"
          className={`btn ${red ? "btn-danger" : "btn-primary"}`}
          disabled={!canStart(plan, typed)}
          onClick={onStart}
          data-testid="recover-start"
        >
          {startLabel(plan)}
        </button>
      </div>
    </div>
  );
}

function UndoneStep({ undo }: { undo: UndoReport }) {
  const s = undoSummary(undo);
  return (
    <div data-testid="recover-undone">
      <p className="notice notice-ok" role="status">
        {sentenceCase(recoveryName(undo.id))} was undone: {plural(s.deleted, "inserted row")} deleted, {plural(s.restored, "row")} given
        their old values back.
      </p>
      {s.left > 0 && (
        <p className="notice notice-warn" data-testid="recover-undo-left">
          {plural(s.left, "row")} changed since the recovery and {s.left === 1 ? "was" : "were"} left as {s.left === 1 ? "it is" : "they are"}.
        </p>
      )}
      <UndoTables undo={undo} />
    </div>
  );
}
