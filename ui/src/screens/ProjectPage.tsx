import { useEffect, useMemo, useState } from "react";
import {
  type BackupRow,
  type BackupStatus,
  type BackupType,
  commands,
  type ErrorPayload,
  type ProjectSummary,
  type RemovalForecast,
} from "../bindings";
import { toErrorPayload } from "../ipc/errors";
import { ErrorNotice } from "../components/ErrorNotice";
import { databaseHost, databaseName, formatBytes, formatTime } from "../components/format";
import { JobHistory } from "../components/JobHistory";
import { JobPanel } from "../components/JobPanel";
import {
  keys,
  localChange,
  type Resource,
  useBackups,
  useComponents,
  useJobActions,
  useLiveJobs,
  useProject,
  useStore,
} from "../store";
import { VirtualList } from "../components/VirtualList";
import { ImportButton } from "../dropzone/importRequest";
import { ProvenLine } from "../drill/ProvenLine";
import { glance } from "../drill/api";
import { DeleteBackupDialog } from "./DeleteBackupDialog";
import { ScheduleSection } from "../schedules/ScheduleSection";
import { RetentionSection } from "../schedules/RetentionSection";
import { BackupTypeOptions, ComponentsSection } from "../project/ComponentsSection";
import { ArtifactsSection } from "../project/ArtifactsSection";
import { ServerSection } from "../project/ServerSection";
import { defaultType } from "../project/backupTypes";
import { BackupContents } from "../project/BackupContents";
import { errorDisplay } from "../ipc/errorDisplay";
import { EncryptionPanel } from "../protection/EncryptionPanel";
import {
  DestinationsPanel,
  ProtectionGlance,
  SelectedBackupWhere,
  useProtection,
} from "../protection/ProtectionPanels";

export const ROW_HEIGHT = 34;
export const LIST_HEIGHT = 340;

const STATUS_LABEL: Record<BackupStatus, string> = {
  verified: "Verified",
  unverified: "Not verified",
  corrupt: "Corrupt",
  missing: "Missing",
};

type Load =
  | { status: "loading" }
  | { status: "ready"; summary: ProjectSummary; backups: BackupRow[] }
  | { status: "error"; error: ErrorPayload };

function combine(project: Resource<ProjectSummary>, backups: Resource<BackupRow[]>): Load {
  if (project.status === "error") return project;
  if (backups.status === "error") return backups;
  if (project.status === "loading" || backups.status === "loading") return { status: "loading" };
  return { status: "ready", summary: project.data, backups: backups.data };
}

type Props = {
  name: string;
  onBack: () => void;
  onRestore?: () => void;
  onEdit?: () => void;
  /** Open the project's restore drills (absent: no button). */
  onDrills?: () => void;
  /** Look inside a backup (absent: no button). */
  onBrowse?: (backup: { path: string; label: string }) => void;
  /** The tab to open on (issue 29: the dashboard's Fix buttons open the right one). */
  tab?: import("./Main").ProjectTab;
};

