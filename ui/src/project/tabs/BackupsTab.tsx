// The project page's Backups tab: the timeline by day
// with a menu per row, and a side panel for the selected backup (its file, SHA-256, where its
// copies are). The newest good backup is selected when the list first arrives.
import { useEffect, useMemo, useState } from "react";
import { DatesWhole } from "../../components/DatesWhole";
import { type BackupRow, commands, type ErrorPayload, type RemovalForecast, type SafetyBackup } from "../../bindings";
import { ErrorNotice } from "../../components/ErrorNotice";
import { Copyable } from "../../components/Copyable";
import { backupNames } from "../../components/names";
import { formatBytes, formatTime } from "../../components/format";
import { toErrorPayload } from "../../ipc/errors";
import { SelectedBackupWhere, type ProtectionData } from "../../protection/ProtectionPanels";
import { useJobActions, useLiveJobs } from "../../store";
import { ORIGIN_SENTENCE } from "../../words";
import { BackupContents } from "../BackupContents";
import { BackupStatsLine } from "./BackupStatsLine";
import { PitrCard } from "./PitrCard";
import type { MomentActions } from "./PitrMoment";
import { BackupTimeline, removalLabel, type RowAction, SafetyBackupRows, STATUS_LABEL, TYPE_WORDS } from "./BackupTimeline";
import { dayAndTime } from "./time";
import { newestGood, timeline } from "./timeline";
import "./tabs.css";

export type BackupsLoad =
  | { status: "loading" }
  | { status: "ready"; backups: BackupRow[] }
  | { status: "error"; error: ErrorPayload };

type Props = {
  project: string;
  load: BackupsLoad;
  onRetry: () => void;
  protection: ProtectionData["data"];
  /** Open the restore wizard on this backup (absent: no Restore). */
  onRestore?: (path: string) => void;
  onBrowse?: (backup: { path: string; label: string }) => void;
  /** What the point-in-time band offers at a chosen moment (absent: the band only). */
  moment?: MomentActions;
  onDelete: (backup: BackupRow) => void;
  /** An action could not start (shown by the page, above the tabs). */
  onError: (e: ErrorPayload | null) => void;
};

