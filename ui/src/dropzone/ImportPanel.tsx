// "Add to Offsite": import a previewed file as a backup of an existing or a new project. The file
// is verified (an Offsite archive before anything is registered; a pg_dump file or export after
// it is packed into an archive), the job shows live progress and can be cancelled, and the result
// offers to open the project or restore the backup.
import { useEffect, useId, useRef, useState } from "react";
import type { ErrorPayload, ImportPreview, ImportTo, ProjectSummary } from "../bindings";
import { toErrorPayload } from "../ipc/errors";
import { ErrorNotice } from "../components/ErrorNotice";
import { PanelFooter } from "../components/PanelFooter";
import { DamagedNotice } from "../components/DamagedNotice";
import { isDamaged } from "./dropState";
import { formatBytes } from "../components/format";
import { backupName } from "../components/names";
import { fraction, phaseLabel } from "../components/JobPanel";
import { useJobActions, useLiveJob, usePlacedJob, useProjects } from "../store";
import { isDatabaseUrl, isProjectName } from "../screens/AddProject";


/** A project name from the archive's project or the file name: letters, digits, . - _ only. */
export function suggestName(preview: ImportPreview): string {
  const base = preview.project ?? preview.path.split(/[\\/]/).pop() ?? "imported";
  const stem = base.replace(/\.(tar\.gz|tgz|tar|dump|backup|gz)$/i, "");
  const clean = stem.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[.-]+/, "").slice(0, 64);
  return clean || "imported";
}

/** A connection URL to start from: where the dump came from, when the file says so. */
export function suggestUrl(preview: ImportPreview): string {
  const s = preview.source;
  if (!s.host) return "";
  const db = s.database ?? "postgres";
  return `postgres://postgres@${s.host}${s.port ? `:${s.port}` : ""}/${db}`;
}

const NO_PROJECTS: ProjectSummary[] = [];

type Props = {
  preview: ImportPreview;
  onOpenProject?: ((name: string) => void) | undefined;
  onRestore?: ((path: string, project: string) => void) | undefined;
  /** Told whether the import found the file damaged (then nothing but safe actions is offered). */
  onDamaged?: ((damaged: boolean) => void) | undefined;
  /** Choose another file (the open dialog): the damaged file's way out. */
  onChooseAnother?: (() => void) | undefined;
};

