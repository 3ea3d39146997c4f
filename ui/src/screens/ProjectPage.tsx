// A project's page: a header (name, what it backs up, the split "Back up now") over four tabs —
// Backups (the timeline), Sources (database, storage, server, bucket… as cards), Schedules &
// retention, Activity (its jobs). The route may name the tab to open on (default Backups).
import { type ReactNode, useEffect, useMemo, useRef, useState } from "react";
import type { BackupRow, CheckItem, Components, ErrorPayload, ProjectSummary } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { databaseName } from "../components/format";
import { keys, localChange, type Resource, useBackups, useComponents, useHealth, useJobActions, useLiveJobs, useProject, useStore } from "../store";
import { ImportButton } from "../dropzone/importRequest";
import { openSupabase } from "../dashboard/Dashboard";
import { fixTarget } from "../dashboard/fix";
import { ProjectChecklist } from "../project/ProjectChecklist";
import { DeleteBackupDialog, deletedWords } from "./DeleteBackupDialog";
import { ScheduleSection } from "../schedules/ScheduleSection";
import { RetentionSection } from "../schedules/RetentionSection";
import { defaultType } from "../project/backupTypes";
import { backupRefusalWords, errorDisplay } from "../ipc/errorDisplay";
import { ProtectionGlance, useProtection } from "../protection/ProtectionPanels";
import { BackUpButton } from "../project/tabs/BackUpButton";
import { BackupsTab, type BackupsLoad } from "../project/tabs/BackupsTab";
import type { MomentActions } from "../project/tabs/PitrMoment";
import { SourcesTab } from "../project/tabs/SourcesTab";
import { ProtectionTab } from "../project/tabs/ProtectionTab";
import { ActivityTab } from "../project/tabs/ActivityTab";
import { TabBar } from "../project/tabs/TabBar";
import { LiveJobs } from "../project/tabs/LiveJobs";
import type { ProjectTab, Route } from "./Main";

export { ROW_HEIGHT, LIST_HEIGHT, removalLabel } from "../project/tabs/BackupTimeline";

type Props = {
  name: string;
  onBack: () => void;
  /** Open the restore wizard (on a backup, when one is named). */
  onRestore?: (path?: string) => void;
  onEdit?: () => void;
  /** Open the project's restore drills (absent: no button). */
  onDrills?: () => void;
  /** Open the Diff view (compare two backups, or a backup and the database now). */
  onDiff?: () => void;
  /** Look inside a backup (absent: no action). */
  onBrowse?: (backup: { path: string; label: string }) => void;
  /** The tab to open on (the dashboard's Fix buttons open the right one). */
  tab?: ProjectTab;
  /** Open the recovery key's field at once (the Fix of paused backups). */
  confirmKey?: boolean;
  /** Go to another screen (a checklist Fix that leads away: Settings). */
  onNavigate?: (route: Route) => void;
};

/** What the project backs up, in a few words: its Supabase project, else its database. */
export function projectSubtitle(summary: ProjectSummary, components: Components | null): string {
  const db = databaseName(summary.project.db_url);
  const parts = [];
  if (components?.supabase) parts.push(`Supabase project ${components.supabase.project_ref}`);
  if (db) parts.push(`database ${db}`);
  return parts.join(" · ");
}

function backupsLoad(backups: Resource<BackupRow[]>): BackupsLoad {
  return backups.status === "ready" ? { status: "ready", backups: backups.data } : backups;
}