export function BackupsTab({ project, load, onRetry, protection, onRestore, onBrowse, moment, onDelete, onError }: Props) {
  // One array per list loaded (a fresh [] each render would recompute what depends on it).
  const backups = useMemo(() => (load.status === "ready" ? load.backups : []), [load]);
  const entries = useMemo(() => timeline(backups), [backups]);
  // The side panel's title tells two backups of one minute apart, as the list's times do.
  const names = useMemo(() => backupNames(backups), [backups]);
  const { startVerify } = useJobActions();
  const live = useLiveJobs(project);
  const running = live.filter((j) => !j.finished);
  // Selection by id: a refresh (a new backup on top) must not move it to another backup. The
  // newest good backup is selected once, when the first list arrives.
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [preselected, setPreselected] = useState(false);
  useEffect(() => {
    if (preselected || load.status !== "ready") return;
    setPreselected(true);
    setSelectedId(newestGood(load.backups)?.id ?? null);
  }, [load, preselected]);
  const index = selectedId === null ? -1 : entries.findIndex((e) => e.kind === "backup" && e.backup.id === selectedId);
  const current = index >= 0 ? (entries[index] as { kind: "backup"; backup: BackupRow }).backup : undefined;
  const { forecast, proven } = useBackupFacts(project, load);
  const safety = useSafetyBackups(project, load);

  const verifying = (b: BackupRow) => running.some((j) => j.kind === "verify" && j.subject === b.path);
  const verify = async (b: BackupRow | undefined) => {
    if (!b) return;
    onError(null);
    const started = await startVerify(project, b.path);
    if (!started.ok) onError(started.error);
  };
  const showInFolder = async (b: BackupRow | undefined) => {
    if (!b) return;
    onError(null);
    try {
      const r = await commands.showInFolder(b.id);
      if (r.status === "error") onError(toErrorPayload(r.error));
    } catch (e) {
      onError(toErrorPayload(e));
    }
  };
  const pin = async (b: BackupRow) => {
    onError(null);
    try {
      const r = await commands.pinBackup(b.id, !b.pinned);
      if (r.status === "error") onError(toErrorPayload(r.error));
      else onRetry();
    } catch (e) {
      onError(toErrorPayload(e));
    }
  };
  const label = (b: BackupRow) => `${project} · ${formatTime(b.created_at)}`;

  const actions = (b: BackupRow): RowAction[] => {
    const gone = b.status === "missing" ? "The file is missing" : null;
    return [
      ...(onRestore
        ? [{ id: "restore", label: "Restore…", run: () => onRestore(b.path), disabledWhy: gone ?? (b.status === "corrupt" ? "The backup is damaged" : null) }]
        : []),
      { id: "verify", label: "Verify", run: () => void verify(b), disabledWhy: gone ?? (verifying(b) ? "Being verified now" : null) },
      ...(onBrowse ? [{ id: "browse", label: "Look inside", run: () => onBrowse({ path: b.path, label: label(b) }), disabledWhy: gone }] : []),
      { id: "show", label: "Show file", run: () => void showInFolder(b), disabledWhy: gone },
      { id: "pin", label: b.pinned ? "Unpin" : "Pin (keep always)", run: () => void pin(b), disabledWhy: null },
      {
        id: "delete",
        label: "Delete…",
        run: () => onDelete(b),
        disabledWhy: running.length > 0 ? "Wait for the running job to finish" : null,
      },
    ];
  };
  const act = (b: BackupRow | undefined, id: string) => (b ? actions(b).find((a) => a.id === id) : undefined);

  return (
    <div className="tab-backups" data-testid="tab-backups">
      <PitrCard project={project} backups={backups} {...moment} />
      <div className="tl-layout">
        <section className="panel tl-list" aria-label="Backups">
          <h2 className="panel-title">
            Backups <span className="muted small" data-testid="backup-count">{backups.length}</span>
          </h2>
          <BackupStatsLine project={project} load={load} />
          {load.status === "loading" && (
            <p className="muted" data-testid="backups-loading">
              Loading backups…
            </p>
          )}
          {load.status === "error" && <ErrorNotice error={load.error} testId="backups-error" onRetry={onRetry} />}
          {load.status === "ready" && backups.length === 0 && safety.length === 0 && (
            <p className="muted" data-testid="backups-empty">
              No backups yet. “Back up now” makes the first one.
            </p>
          )}
          {load.status === "ready" && backups.length > 0 && (
            <BackupTimeline
              entries={entries}
              selected={index >= 0 ? index : null}
              onSelect={(i) => {
                const e = entries[i];
                if (e?.kind === "backup") setSelectedId(e.backup.id);
              }}
              onActivate={(i) => {
                const e = entries[i];
                if (e?.kind === "backup") void verify(e.backup);
              }}
              forecast={forecast}
              proven={proven}
              actions={actions}
            />
          )}
          {load.status === "ready" && <SafetyBackupRows items={safety} />}
        </section>
        {backups.length > 0 && (
        <aside className="panel tl-side" aria-label="Selected backup" data-testid="backup-detail">
          {!current ? (
            <p className="muted small" data-testid="backup-detail-none">
              Select a backup to see its file and checksum.
            </p>
          ) : (
            <>
              <h3 className="panel-title" data-testid="backup-detail-title">
                {names.get(current.id)}
              </h3>
              <p className="small">
                {TYPE_WORDS[current.backup_type]} · {formatBytes(current.size)} compressed ·{" "}
                <span data-testid="backup-detail-status">{STATUS_LABEL[current.status]}</span>
                {current.verified_at && (
                  <>
                    {" "}
                    <span className="nowrap">({dayAndTime(current.verified_at)})</span>
                  </>
                )}
                {proven.has(current.id) ? " · proven by a restore drill" : ""}
              </p>
              <p className="small" data-testid="backup-detail-origin" data-origin={current.origin ?? "local"}>
                {ORIGIN_SENTENCE[current.origin ?? "local"]}.
              </p>
              {forecast.get(current.id) && (
                <p className="small muted" data-testid="backup-detail-retention">
                  {/* Dates whole on their line ("weekly 2026-W48" broke after "2026-"). */}
                  Retention: <DatesWhole text={removalLabel(forecast.get(current.id))} />.
                </p>
              )}
              {current.verify_problem && <p className="notice notice-warn small">{current.verify_problem}</p>}
              {current.suspicious && (
                <p className="notice notice-warn small" data-testid="backup-detail-suspicious">
                  Suspicious, compared with the previous good backup: {current.suspicious}. Kept by retention until you delete it.
                </p>
              )}
              {(current.note || current.started_by || current.pinned) && (
                <p className="small" data-testid="backup-detail-note">
                  {current.note ? `“${current.note}”` : "Started by hand"}
                  {current.started_by ? ` · by ${current.started_by}` : ""}
                  {current.pinned ? " · pinned (kept by every retention)" : ""}
                </p>
              )}
              <Copyable label="File" value={current.path} testId="backup-detail-path" backupId={current.id} />
              {current.sha256 ? <Copyable label="SHA-256" value={current.sha256} testId="backup-detail-sha256" /> : null}
              <div className="tl-side-actions">
                {(["verify", "browse", "show", "delete"] as const).map((id) => {
                  const a = act(current, id);
                  if (!a) return null;
                  return (
                    <button
                      key={id}
                      type="button"
                      className={`btn btn-small${id === "delete" ? " btn-danger" : ""}`}
                      onClick={a.run}
                      disabled={a.disabledWhy !== null}
                      title={a.disabledWhy ?? undefined}
                      data-testid={SIDE_TESTID[id]}
                    >
                      {a.label}
                    </button>
                  );
                })}
              </div>
              <SideWhy actions={(["verify", "browse", "show", "delete"] as const).map((id) => act(current, id))} />
              <BackupContents backup={current} />
              <SelectedBackupWhere data={protection} backup={current} />
            </>
          )}
        </aside>
        )}
      </div>
    </div>
  );
}