export function ProjectPage({ name, onBack, onRestore, onEdit, onDrills, onBrowse, tab: _tab }: Props) {
  const project = useProject(name);
  const backupList = useBackups(name);
  const load = useMemo(() => combine(project, backupList), [project, backupList]);
  // Selection by id: a refresh (a new backup on top) must not move it to another backup.
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [actionError, setActionError] = useState<ErrorPayload | null>(null);
  const [deleting, setDeleting] = useState<BackupRow | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const store = useStore();
  const { startBackup, startVerify } = useJobActions();
  const liveJobs = useLiveJobs(name);
  const running = liveJobs.filter((j) => !j.finished);
  const backingUp = running.some((j) => j.kind === "backup");
  const protection = useProtection(name);
  // Bumped by a refused backup's "Enter the recovery item…": the encryption panel opens it.
  const [confirmRequest, setConfirmRequest] = useState(0);
  // A backup refused at its start (actionError) or by its job (unconfirmed encryption is refused
  // by the backup job): the way out, until the user took it.
  const lastBackup = liveJobs.find((j) => j.kind === "backup" && j.finished); // newest first
  const [fixTaken, setFixTaken] = useState<string | null>(null);
  const jobError = lastBackup?.finished?.ok === false && lastBackup.id !== fixTaken ? lastBackup.finished.error : null;
  const refused = actionError ?? jobError;
  const backupFix = refused ? errorDisplay(refused.code).backupFix : null;
  const refresh = () => {
    store.reload(keys.project(name));
    store.reload(keys.backups(name));
  };

  const components = useComponents(name);
  const projectDefault = defaultType(components.status === "ready" ? components.data : null);
  // The type "Back up now" makes: the project's default until the user picks another.
  const [pickedType, setPickedType] = useState<BackupType | null>(null);
  const backupType = pickedType ?? projectDefault;

  const backUp = async () => {
    setActionError(null);
    // Not picked: null, and the engine makes the project's default type (as the schedule does).
    const started = await startBackup(name, pickedType);
    if (!started.ok) setActionError(started.error);
  };

  const verify = async (backup: BackupRow | undefined) => {
    if (!backup) return;
    setActionError(null);
    const started = await startVerify(name, backup.path);
    if (!started.ok) setActionError(started.error);
  };

  const showInFolder = async (backup: BackupRow | undefined) => {
    if (!backup) return;
    setActionError(null);
    try {
      const r = await commands.showInFolder(backup.id);
      if (r.status === "error") setActionError(toErrorPayload(r.error));
    } catch (e) {
      setActionError(toErrorPayload(e));
    }
  };

  const backups = load.status === "ready" ? load.backups : [];
  // When retention is expected to remove each backup (nothing disappears by surprise); asked again
  // whenever the list changes (a new backup, a prune, a changed policy shows up as a change).
  const [forecast, setForecast] = useState<Map<string, RemovalForecast>>(new Map());
  useEffect(() => {
    let stale = false;
    if (load.status !== "ready") return;
    void commands
      .removalForecast(name)
      .then((r) => {
        if (!stale && r.status === "ok") setForecast(new Map(r.data.map((f) => [f.backup_id, f])));
      })
      .catch(() => {});
    return () => {
      stale = true;
    };
  }, [load, name]);
  const index = selectedId === null ? -1 : backups.findIndex((b) => b.id === selectedId);
  const selected = index >= 0 ? index : null;
  const current = selected !== null ? backups[selected] : undefined;
  const verifying = (b: BackupRow | undefined) =>
    Boolean(b && running.some((j) => j.kind === "verify" && j.subject === b.path));

  return (
    <section aria-labelledby="project-title" data-testid="project-page" data-project={name}>
      <div className="toolbar">
        <button type="button" className="btn btn-quiet" onClick={onBack} data-testid="back-home">
          ← Projects
        </button>
        <h2 id="project-title" className="screen-title" data-testid="project-title">
          {name}
        </h2>
        {load.status === "ready" && (
          <span className="mono muted small" data-testid="project-page-host">
            {databaseHost(load.summary.project.db_url)}
            {databaseName(load.summary.project.db_url) ? ` / ${databaseName(load.summary.project.db_url)}` : ""}
          </span>
        )}
        <span className="spacer" />
        {onEdit && (
          <button type="button" className="btn btn-quiet" onClick={onEdit} data-testid="project-edit">
            Edit…
          </button>
        )}
        <ImportButton className="btn btn-quiet" />
        {onDrills && (
          <button type="button" className="btn" onClick={onDrills} data-testid="open-drills">
            Drills…
          </button>
        )}
        {onRestore && (
          <button type="button" className="btn" onClick={onRestore} data-testid="restore-open">
            Restore…
          </button>
        )}
        <button
          type="button"
          className="btn"
          onClick={() => void verify(current)}
          disabled={!current || verifying(current)}
          title={current ? `Verify ${current.path}` : "Select a backup to verify"}
          data-testid="verify-selected"
        >
          Verify
        </button>
        <select
          className="backup-type-select"
          aria-label="Type of backup"
          value={backupType}
          onChange={(e) => setPickedType(e.target.value as BackupType)}
          data-testid="backup-type"
        >
          <BackupTypeOptions components={components.status === "ready" ? components.data : null} />
        </select>
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => void backUp()}
          disabled={backingUp}
          data-testid="backup-now"
        >
          {backingUp ? "Backing up…" : "Back up now"}
        </button>
      </div>

      <ProtectionGlance data={protection.data} />
      {load.status === "ready" && (
        <p className="small" data-testid="project-page-proven">
          <ProvenLine last={glance(load.summary.last_drill)} lastPassed={glance(load.summary.last_passed_drill)} />
        </p>
      )}

      {actionError && <ErrorNotice error={actionError} testId="action-error" />}
      {backupFix && (
        <button
          type="button"
          className="btn btn-small btn-primary"
          onClick={() => setConfirmRequest((n) => n + 1)}
          data-testid="action-error-fix"
        >
          {backupFix.label}
        </button>
      )}

      {notice && (
        <p className="notice notice-ok small" role="status" data-testid="action-notice">
          {notice}
        </p>
      )}
      {deleting && (
        <DeleteBackupDialog
          backup={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={(outcome) => {
            setDeleting(null);
            setSelectedId(null);
            setNotice(
              outcome.file_deleted
                ? `Deleted ${outcome.path} and removed it from the list.`
                : `Removed ${outcome.path} from the list; the file was ${outcome.file_kept ? "kept" : "already gone"}.`,
            );
            // This window changed the catalog: the store refreshes the list and the summary now.
            const projectId = load.status === "ready" ? load.summary.project.id : null;
            store.apply([localChange("backup", deleting.id, projectId, "delete")]);
          }}
        />
      )}

      <JobPanel project={name}>
        <JobHistory project={name} />
      </JobPanel>

      <section className="panel" aria-label="Backups">
        <div className="toolbar">
          <h2 className="panel-title">
            Backups <span className="muted small" data-testid="backup-count">{backups.length}</span>
          </h2>
          <span className="spacer" />
          {onBrowse && (
            <button
              type="button"
              className="btn btn-small"
              onClick={() => current && onBrowse({ path: current.path, label: `${name} · ${formatTime(current.created_at)}` })}
              disabled={!current || current.status === "missing"}
              title={current ? "See its tables, rows and storage objects without restoring it" : "Select a backup"}
              data-testid="browse-selected"
            >
              Look inside
            </button>
          )}
          <button
            type="button"
            className="btn btn-small"
            onClick={() => void showInFolder(current)}
            disabled={!current}
            title={current ? `Show ${current.path} in the file manager` : "Select a backup"}
            data-testid="show-in-folder"
          >
            Show in folder
          </button>
          <button
            type="button"
            className="btn btn-small btn-danger"
            onClick={() => {
              setNotice(null);
              setDeleting(current ?? null);
            }}
            disabled={!current || running.length > 0}
            title={
              running.length > 0 ? "Wait for the running job to finish" : current ? `Delete ${current.path}` : "Select a backup"
            }
            data-testid="delete-selected"
          >
            Delete…
          </button>
        </div>
        <BackupContents backup={current} />
        <SelectedBackupWhere data={protection.data} backup={current} />
        {load.status === "loading" && (
          <p className="muted" data-testid="backups-loading">
            Loading backups…
          </p>
        )}
        {load.status === "error" && <ErrorNotice error={load.error} testId="backups-error" onRetry={refresh} />}
        {load.status === "ready" && backups.length === 0 && (
          <p className="muted" data-testid="backups-empty">
            No backups yet. “Back up now” makes the first one.
          </p>
        )}
        {load.status === "ready" && backups.length > 0 && (
          <BackupList
            backups={backups}
            selected={selected}
            onSelect={(i) => setSelectedId(backups[i]?.id ?? null)}
            onVerify={(i) => void verify(backups[i])}
            forecast={forecast}
          />
        )}
      </section>

      <ComponentsSection project={name} />
      <ServerSection project={name} />
      <ArtifactsSection project={name} />
      <EncryptionPanel
        project={name}
        confirmRequest={confirmRequest}
        onChanged={() => {
          setActionError(null);
          setFixTaken(lastBackup?.id ?? null);
        }}
      />
      <DestinationsPanel project={name} protection={protection} />
      <ScheduleSection project={name} />
      <RetentionSection project={name} />
    </section>
  );
}

