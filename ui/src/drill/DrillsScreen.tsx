// A project's restore drills: run one now (which backup, restored where), its progress while it
// runs (the job's events, as backups and restores show theirs), the past drills, and a drill's
// report with every check, its signature and "Save report…". Also the project's validation
// queries, which every drill runs.
import { useCallback, useEffect, useMemo, useState } from "react";
import type { DrillReport, ErrorPayload, Window } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { FinishedView, ProgressView } from "../components/JobPanel";
import { formatBytes } from "../components/format";
import { backupName, backupNames } from "../components/names";
import { useBackups, useDrillsVersion, useJobActions, useLiveJob, useLiveJobs } from "../store";
import type { Call } from "../ipc/call";
import { DrillList, type DrillRow } from "./DrillList";
import { DrillReportView, type SaveState, type SignatureState } from "./DrillReportView";
import { DrillRunForm, type DrillRunRequest, type DrillTargetChoice } from "./DrillRunForm";
import { DrillSettingsForm, type DrillSettingsSave, type DrillSettingsView } from "./DrillSettingsForm";
import { type CheckRow, ValidationChecks } from "./ValidationChecks";
import "./drill.css";

/** What the screen asks of the app (the generated commands; tests pass their own). */
export type DrillApi = {
  list: (project: string) => Promise<Call<DrillRow[]>>;
  report: (drillId: string) => Promise<Call<DrillReport>>;
  /** Whether the report's signature verifies (absent: this build cannot check signatures). */
  verify?: (drillId: string) => Promise<Call<{ valid: boolean; detail: string | null }>>;
  /** The save dialog, then the printable page written; null when the dialog was cancelled. */
  save?: (drillId: string) => Promise<Call<string | null>>;
  /** Starts the drill job; its id. */
  start: (project: string, request: DrillRunRequest) => Promise<Call<string>>;
  /** The project's restorable windows (absent, or none: no point in time is offered). */
  windows?: (project: string) => Promise<Call<Window[]>>;
  /** Where "Run drill now" starts from: the project's drill settings. */
  defaultTarget: (project: string) => Promise<DrillTargetChoice>;
  /** The project's drill settings (absent: not in this build). */
  settings?: {
    get: (project: string) => Promise<Call<DrillSettingsView>>;
    save: (project: string, save: DrillSettingsSave) => Promise<Call<DrillSettingsView>>;
  };
  /** The project's validation queries (absent: not in this build). */
  checks?: {
    list: (project: string) => Promise<Call<CheckRow[]>>;
    add: (project: string, sql: string, expect: string) => Promise<Call<unknown>>;
    remove: (project: string, id: string) => Promise<Call<unknown>>;
  };
};

type Load<T> = { status: "loading" } | { status: "ready"; data: T } | { status: "error"; error: ErrorPayload };

/** `initialAt`: a moment chosen on the point-in-time band (RFC 3339 UTC): the form starts on it. */
type Props = { project: string; api: DrillApi; onBack: () => void; initialAt?: string };