/** Why the side panel's disabled buttons wait, under them (issue 64 item 6: a disabled button
 * says why beside it, not only in a tooltip). One line per reason: "Verify: being verified now". */
function SideWhy({ actions }: { actions: (RowAction | undefined)[] }) {
  const waiting = actions.filter((a): a is RowAction & { disabledWhy: string } => a !== undefined && a.disabledWhy !== null);
  if (waiting.length === 0) return null;
  // Actions that wait for the same reason are named together ("Verify, Look inside: the file is missing").
  const byWhy = new Map<string, string[]>();
  for (const a of waiting) byWhy.set(a.disabledWhy, [...(byWhy.get(a.disabledWhy) ?? []), a.label.replace(/…$/, "")]);
  return (
    <ul className="small muted tl-side-why" data-testid="backup-side-why">
      {[...byWhy].map(([why, labels]) => (
        <li key={why}>
          {labels.join(", ")}: {why.charAt(0).toLowerCase() + why.slice(1)}
        </li>
      ))}
    </ul>
  );
}

/** The side panel's buttons keep the test ids the page's toolbar had. */
const SIDE_TESTID = { verify: "verify-selected", browse: "browse-selected", show: "show-in-folder", delete: "delete-selected" } as const;

/** Retention's forecast for each backup and the backups a passed drill proved; asked again when the list changes. */
function useBackupFacts(project: string, load: BackupsLoad) {
  const [forecast, setForecast] = useState<Map<string, RemovalForecast>>(new Map());
  const [proven, setProven] = useState<Set<string>>(new Set());
  useEffect(() => {
    let stale = false;
    if (load.status !== "ready") return;
    void commands
      .removalForecast(project)
      .then((r) => {
        if (!stale && r.status === "ok") setForecast(new Map(r.data.map((f) => [f.backup_id, f])));
      })
      .catch(() => {});
    void commands
      .listDrills(project)
      .then((r) => {
        if (!stale && r.status === "ok") setProven(new Set(r.data.filter((d) => d.verdict === "passed").map((d) => d.backup_id)));
      })
      .catch(() => {});
    return () => {
      stale = true;
    };
  }, [load, project]);
  return { forecast, proven };
}

/** The project's safety backups (the engine's list), asked again when the backups list changes
 * (a restore that replaced the database adds one). None when the list cannot be read. */
function useSafetyBackups(project: string, load: BackupsLoad): SafetyBackup[] {
  const [items, setItems] = useState<SafetyBackup[]>([]);
  useEffect(() => {
    let stale = false;
    if (load.status !== "ready") return;
    void commands
      .listSafetyBackups(project)
      .then((r) => {
        if (!stale && r.status === "ok") setItems(r.data);
      })
      .catch(() => {});
    return () => {
      stale = true;
    };
  }, [load, project]);
  return items;
}