type ListProps = {
  backups: BackupRow[];
  selected: number | null;
  onSelect: (i: number) => void;
  onVerify: (i: number) => void;
  height?: number;
  /** When retention is expected to remove each backup, by id. */
  forecast?: Map<string, RemovalForecast>;
};

/** A backup's expected removal, for its row. */
export function removalLabel(f: RemovalForecast | undefined): string {
  if (!f) return "";
  if (f.next_prune) return "goes at next prune";
  if (f.removed_at) return `until ~${formatTime(f.removed_at)}`;
  return "kept";
}

export function BackupList({ backups, selected, onSelect, onVerify, height = LIST_HEIGHT, forecast }: ListProps) {
  return (
    <VirtualList
      items={backups}
      rowHeight={ROW_HEIGHT}
      height={Math.min(height, Math.max(ROW_HEIGHT, backups.length * ROW_HEIGHT))}
      getKey={(b) => b.id}
      selected={selected}
      onSelect={onSelect}
      onActivate={onVerify}
      label="Backups: arrow keys select, Enter verifies"
      testId="backups"
      header={
        <div className="brow brow-head" aria-hidden="true">
          <span>Date</span>
          <span>Type</span>
          <span className="num">Size</span>
          <span>Verified</span>
          <span>Retention</span>
          <span>Path</span>
        </div>
      }
      renderRow={(b) => (
        <div className="brow">
          <span data-testid="backup-date">{formatTime(b.created_at)}</span>
          <span>{b.backup_type}</span>
          <span className="num">{formatBytes(b.size)}</span>
          <span
            className={`status status-${b.status}`}
            title={b.verify_problem ?? undefined}
            data-testid="backup-status"
            data-status={b.status}
          >
            {STATUS_LABEL[b.status]}
            {b.verified_at ? ` · ${formatTime(b.verified_at)}` : ""}
          </span>
          <span
            className="small muted"
            data-testid="backup-removal"
            title="When the retention policy is expected to remove it, if the schedule runs on time"
          >
            {removalLabel(forecast?.get(b.id))}
          </span>
          <span className="mono path" title={b.path} data-testid="backup-path">
            <bdi>{b.path}</bdi>
          </span>
        </div>
      )}
    />
  );
}
