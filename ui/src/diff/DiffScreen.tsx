// The Diff view (issue 45): pick two backups of a project, or a backup and the database as it is
// now → the tables with their change counts → one table's changed rows, a page at a time, with
// each changed column's value before → after. The engine compares; this only shows.
import { useEffect, useRef, useState } from "react";
import type { BackupType, ErrorPayload, RowChange, TableDiff } from "../bindings";
import { backupName, backupNames as namesOf } from "../components/names";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatDuration } from "../components/format";
import type { Call } from "../ipc/call";
import "../drill/drill.css";
import "./diff.css";

export const ROW_PAGE = 50;

export type DiffBackup = { id: string; created_at: string; path: string; backup_type: BackupType; size?: number };

/** What the view asks of the app (the generated commands; tests pass their own). */
export type DiffApi = {
  backups: (project: string) => Promise<Call<DiffBackup[]>>;
  /** Every table of both sides, with counts (no rows). */
  compare: (from: string, to: string, ticket: string) => Promise<Call<{ from: string; to: string; tables: TableDiff[]; notes: string[] }>>;
  /** One table with a page of its changed rows. */
  rows: (from: string, to: string, schema: string, table: string, offset: number, limit: number, ticket: string) => Promise<Call<TableDiff>>;
  /** Stops the call started with `ticket` (it then fails with code `cancelled`). */
  cancel: (ticket: string) => Promise<unknown>;
};

let tickets = 0;
/** A name for one call, so Cancel (or leaving the view) can stop it. */
const newTicket = () => `diff-${Date.now().toString(36)}-${(tickets += 1)}`;

type Props = { project: string; api: DiffApi; onBack: () => void };

type Load<T> =
  | { status: "idle" }
  | { status: "loading" }
  | { status: "cancelled" }
  | { status: "ready"; data: T }
  | { status: "error"; error: ErrorPayload };

/** The value TO names for the project's database now. */
export const live = (project: string) => `${project}:live`;

const STATUS_WORDS: Record<TableDiff["status"], string> = {
  identical: "identical",
  changed: "changed",
  only_in_from: "only in the older",
  only_in_to: "only in the newer",
};

/** A table's change counts in a few words. */
export function summary(t: TableDiff): string {
  if (t.status !== "changed") return STATUS_WORDS[t.status];
  const parts = [`+${t.added}`, `−${t.removed}`, `~${t.changed}`];
  const cols = t.columns_added.length + t.columns_removed.length + t.columns_retyped.length;
  return `${parts.join(" ")}${cols > 0 ? ` · ${cols} column change${cols === 1 ? "" : "s"}` : ""}`;
}

/** `summary` with each non-zero count in its kind's colour (as the rows' marks are). */
function Counts({ table: t }: { table: TableDiff }) {
  if (t.status !== "changed") return <>{summary(t)}</>;
  const [, cols] = summary(t).split(/(?= · )/);
  const counts = [
    ["added", `+${t.added}`, t.added],
    ["removed", `−${t.removed}`, t.removed],
    ["changed", `~${t.changed}`, t.changed],
  ] as const;
  return (
    <>
      {counts.map(([kind, text, n], i) => (
        <span key={kind}>
          {i > 0 ? " " : ""}
          <span className={n > 0 ? `diff-count diff-count-${kind}` : "diff-count"} data-testid="diff-count">
            {text}
          </span>
        </span>
      ))}
      {cols ?? ""}
    </>
  );
}

/** How long the comparison has been running, counted up each second while it is shown. */
function Elapsed() {
  const [since] = useState(() => Date.now());
  const [now, setNow] = useState(since);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return <span data-testid="diff-elapsed">{formatDuration((now - since) / 1000)}</span>;
}

/**
 * The backups by type and local time; where two would read the same, what tells them apart (the
 * seconds, the size, their order): the one naming rule of every list of backups (`backupNames`).
 */
export function backupNames(list: DiffBackup[]): string[] {
  const names = namesOf(list);
  return list.map((b) => names.get(b.id) ?? backupName(b));
}

/** An engine note as a sentence: its first letter capitalised. */
const sentence = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const shown = (v: string | null) => (v === null ? "NULL" : v);

/** How each kind of changed row is marked: a sign and a word, both in the kind's colour. */
export const ROW_MARK: Record<RowChange["kind"], { sign: string; word: string }> = {
  added: { sign: "+", word: "added" },
  removed: { sign: "−", word: "removed" },
  changed: { sign: "~", word: "changed" },
};

