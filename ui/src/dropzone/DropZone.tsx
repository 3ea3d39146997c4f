// Drag a file over the window: a full-window overlay says what happens on drop. Drop it (or choose
// it with an "Import…" button): a panel previews what the file holds (project, time, versions,
// tables) and offers to add it to a project (ImportPanel) or to restore it. The paths come from
// Tauri's webview drag-and-drop events; nothing changes until the user imports or restores.
import { getCurrentWebview, type DragDropEvent } from "@tauri-apps/api/webview";
import type { UnlistenFn } from "@tauri-apps/api/event";
import { useEffect, useReducer, useRef, useState } from "react";
import { ErrorNotice } from "../components/ErrorNotice";
import { BACKUP_TYPES } from "../project/backupTypes";
import { formatBytes, formatTime } from "../components/format";
import { dropReducer, fileName, initialDrop } from "./dropState";
import { ExportPartsList } from "./ExportParts";
import { ImportPanel } from "./ImportPanel";
import { useImportRequests } from "./importRequest";
import { type Inspected, inspect, KIND_LABELS, KIND_TECHNICAL } from "./preview";
import { Copyable } from "../components/Copyable";
import { PanelFooter, ScrollPanel } from "../components/PanelFooter";
import { Details } from "../components/Details";
import { useSubscription } from "../ipc/subscribe";
import "./dropzone.css";
import { plural, sentenceCase, shortVersion } from "../words";

export type Subscribe = (handler: (e: DragDropEvent) => void) => Promise<UnlistenFn>;

/** The real subscription: the current webview's drag-and-drop events (rejects outside Tauri). */
export const webviewDragDrop: Subscribe = async (handler) =>
  getCurrentWebview().onDragDropEvent((event) => handler(event.payload));

type Props = {
  /** Where drag-and-drop events come from (tests pass their own). */
  subscribe?: Subscribe;
  /** The project whose page is open: an Offsite archive can be restored from it directly. */
  currentProject?: string | undefined;
  /** Open the restore wizard of `project` on the archive at `path`. */
  onRestore?: ((path: string, project: string) => void) | undefined;
  /** Open a project's page (after an import). */
  onOpenProject?: ((name: string) => void) | undefined;
};

const TABLES_SHOWN = 20;

export function DropZone({ subscribe = webviewDragDrop, currentProject, onRestore, onOpenProject }: Props) {
  const [state, dispatch] = useReducer(dropReducer, initialDrop);
  const [inspected, setInspected] = useState<Inspected | null>(null);
  const closeRef = useRef<HTMLButtonElement>(null);
  const { request, pick } = useImportRequests();
  // The import found the file damaged: only safe actions stay (no "Restore into …").
  const [damaged, setDamaged] = useState(false);

  useEffect(() => {
    if (request) dispatch({ type: "open", path: request.path });
  }, [request]);

  const leave = (then: () => void) => {
    dispatch({ type: "dismiss" });
    then();
  };

  useSubscription(subscribe, dispatch);

  useEffect(() => {
    if (!state.path) return;
    let active = true;
    setInspected(null);
    setDamaged(false);
    void inspect(state.path).then((r) => active && setInspected(r));
    closeRef.current?.focus();
    return () => {
      active = false;
    };
  }, [state.path]);

  useEffect(() => {
    if (!state.path) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        dispatch({ type: "dismiss" });
      }
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, [state.path]);

  return (
    <>
      {state.over && (
        <div className="drop-overlay" data-testid="drop-overlay" aria-live="polite">
          <div className="drop-overlay-box">
            <p className="drop-overlay-title">Drop to look inside</p>
            <p className="muted">
              {state.count > 1 ? `${state.count} files: the first one is previewed. ` : ""}
              An Offsite archive, a database dump made outside Offsite, or a project export. Nothing is changed yet.
            </p>
          </div>
        </div>
      )}
      {state.path && (
        <div className="drop-backdrop">
          <ScrollPanel
            className="panel drop-preview"
            role="dialog"
            aria-modal="true"
            aria-labelledby="drop-preview-title"
            testId="drop-preview"
            data-status={inspected?.status ?? "loading"}
          >
            <div className="toolbar">
              <h2 id="drop-preview-title" className="panel-title">
                {fileName(state.path)}
              </h2>
              <span className="spacer" />
              <button
                ref={closeRef}
                type="button"
                className="btn btn-quiet btn-small"
                onClick={() => dispatch({ type: "dismiss" })}
                data-testid="drop-preview-close"
              >
                Close
              </button>
            </div>
            <Copyable value={state.path} kind="path" testId="drop-path" />
            {state.ignored > 0 && (
              <p className="muted small" data-testid="drop-ignored">
                {state.ignored} more file{state.ignored === 1 ? " was" : "s were"} dropped; one file at a time is
                previewed.
              </p>
            )}
            {/* A file found damaged reads as one red truth first; what it says about itself
                ("made by Offsite", its project) only behind Details below (issue 44, import-04). */}
            {!damaged && <PreviewBody inspected={inspected} />}
            {inspected?.status === "ok" &&
              inspected.preview.kind === "offsite_archive" &&
              !damaged &&
              currentProject &&
              onRestore && (
              <PanelFooter>
                <button
                  type="button"
                  className="btn"
                  onClick={() => leave(() => onRestore(inspected.preview.path, currentProject))}
                  data-testid="drop-restore"
                >
                  Restore into {currentProject}…
                </button>
              </PanelFooter>
            )}
            {inspected?.status === "ok" && (
              <ImportPanel
                key={inspected.preview.path}
                preview={inspected.preview}
                onOpenProject={onOpenProject && ((name) => leave(() => onOpenProject(name)))}
                onRestore={onRestore && ((path, project) => leave(() => onRestore(path, project)))}
                onDamaged={setDamaged}
                onChooseAnother={() => leave(() => void pick())}
              />
            )}
            {damaged && (
              <Details testId="drop-damaged-facts" summary="What the damaged file says it holds">
                <PreviewBody inspected={inspected} />
              </Details>
            )}
          </ScrollPanel>
        </div>
      )}
    </>
  );
}