export function ProjectPage({
  name,
  onBack,
  onRestore,
  onEdit,
  onDrills,
  onDiff,
  onBrowse,
  tab: initialTab = "backups",
  confirmKey = false,
  onNavigate,
}: Props) {
  const project = useProject(name);
  const backupList = useBackups(name);
  const load = useMemo(() => backupsLoad(backupList), [backupList]);
  const [tab, setTab] = useState<ProjectTab>(initialTab);
  const [actionError, setActionError] = useState<ErrorPayload | null>(null);
  const [deleting, setDeleting] = useState<BackupRow | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const store = useStore();
  const { startBackup, dismiss } = useJobActions();
  const liveJobs = useLiveJobs(name);
  // One result at a time (issue 44): a notice or a refusal replaces the job results shown, and a
  // job that ends later replaces the notice or the refusal.
  const newestFinished = liveJobs.find((j) => j.finished)?.id ?? null;
  const seenFinished = useRef(newestFinished);
  useEffect(() => {
    if (newestFinished === seenFinished.current) return;
    seenFinished.current = newestFinished;
    if (newestFinished === null) return;
    setNotice(null);
    setActionError(null);
  }, [newestFinished]);
  const clearJobResults = () => liveJobs.filter((j) => j.finished && !j.placed).forEach((j) => dismiss(j.id));
  const say = (text: string) => {
    clearJobResults();
    setActionError(null);
    setNotice(text);
  };
  const fail = (error: ErrorPayload | null) => {
    if (error) {
      clearJobResults();
      setNotice(null);
    }
    setActionError(error);
  };
  // A backup of the project runs: one started in this window, or one the engine says runs (a
  // schedule's, the command line's): "Back up now" waits, saying why (issue 64 item 6).
  const health = useHealth();
  const engineBackingUp = health.status === "ready" && health.data.projects.some((p) => p.project === name && p.verdict.backup_running);
  const backingUp = engineBackingUp || liveJobs.some((j) => !j.finished && j.kind === "backup");
  const protection = useProtection(name);
  // Bumped by a refused backup's "Confirm your recovery key…" (or the checklist's Fix, or the
  // route's `confirmKey`): the encryption card opens its field.
  const [confirmRequest, setConfirmRequest] = useState(confirmKey ? 1 : 0);
  // A backup refused at its start (actionError) or by its job: the way out, until the user took it.
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
  const comps = components.status === "ready" ? components.data : null;

  const backUp = async (type: BackupRow["backup_type"] | null, note: string | null = null) => {
    setActionError(null);
    // null: the engine makes the project's default type (as the schedule does).
    const started = await startBackup(name, type, note);
    if (!started.ok) fail(started.error);
  };

  // A checklist item's Fix: the engine chose the action; this page takes it where it can.
  const fixItem = (item: CheckItem) => {
    if (!item.fix) return;
    const target = fixTarget(item.fix, name);
    if (target.kind === "backup") return void backUp(null);
    if (target.kind === "supabase") {
      void openSupabase(name).then((r) => (r.ok ? undefined : fail(r.error)));
      return;
    }
    const route = target.route;
    if (route.screen === "project" && route.name === name) {
      setTab(route.tab ?? "backups");
      if (route.confirmKey) setConfirmRequest((n) => n + 1);
    } else if (route.screen === "edit") onEdit?.();
    else if (route.screen === "drills") onDrills?.();
    else onNavigate?.(route);
  };

  return (
    <section aria-labelledby="project-title" data-testid="project-page" data-project={name} data-tab={tab}>
      <ProjectHeader
        name={name}
        subtitle={project.status === "ready" ? projectSubtitle(project.data, comps) : null}
        onBack={onBack}
        {...(onEdit ? { onEdit } : {})}
        {...(onDrills ? { onDrills } : {})}
        {...(onDiff ? { onDiff } : {})}
        {...(onRestore ? { onRestore: () => onRestore() } : {})}
      >
        <BackUpButton components={comps} defaultType={defaultType(comps)} busy={backingUp} onBackUp={(t, note) => void backUp(t, note ?? null)} />
      </ProjectHeader>

      <ProjectChecklist project={name} onFix={fixItem} backingUp={backingUp} />
      {/* The Protection tab has its own 3-2-1 panel: the line above the tabs would say it twice. */}
      {tab !== "protection" && <ProtectionGlance data={protection.data} />}
      {project.status === "error" && <ErrorNotice error={project.error} testId="project-error" onRetry={refresh} />}

      {deleting && (
        <DeleteBackupDialog
          backup={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={(outcome) => {
            setDeleting(null);
            say(deletedWords(outcome));
            // This window changed the catalog: the store refreshes the list and the summary now.
            const projectId = project.status === "ready" ? project.data.project.id : null;
            store.apply([localChange("backup", deleting.id, projectId, outcome.removed_from_catalog ? "delete" : "upsert")]);
          }}
        />
      )}

      <TabBar tab={tab} onTab={setTab} />
      {/* One place for results, below the tabs so they never push them down (issue 44): the newest
          job's result (a newer one replaces it), a refusal, or what was just done; each dismissible. */}
      <div className="project-results" data-testid="project-results">
        {actionError && <ErrorNotice error={actionError} testId="action-error" words={backupFix ? backupRefusalWords(actionError.code) : null} />}
        {backupFix && (
          <button
            type="button"
            className="btn btn-small btn-primary"
            onClick={() => {
              setTab("protection");
              setConfirmRequest((n) => n + 1);
            }}
            data-testid="action-error-fix"
          >
            {backupFix.label}
          </button>
        )}
        {notice && (
          <p className="notice notice-ok small result-line" role="status" data-testid="action-notice">
            <span>{notice}</span>
            <button type="button" className="btn btn-small btn-quiet" onClick={() => setNotice(null)} data-testid="action-notice-dismiss">
              Dismiss
            </button>
          </p>
        )}
        <LiveJobs project={name} />
      </div>
      <div role="tabpanel" id={`project-panel-${tab}`} aria-labelledby={`project-tab-${tab}`} className="tabpanel">
        {tab === "backups" && (
          <BackupsTab
            project={name}
            load={load}
            onRetry={refresh}
            protection={protection.data}
            {...(onRestore ? { onRestore: (path: string) => onRestore(path) } : {})}
            {...(onBrowse ? { onBrowse } : {})}
            {...(onNavigate ? { moment: momentActions(name, onNavigate) } : {})}
            onDelete={(b) => {
              setNotice(null);
              setDeleting(b);
            }}
            onError={fail}
          />
        )}
        {tab === "sources" && (
          <SourcesTab project={name} summary={project} components={components} {...(onEdit ? { onEdit } : {})} />
        )}
        {tab === "protection" && (
          <ProtectionTab
            project={name}
            protection={protection}
            confirmRequest={confirmRequest}
            onEncryptionChanged={() => {
              setActionError(null);
              setFixTaken(lastBackup?.id ?? null);
              // The encryption light, the checklist and the paused card read the engine's health:
              // now, not at the next poll (protection-04 showed "not confirmed yet" under
              // "Confirmed … Encryption is active").
              store.reload(keys.health());
            }}
          />
        )}
        {tab === "schedules" && (
          <div data-testid="tab-schedules">
            <ScheduleSection project={name} />
            <RetentionSection project={name} />
          </div>
        )}
        {tab === "activity" && <ActivityTab project={name} />}
      </div>
    </section>
  );
}

type HeaderProps = {
  name: string;
  subtitle: string | null;
  onBack: () => void;
  onEdit?: () => void;
  onDrills?: () => void;
  onDiff?: () => void;
  onRestore?: () => void;
  /** The split "Back up now". */
  children: ReactNode;
};

function ProjectHeader({ name, subtitle, onBack, onEdit, onDrills, onDiff, onRestore, children }: HeaderProps) {
  return (
    <div className="toolbar">
      <button type="button" className="btn btn-quiet" onClick={onBack} data-testid="back-home">
        ← Projects
      </button>
      <div className="project-heading">
        <h2 id="project-title" className="screen-title" data-testid="project-title">
          {name}
        </h2>
        {subtitle !== null && (
          <span className="muted small" data-testid="project-subtitle">
            {subtitle}
          </span>
        )}
      </div>
      <span className="spacer" />
      {onEdit && (
        <button type="button" className="btn btn-quiet" onClick={onEdit} data-testid="project-edit">
          Edit…
        </button>
      )}
      <ImportButton className="btn btn-quiet" />
      {onDrills && (
        <button type="button" className="btn btn-quiet" onClick={onDrills} data-testid="open-drills">
          Drills…
        </button>
      )}
      {onDiff && (
        <button type="button" className="btn btn-quiet" onClick={onDiff} data-testid="open-diff">
          Compare…
        </button>
      )}
      {onRestore && (
        <button type="button" className="btn" onClick={onRestore} data-testid="restore-open">
          Restore…
        </button>
      )}
      {children}
    </div>
  );
}

/** The point-in-time band's actions at a moment (RFC 3339 UTC), as the screens' routes. */
function momentActions(name: string, navigate: (route: Route) => void): MomentActions {
  return {
    onRestore: (at) => navigate({ screen: "restore", name, at }),
    onCompare: (at) => navigate({ screen: "diff", name, at }),
    onDrill: (at) => navigate({ screen: "drills", name, at }),
    onLookInside: (path, label) => navigate({ screen: "browse", name, path, label, held: true }),
  };
}