function RowList({ rows }: { rows: RowChange[] }) {
  if (rows.length === 0) return <p className="muted small">No changed rows.</p>;
  return (
    <ul className="diff-rows" data-testid="diff-rows">
      {rows.map((r, i) => (
        <li key={i} className={`diff-row diff-${r.kind}`} data-testid="diff-row" data-kind={r.kind}>
          <p className="diff-row-head">
            <span className="diff-mark" aria-hidden="true" data-testid="diff-mark">
              {ROW_MARK[r.kind].sign}
            </span>{" "}
            <span className="mono">{r.key.length > 0 ? r.key.map((k) => `${k.column}=${shown(k.value)}`).join(", ") : "(whole row)"}</span>{" "}
            <span className="diff-kind small">{ROW_MARK[r.kind].word}</span>
          </p>
          <ul className="diff-values small">
            {r.columns.map((c) => (
              <li key={c.column} data-testid="diff-value">
                <span className="mono diff-col">{c.column}</span>:{" "}
                {r.kind === "changed" ? (
                  <>
                    <del className="mono diff-before">{shown(c.before)}</del> → <ins className="mono diff-after">{shown(c.after)}</ins>
                  </>
                ) : (
                  <span className="mono diff-cell">{shown(r.kind === "added" ? c.after : c.before)}</span>
                )}
              </li>
            ))}
          </ul>
        </li>
      ))}
    </ul>
  );
}