function PreviewBody({ inspected }: { inspected: Inspected | null }) {
  if (!inspected)
    return (
      <p className="muted" data-testid="drop-loading">
        Reading the file…
      </p>
    );
  if (inspected.status === "unrecognised")
    return (
      <div data-testid="drop-unrecognised">
        <p className="notice notice-error">
          <strong>This is not a backup Offsite can read.</strong> Offsite reads its own archive files, database dumps
          made outside Offsite and project exports.
        </p>
        <Details testId="drop-unrecognised-detail">
          <p className="small">
            A database dump made outside Offsite: <span className="mono">pg_dump -Fc</span> (custom format), a
            directory dump or a plain SQL file; a project export holds a <span className="mono">database.dump</span>.
          </p>
        </Details>
        <ErrorNotice error={inspected.error} testId="drop-error" />
      </div>
    );
  if (inspected.status === "error") return <ErrorNotice error={inspected.error} testId="drop-error" />;
  const p = inspected.preview;
  const tool = p.pg_dump_version
    ? p.pg_dump_version.startsWith("pg_dump")
      ? p.pg_dump_version
      : `pg_dump ${p.pg_dump_version}`
    : null;
  const server = p.server_version ? shortVersion(p.server_version) : null;
  return (
    <div data-testid="drop-details" data-kind={p.kind}>
      <dl className="kv">
        <dt>Kind</dt>
        <dd data-testid="drop-kind">{KIND_LABELS[p.kind] ?? p.kind}</dd>
        {/* A dump made outside Offsite names the database it was made of, not a project of
            Offsite's (issue 64 item 7: "Project legacy_src" above a new project's name field). */}
        <dt>{p.kind === "pg_dump" ? "Database" : "Project"}</dt>
        <dd data-testid="drop-project">{p.project ?? "—"}</dd>
        <dt>Type</dt>
        <dd data-testid="drop-type">{BACKUP_TYPES.find((b) => b.type === p.backup_type)?.label ?? p.backup_type}</dd>
        <dt>Made</dt>
        <dd data-testid="drop-created">{formatTime(p.created_at)}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(p.size)}</dd>
        <dt>Made from</dt>
        <dd data-testid="drop-server">
          {server ? `PostgreSQL ${server.replace(/^PostgreSQL /, "")}` : "A PostgreSQL server of unknown version"}
        </dd>
        <dt>Contents</dt>
        <dd data-testid="drop-counts">
          {plural(p.tables.length, "table")}
          {p.members.length > 0 ? ` · ${plural(p.members.length, "file")} in the archive` : ""}
          {p.has_globals ? " · its roles" : ""}
        </dd>
      </dl>
      <Details testId="drop-technical">
        <dl className="kv">
          <dt>File kind</dt>
          <dd data-testid="drop-kind-technical">{KIND_TECHNICAL[p.kind] ?? p.kind}</dd>
          <dt>Server version</dt>
          <dd className="mono" data-testid="drop-server-full">
            {p.server_version ?? "unknown"}
          </dd>
          {tool && (
            <>
              <dt>Written by</dt>
              <dd className="mono">{tool}</dd>
            </>
          )}
          {p.has_globals && (
            <>
              <dt>Roles</dt>
              <dd className="mono">globals.sql</dd>
            </>
          )}
        </dl>
      </Details>
      {p.parts && <ExportPartsList parts={p.parts} />}
      {p.tables.length > 0 && (
        <ul className="mono small drop-tables" data-testid="drop-tables">
          {p.tables.slice(0, TABLES_SHOWN).map((t) => (
            <li key={`${t.schema}.${t.table}`}>
              {t.schema}.{t.table}
              {p.rows_recorded ? ` — ${t.rows.toLocaleString("en-US")} rows` : ""}
            </li>
          ))}
          {p.tables.length > TABLES_SHOWN && <li className="muted">… and {p.tables.length - TABLES_SHOWN} more</li>}
        </ul>
      )}
      {p.plain && p.plain.arbitrary_sql_total > 0 && (
        <div className="notice notice-error small" data-testid="drop-arbitrary-sql" data-count={p.plain.arbitrary_sql_total}>
          <p className="notice-title">
            It holds {plural(p.plain.arbitrary_sql_total, "statement")} pg_dump never writes: a restore runs them only if you
            tick their own box. Run with administrator rights, they can run programs and read files on the database server.
          </p>
          <ul className="mono">
            {p.plain.arbitrary_sql.map((a, i) => (
              <li key={i}>
                <bdi>{a.excerpt}</bdi>
              </li>
            ))}
          </ul>
        </div>
      )}
      {p.notes.length > 0 && (
        <ul className="notice notice-warn small" data-testid="drop-notes">
          {p.notes.map((n) => (
            <li key={n}>{sentenceCase(n)}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