export function DrillsScreen({ project, api, onBack, initialAt }: Props) {
  const backups = useBackups(project);
  const [drills, setDrills] = useState<Load<DrillRow[]>>({ status: "loading" });
  const [selected, setSelected] = useState<string | null>(null);
  const [report, setReport] = useState<Load<DrillReport> | null>(null);
  const [signature, setSignature] = useState<SignatureState | undefined>(undefined);
  const [save, setSave] = useState<SaveState>({ status: "idle" });
  const [startError, setStartError] = useState<ErrorPayload | null>(null);
  const [target, setTarget] = useState<DrillTargetChoice | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const started = useLiveJob(jobId);
  // Back on this screen while a drill of the project runs (started here before, or elsewhere).
  const other = useLiveJobs(project).find((j) => j.kind === "drill" && !j.finished) ?? null;
  const job = started ?? other;
  const running = job !== null && !job.finished;
  const { dismiss, cancel } = useJobActions();

  const loadDrills = useCallback(async () => {
    const r = await api.list(project);
    setDrills(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error });
  }, [api, project]);

  useEffect(() => {
    void loadDrills();
    void api.defaultTarget(project).then(setTarget);
  }, [api, project, loadDrills]);

  const [windows, setWindows] = useState<Window[]>([]);
  useEffect(() => {
    let stale = false;
    void api.windows?.(project).then((r) => {
      if (!stale && r.ok) setWindows(r.data);
    });
    return () => {
      stale = true;
    };
  }, [api, project]);

  // A drill recorded elsewhere (a scheduled drill, the command line): the catalog's change feed
  // names it, and the list learns it.
  const drillsVersion = useDrillsVersion(project);
  useEffect(() => {
    if (drillsVersion > 0) void loadDrills();
  }, [drillsVersion, loadDrills]);

  const open = useCallback(
    async (id: string) => {
      setSelected(id);
      setReport({ status: "loading" });
      setSave({ status: "idle" });
      setSignature(api.verify ? { status: "checking" } : undefined);
      const r = await api.report(id);
      setReport(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error });
      if (!api.verify) return;
      const v = await api.verify(id);
      setSignature(
        v.ok ? { status: v.data.valid ? "valid" : "invalid", detail: v.data.detail } : { status: "unknown", error: v.error },
      );
    },
    [api],
  );

  // The drill this screen started ended: the list learns it and its report opens.
  const finishedId = job?.finished ? job.id : null;
  useEffect(() => {
    if (!finishedId || !job?.finished) return;
    void loadDrills();
    const drillId = drillIdOf(job.finished.result);
    if (drillId) void open(drillId);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [finishedId]);

  const run = async (request: DrillRunRequest) => {
    setStartError(null);
    const r = await api.start(project, request);
    if (r.ok) setJobId(r.data);
    else setStartError(r.error);
  };

  const saveReport = async () => {
    if (!selected || !api.save) return;
    setSave({ status: "saving" });
    const r = await api.save(selected);
    if (!r.ok) setSave({ status: "error", error: r.error });
    else setSave(r.data === null ? { status: "idle" } : { status: "saved", path: r.data });
  };

  const names = useMemo(
    () => new Map(backups.status === "ready" ? backups.data.map((b) => [b.id, b] as const) : []),
    [backups],
  );

  // Each choice reads differently: two backups of one second get what tells them apart (issue 44).
  const choices = useMemo(() => {
    if (backups.status !== "ready") return [];
    const usable = backups.data.filter((b) => b.status !== "corrupt" && b.status !== "missing");
    const named = backupNames(usable);
    return usable.map((b) => {
      const name = named.get(b.id) ?? backupName(b);
      // The size once: the name carries it already when it is what tells two apart.
      const size = formatBytes(b.size);
      return { id: b.id, created_at: b.created_at, label: name.endsWith(`, ${size}`) ? name : `${name} · ${size}` };
    });
  }, [backups]);

  return (
    <section aria-labelledby="drills-title" data-testid="drills-screen" data-project={project}>
      <div className="toolbar">
        <button type="button" className="btn btn-quiet" onClick={onBack} data-testid="drills-back">
          ← {project}
        </button>
        <h2 id="drills-title" className="screen-title">
          Restore drills
        </h2>
      </div>
      <p className="small muted">
        A drill restores a backup somewhere safe, proves every table holds the rows that were backed up, runs your
        validation queries, measures the recovery time and writes a signed report.
      </p>

      <section className="panel" aria-label="Run a drill">
        <h3 className="panel-title">Run a drill</h3>
        {target && (
          <DrillRunForm
            {...(initialAt ? { initialAt } : {})}
            key={target.kind === "server" ? target.url : "throwaway"}
            backups={choices}
            defaultTarget={target}
            running={running}
            onRun={(r) => void run(r)}
            windows={windows}
          />
        )}
        {startError && <ErrorNotice error={startError} testId="drill-start-error" />}
        {job && !job.finished && <ProgressView job={job} onCancel={() => void cancel(job.id)} />}
        {job?.finished && (
          <FinishedView
            job={job}
            onDismiss={() => {
              dismiss(job.id);
              setJobId(null);
            }}
          />
        )}
      </section>

      <section className="panel" aria-label="Past drills">
        <h3 className="panel-title">Past drills</h3>
        {drills.status === "loading" && <p className="muted small">Loading drills…</p>}
        {drills.status === "error" && <ErrorNotice error={drills.error} testId="drills-error" onRetry={() => void loadDrills()} />}
        {drills.status === "ready" && <DrillList drills={drills.data} selected={selected} names={names} onOpen={(id) => void open(id)} />}
      </section>

      {report?.status === "loading" && <p className="muted small" data-testid="drill-report-loading">Loading the report…</p>}
      {report?.status === "error" && <ErrorNotice error={report.error} testId="drill-report-error" />}
      {report?.status === "ready" && (
        <DrillReportView
          report={report.data}
          names={names}
          signature={signature}
          save={save}
          {...(api.save ? { onSave: () => void saveReport() } : {})}
        />
      )}

      {api.settings && (
        <SettingsPanel
          project={project}
          settingsApi={api.settings}
          onSaved={(s) => setTarget(s.server_url ? { kind: "server", url: s.server_url } : { kind: "throwaway" })}
        />
      )}

      {api.checks && <ChecksPanel project={project} checksApi={api.checks} />}
    </section>
  );
}