export function DiffScreen({ project, api, onBack }: Props) {
  const [backups, setBackups] = useState<Load<DiffBackup[]>>({ status: "loading" });
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [report, setReport] = useState<Load<{ from: string; to: string; tables: TableDiff[]; notes: string[] }>>({ status: "idle" });
  const [table, setTable] = useState<{ schema: string; table: string } | null>(null);
  const [offset, setOffset] = useState(0);
  const [rows, setRows] = useState<Load<TableDiff>>({ status: "idle" });

  useEffect(() => {
    let stale = false;
    void api.backups(project).then((r) => {
      if (stale) return;
      if (!r.ok) return setBackups({ status: "error", error: r.error });
      setBackups({ status: "ready", data: r.data });
      // Newest first: the one before the newest against the newest.
      setFrom(r.data[1]?.id ?? r.data[0]?.id ?? "");
      setTo(r.data[1] ? (r.data[0]?.id ?? "") : live(project));
    });
    return () => {
      stale = true;
    };
  }, [api, project]);

  useEffect(() => {
    if (!table || report.status !== "ready") return;
    let stale = false;
    const ticket = newTicket();
    setRows({ status: "loading" });
    void api.rows(from, to, table.schema, table.table, offset, ROW_PAGE, ticket).then((r) => {
      if (!stale) setRows(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error });
    });
    return () => {
      stale = true;
      void api.cancel(ticket);
    };
    // `from`/`to` are read when a table is opened; changing them clears the table first.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, table, offset, report.status]);

  // The comparison running now (its ticket), stopped by Cancel or by leaving the view.
  const running = useRef<string | null>(null);
  useEffect(
    () => () => {
      if (running.current) void api.cancel(running.current);
    },
    [api],
  );

  const compare = async () => {
    setTable(null);
    setRows({ status: "idle" });
    setReport({ status: "loading" });
    const ticket = newTicket();
    running.current = ticket;
    const r = await api.compare(from, to, ticket);
    if (running.current !== ticket) return;
    running.current = null;
    if (!r.ok && r.error.code === "cancelled") return setReport({ status: "cancelled" });
    setReport(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error });
  };

  const cancel = () => {
    const ticket = running.current;
    if (!ticket) return;
    running.current = null;
    setReport({ status: "cancelled" });
    void api.cancel(ticket);
  };

  const pick = (value: string, set: (v: string) => void) => {
    set(value);
    setReport({ status: "idle" });
    setTable(null);
  };

  const options = (list: DiffBackup[]) => {
    const names = backupNames(list);
    return list.map((b, i) => (
      <option key={b.id} value={b.id}>
        {names[i]}
      </option>
    ));
  };

  return (
    <section aria-labelledby="diff-title" data-testid="diff-screen">
      <div className="toolbar">
        <button type="button" className="btn btn-quiet" onClick={onBack} data-testid="diff-back">
          ← Backups
        </button>
        <h2 id="diff-title" className="screen-title">
          Compare backups of {project}
        </h2>
      </div>
      {backups.status === "loading" && <p className="muted">Reading the backups…</p>}
      {backups.status === "error" && <ErrorNotice error={backups.error} testId="diff-backups-error" />}
      {backups.status === "ready" && (
        <div className="toolbar">
          <label>
            Older{" "}
            <select value={from} onChange={(e) => pick(e.target.value, setFrom)} data-testid="diff-from">
              {options(backups.data)}
            </select>
          </label>
          <label>
            Newer{" "}
            <select value={to} onChange={(e) => pick(e.target.value, setTo)} data-testid="diff-to">
              {options(backups.data)}
              <option value={live(project)}>The database now (live)</option>
            </select>
          </label>
          <button
            type="button"
            className="btn"
            onClick={() => void compare()}
            disabled={from === "" || to === "" || from === to || report.status === "loading"}
            data-testid="diff-compare"
          >
            Compare
          </button>
        </div>
      )}
      {report.status === "loading" && (
        <p className="muted" data-testid="diff-loading" aria-busy="true">
          Comparing… <Elapsed /> — tables whose recorded digests are equal are not read; a changed table is read
          whole from both sides.{" "}
          <button type="button" className="btn btn-quiet" onClick={cancel} data-testid="diff-cancel">
            Cancel
          </button>
        </p>
      )}
      {report.status === "cancelled" && (
        <p className="muted" data-testid="diff-cancelled">
          Comparison cancelled. Nothing was changed; choose Compare to start again.
        </p>
      )}
      {report.status === "error" && <ErrorNotice error={report.error} testId="diff-error" />}
      {report.status === "ready" && (
        <div className="browse-layout">
          <section className="panel" aria-label="Tables">
            <h3 className="panel-title">Tables</h3>
            {report.data.notes.map((n) => (
              <p key={n} className="notice notice-neutral small" data-testid="diff-note">
                {sentence(n)}
              </p>
            ))}
            <ul className="browse-table-list" data-testid="diff-tables">
              {report.data.tables.map((t) => (
                <li key={`${t.schema}.${t.table}`} data-testid="diff-table" data-status={t.status}>
                  {t.status === "changed" ? (
                    <button
                      type="button"
                      className="link"
                      onClick={() => {
                        setTable({ schema: t.schema, table: t.table });
                        setOffset(0);
                      }}
                      data-testid="diff-open-table"
                    >
                      {t.schema}.{t.table}
                    </button>
                  ) : (
                    <span>
                      {t.schema}.{t.table}
                    </span>
                  )}{" "}
                  <span className="small muted" data-testid="diff-counts">
                    <Counts table={t} />
                  </span>
                </li>
              ))}
            </ul>
          </section>
          {table ? (
            <section className="panel" aria-label="Changed rows" data-testid="diff-table-rows">
              <h3 className="panel-title">
                {table.schema}.{table.table}
              </h3>
              {rows.status === "loading" && (
                <p className="muted" aria-busy="true">
                  Reading the changed rows… <Elapsed />
                </p>
              )}
              {rows.status === "error" && <ErrorNotice error={rows.error} testId="diff-rows-error" />}
              {rows.status === "ready" && (
                <>
                  {rows.data.note && <p className="small muted">{rows.data.note}</p>}
                  {rows.data.columns_added.map((c) => (
                    <p key={c.name} className="small" data-testid="diff-column">
                      Column added: <span className="mono">{c.name}</span> {c.data_type}
                    </p>
                  ))}
                  {rows.data.columns_removed.map((c) => (
                    <p key={c.name} className="small" data-testid="diff-column">
                      Column removed: <span className="mono">{c.name}</span> {c.data_type}
                    </p>
                  ))}
                  {rows.data.columns_retyped.map((c) => (
                    <p key={c.name} className="small" data-testid="diff-column">
                      Column retyped: <span className="mono">{c.name}</span> {c.from} → {c.to}
                    </p>
                  ))}
                  <RowList rows={rows.data.rows} />
                  <div className="toolbar">
                    <button
                      type="button"
                      className="btn btn-quiet"
                      disabled={offset === 0}
                      onClick={() => setOffset(Math.max(0, offset - ROW_PAGE))}
                      data-testid="diff-prev"
                    >
                      Previous
                    </button>
                    <button
                      type="button"
                      className="btn btn-quiet"
                      disabled={!rows.data.rows_more}
                      onClick={() => setOffset(offset + ROW_PAGE)}
                      data-testid="diff-next"
                    >
                      Next
                    </button>
                  </div>
                </>
              )}
            </section>
          ) : (
            <p className="muted small">Choose a changed table to see its rows.</p>
          )}
        </div>
      )}
    </section>
  );
}