export function ImportPanel({ preview, onOpenProject, onRestore, onDamaged, onChooseAnother }: Props) {
  const ids = useId();
  const { startImport, cancel, dismiss } = useJobActions();
  const list = useProjects();
  const projects = list.status === "ready" ? list.data : list.status === "error" ? NO_PROJECTS : null;
  const [mode, setMode] = useState<"existing" | "new">("existing");
  const [existing, setExisting] = useState("");
  const [name, setName] = useState(() => suggestName(preview));
  const [url, setUrl] = useState(() => suggestUrl(preview));
  const [password, setPassword] = useState("");
  // A pg_dumpall file holding several databases: the one to take.
  const databases = preview.plain?.databases.map((d) => d.name) ?? [];
  const [database, setDatabase] = useState(() => (databases.length === 1 ? databases[0]! : ""));
  const [jobId, setJobId] = useState<string | null>(null);
  const [startError, setStartError] = useState<ErrorPayload | null>(null);
  const [formError, setFormError] = useState<string | null>(null);

  // The choice starts at the archive's own project (or the first one) once the list has come;
  // later refreshes of the list leave the user's choice alone.
  const chosenFor = useRef<string | null | undefined>(undefined);
  useEffect(() => {
    if (chosenFor.current === preview.project || projects === null) return;
    chosenFor.current = preview.project;
    const match = projects.find((p) => p.project.name === preview.project);
    const first = match ?? projects[0];
    if (first) setExisting(first.project.name);
    else setMode("new");
  }, [projects, preview.project]);

  const job = useLiveJob(jobId);
  const running = job !== null && !job.finished;
  const finished = job?.finished ?? null;
  const failure = startError ?? (finished && !finished.ok ? finished.error : null);
  const damaged = isDamaged(failure);
  useEffect(() => onDamaged?.(damaged), [damaged, onDamaged]);
  // The import is told here, once (issue 44, import-04: the dialog and the card behind it both
  // said "The archive is damaged"): not above the project's tabs while this panel shows it, and
  // its result is not repeated there once the dialog is closed. A job still running when the
  // dialog closes goes on showing there.
  usePlacedJob(jobId);
  const told = useRef<{ id: string; done: boolean } | null>(null);
  told.current = jobId === null ? null : { id: jobId, done: finished !== null };
  useEffect(
    () => () => {
      if (told.current?.done) dismiss(told.current.id);
    },
    [dismiss],
  );

  const submit = async () => {
    setStartError(null);
    setFormError(null);
    let into: ImportTo;
    if (databases.length > 1 && !database) return setFormError("Choose the database to take from this whole-server dump.");
    if (mode === "existing") {
      if (!existing) return setFormError("Choose a project.");
      into = { project: existing };
    } else {
      if (!isProjectName(name))
        return setFormError("Give the new project a name: up to 64 letters, digits, '.', '-' and '_'.");
      if (!isDatabaseUrl(url))
        return setFormError("Give the new project's database URL: postgres://user@host:5432/database.");
      into = {
        new_project: {
          name: name.trim(),
          connection: { url: url.trim() },
          tls: null,
          password: password || null,
          backup_dir: null,
        },
      };
    }
    try {
      const started = await startImport(preview.path, into, databases.length > 1 ? database : null);
      if (started.ok) {
        setJobId(started.id);
        setPassword("");
      } else setStartError(started.error);
    } catch (e) {
      setStartError(toErrorPayload(e));
    }
  };

  if (finished?.ok && finished.result?.kind === "import") {
    const r = finished.result;
    return (
      <section className="import-panel" data-testid="import-done" data-project={r.project}>
        <p className="notice notice-ok">
          Added to {r.created_project ? "the new project " : "project "}
          <strong data-testid="import-done-project">{r.project}</strong>: {formatBytes(r.backup.size)}, verified.
        </p>
        <details className="small" data-testid="import-done-details">
          <summary data-testid="import-done-name">{backupName(r.backup)}</summary>
          <p className="mono path" data-testid="import-done-path">
            <bdi>{r.backup.path}</bdi>
          </p>
        </details>
        <PanelFooter>
          {onOpenProject && (
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => onOpenProject(r.project)}
              data-testid="import-open-project"
            >
              Open project
            </button>
          )}
          {onRestore && (
            <button type="button" className="btn" onClick={() => onRestore(r.backup.path, r.project)} data-testid="import-restore">
              Restore…
            </button>
          )}
        </PanelFooter>
      </section>
    );
  }

  if (damaged && failure) {
    // One red truth (issue 44, import-04/05): what is damaged, that nothing was imported, what to
    // do — no form to fill in again for a file that cannot be imported.
    return (
      <section className="import-panel" data-testid="import-damaged">
        <DamagedNotice
          error={failure}
          testId="import-error"
          next="Its contents do not match its checksum."
          actions={onChooseAnother ? [{ label: "Choose another file…", run: onChooseAnother, testId: "import-choose-another" }] : []}
        />
      </section>
    );
  }

  const disabled = running || projects === null;
  return (
    <section className="import-panel" aria-labelledby={`${ids}-title`} data-testid="import-panel">
      <h3 id={`${ids}-title`} className="panel-subtitle">
        Add to Offsite
      </h3>
      <fieldset className="segmented" disabled={disabled}>
        <legend>Import into</legend>
        <label>
          <input
            type="radio"
            name={`${ids}-mode`}
            checked={mode === "existing"}
            onChange={() => setMode("existing")}
            disabled={projects?.length === 0}
            data-testid="import-into-existing"
          />{" "}
          An existing project
        </label>
        <label>
          <input
            type="radio"
            name={`${ids}-mode`}
            checked={mode === "new"}
            onChange={() => setMode("new")}
            data-testid="import-into-new"
          />{" "}
          A new project
        </label>
      </fieldset>
      {mode === "existing" ? (
        <label className="field import-field">
          <span>Project</span>
          <select
            value={existing}
            onChange={(e) => setExisting(e.target.value)}
            disabled={disabled}
            data-testid="import-project"
          >
            {(projects ?? []).map((p) => (
              <option key={p.project.id} value={p.project.name}>
                {p.project.name}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <div className="field-grid">
          <label className="field import-field">
            <span>Project name</span>
            <input value={name} onChange={(e) => setName(e.target.value)} disabled={disabled} data-testid="import-new-name" />
          </label>
          <label className="field import-field">
            <span>Database URL</span>
            <input
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              placeholder="postgres://user@host:5432/database"
              spellCheck={false}
              disabled={disabled}
              data-testid="import-new-url"
            />
            <span className="field-help">Where it would be backed up from and restored to.</span>
          </label>
          <label className="field import-field">
            <span>Password (optional)</span>
            <input
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete="off"
              disabled={disabled}
              data-testid="import-new-password"
            />
            <span className="field-help">Kept in the system keychain.</span>
          </label>
        </div>
      )}
      {databases.length > 1 && (
        <label className="field import-field">
          <span>Database to take from this whole-server dump (its roles come along)</span>
          <select
            value={database}
            onChange={(e) => setDatabase(e.target.value)}
            disabled={disabled}
            data-testid="import-database"
          >
            <option value="">Choose…</option>
            {databases.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
      )}
      <p className="muted small">
        {preview.kind === "offsite_archive"
          ? "The archive is verified before it is added; the file is copied into the project's backup folder."
          : "The database dump is packed into an Offsite archive file in the project's backup folder and verified."}{" "}
        The file you chose is not changed.
      </p>
      {formError && (
        <p className="error small" role="alert" data-testid="import-form-error">
          {formError}
        </p>
      )}
      {failure && <ErrorNotice error={failure} testId="import-error" />}
      {running && job && (
        <div className="import-progress" data-testid="import-progress">
          <progress
            max={1}
            value={job.progress ? (fraction(job.progress) ?? undefined) : undefined}
            aria-label="Import progress"
          />
          <span className="small muted" data-testid="import-phase">
            {job.progress ? `${phaseLabel(job.progress.phase)} · ${formatBytes(job.progress.bytes_done)}` : "Starting…"}
          </span>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => void cancel(job.id)}
            disabled={job.cancelling}
            data-testid="import-cancel"
          >
            {job.cancelling ? "Cancelling…" : "Cancel"}
          </button>
        </div>
      )}
      {!damaged && (
        <PanelFooter>
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => void submit()}
            disabled={disabled}
            data-testid="import-start"
          >
            {finished && !finished.ok ? "Try again" : "Import"}
          </button>
        </PanelFooter>
      )}
    </section>
  );
}