/** The project's drill settings: loaded and saved through the engine. */
function SettingsPanel({
  project,
  settingsApi,
  onSaved,
}: {
  project: string;
  settingsApi: NonNullable<DrillApi["settings"]>;
  onSaved: (s: DrillSettingsView) => void;
}) {
  const [settings, setSettings] = useState<Load<DrillSettingsView>>({ status: "loading" });
  useEffect(() => {
    void settingsApi.get(project).then((r) => setSettings(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error }));
  }, [settingsApi, project]);
  return (
    <section className="panel" aria-label="Drill settings" data-testid="drill-settings">
      <h3 className="panel-title">Drill settings</h3>
      {settings.status === "loading" && <p className="muted small">Loading the drill settings…</p>}
      {settings.status === "error" && <ErrorNotice error={settings.error} testId="drill-settings-load-error" />}
      {settings.status === "ready" && (
        <DrillSettingsForm
          settings={settings.data}
          onSave={async (save) => {
            const r = await settingsApi.save(project, save);
            if (!r.ok) return r.error;
            onSaved(r.data);
            return null;
          }}
        />
      )}
    </section>
  );
}

/** The project's validation queries: loaded, added and removed through the engine. */
function ChecksPanel({ project, checksApi }: { project: string; checksApi: NonNullable<DrillApi["checks"]> }) {
  const [checks, setChecks] = useState<Load<CheckRow[]>>({ status: "loading" });
  const [error, setError] = useState<ErrorPayload | null>(null);
  const load = useCallback(async () => {
    const r = await checksApi.list(project);
    setChecks(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error });
  }, [checksApi, project]);
  useEffect(() => {
    void load();
  }, [load]);
  if (checks.status === "loading") return null;
  if (checks.status === "error") return <ErrorNotice error={checks.error} testId="validation-checks-load-error" />;
  return (
    <ValidationChecks
      checks={checks.data}
      error={error}
      onAdd={async (sql, expect) => {
        const r = await checksApi.add(project, sql, expect);
        if (!r.ok) return r.error;
        await load();
        return null;
      }}
      onRemove={(id) => {
        setError(null);
        void checksApi.remove(project, id).then(async (r) => {
          if (!r.ok) setError(r.error);
          await load();
        });
      }}
    />
  );
}

/** The drill id a finished drill job carries (`result.kind == "drill"`). */
export function drillIdOf(result: unknown): string | null {
  if (typeof result !== "object" || result === null) return null;
  const r = result as { kind?: unknown; report?: { drill_id?: unknown } };
  if (r.kind !== "drill") return null;
  return typeof r.report?.drill_id === "string" ? r.report.drill_id : null;
}
