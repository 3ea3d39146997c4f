// The Diff view (issue 45): pick two backups of a project, or a backup and the database as it is
// now → the tables with their change counts → one table's changed rows, a page at a time, with
// each changed column's value before → after. The engine compares; this only shows. Where the
// project is captured continuously (issue 46), the older side may be a point in time: the engine
// makes the database as it was then (a job: the base restored, the changes replayed) into a
// temporary archive the app holds while this view is open, and compares that.
import { useEffect, useRef, useState } from "react";
import type { BackupType, ErrorPayload, RowChange, TableDiff, Window } from "../bindings";
import { backupName, backupNames as namesOf } from "../components/names";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatDuration } from "../components/format";
import type { Call } from "../ipc/call";
import { AT_TIME, AtTimeField, newestRestorable } from "../components/AtTimeField";
import { localFieldToUtc, localSeconds, toLocalField } from "../wizard/pitr/time";
import { type RecoverApi, RecoverWizard } from "../recover/RecoverWizard";
import { type Chosen, isChosen, noneChosen, rowKeys, tick } from "../recover/chosen";
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
  /** The project's restorable windows (none: no point in time is offered). */
  windows?: (project: string) => Promise<Call<Window[]>>;
  /** Makes the project as it was at `at` (RFC 3339): the temporary archive's path. `onStarted`
   * gets a way to cancel it (it then fails with code `cancelled`). */
  openAt?: (project: string, at: string, onStarted?: (cancel: () => void) => void) => Promise<Call<string>>;
  /** Removes a state `openAt` made. */
  closeAt?: (archive: string) => Promise<unknown>;
};

/** The older side's value for "a point in time". */
export { AT_TIME };

let tickets = 0;
/** A name for one call, so Cancel (or leaving the view) can stop it. */
const newTicket = () => `diff-${Date.now().toString(36)}-${(tickets += 1)}`;

type Props = {
  project: string;
  api: DiffApi;
  onBack: () => void;
  /** A moment chosen on the point-in-time band (RFC 3339 UTC), compared with the database now. */
  initialAt?: string;
  /** "Recover these rows…" on removed and changed rows: its commands and the saved projects it can recover into. */
  recover?: { api: RecoverApi; projects: string[] };
};

/** A changed row's key values, when it can be ticked: a removed or changed row of a table compared by key. */
export function tickKey(r: RowChange): string[] | null {
  if (r.kind === "added" || r.key.length === 0) return null;
  if (r.key.some((k) => k.value === null)) return null;
  return r.key.map((k) => k.value ?? "");
}

/** The ticking of a page of changed rows (kept by the screen across pages). */
type RowTicks = {
  isChosen: (r: RowChange) => boolean;
  onTick: (rows: RowChange[], on: boolean) => void;
};

type Load<T> =
  | { status: "idle" }
  | { status: "loading" }
  | { status: "making"; at: string }
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

function RowList({ rows, ticks }: { rows: RowChange[]; ticks?: RowTicks | undefined }) {
  if (rows.length === 0) return <p className="muted small">No changed rows.</p>;
  const tickable = ticks ? rows.filter((r) => tickKey(r) !== null) : [];
  return (
    <>
      {ticks && tickable.length > 0 && (
        <label className="choice small diff-tick-all">
          <input
            type="checkbox"
            checked={tickable.every((r) => ticks.isChosen(r))}
            onChange={(e) => ticks.onTick(tickable, e.target.checked)}
            data-testid="diff-tick-page"
          />{" "}
          Tick every removed and changed row of this page
        </label>
      )}
    <ul className="diff-rows" data-testid="diff-rows">
      {rows.map((r, i) => (
        <li key={i} className={`diff-row diff-${r.kind}`} data-testid="diff-row" data-kind={r.kind}>
          <p className="diff-row-head">
            {ticks && tickKey(r) !== null && (
              <input
                type="checkbox"
                className="diff-tick"
                checked={ticks.isChosen(r)}
                onChange={(e) => ticks.onTick([r], e.target.checked)}
                aria-label={`Tick this ${ROW_MARK[r.kind].word} row`}
                data-testid="diff-row-tick"
              />
            )}
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
    </>
  );
}

export function DiffScreen({ project, api, onBack, initialAt, recover }: Props) {
  const [backups, setBackups] = useState<Load<DiffBackup[]>>({ status: "loading" });
  const [from, setFrom] = useState(initialAt ? AT_TIME : "");
  const [to, setTo] = useState("");
  const [report, setReport] = useState<Load<{ from: string; to: string; tables: TableDiff[]; notes: string[] }>>({ status: "idle" });
  const [table, setTable] = useState<{ schema: string; table: string } | null>(null);
  const [offset, setOffset] = useState(0);
  const [rows, setRows] = useState<Load<TableDiff>>({ status: "idle" });
  // Rows ticked for "Recover these rows…", and which of them are changed (their values come back
  // over the newer ones: the wizard starts at "Overwrite").
  const [chosen, setChosen] = useState<Chosen>(noneChosen);
  const [changedTicked, setChangedTicked] = useState<Set<string>>(new Set());
  const [recovering, setRecovering] = useState(false);
  const [windows, setWindows] = useState<Window[]>([]);
  // Until the restorable times are read, a point in time is not compared: they arrive beside the
  // time field and move the Compare button (a click in that moment landed on nothing).
  const [windowsRead, setWindowsRead] = useState(!api.windows);
  const [atField, setAtField] = useState(() => (initialAt ? toLocalField(Date.parse(initialAt)) : ""));
  // The sides compared last (a point in time as its archive's path): what a table's rows are read from.
  const [compared, setCompared] = useState<{ from: string; to: string }>({ from: "", to: "" });
  // The state made for a point in time, held until another time is compared or the view is left.
  const held = useRef<{ at: string; archive: string } | null>(null);
  const stopMaking = useRef<(() => void) | null>(null);

  useEffect(() => {
    let stale = false;
    void api.windows?.(project).then((r) => {
      if (stale) return;
      setWindowsRead(true);
      if (!r.ok || r.data.length === 0) return;
      setWindows(r.data);
      setAtField((f) => f || newestRestorable(r.data));
    });
    return () => {
      stale = true;
    };
  }, [api, project]);

  useEffect(
    () => () => {
      stopMaking.current?.();
      if (held.current) void api.closeAt?.(held.current.archive);
      held.current = null;
    },
    [api],
  );

  useEffect(() => {
    let stale = false;
    void api.backups(project).then((r) => {
      if (stale) return;
      if (!r.ok) return setBackups({ status: "error", error: r.error });
      setBackups({ status: "ready", data: r.data });
      // A moment from the band: it against the database now.
      if (initialAt) return setTo(live(project));
      // Newest first: the one before the newest against the newest.
      setFrom(r.data[1]?.id ?? r.data[0]?.id ?? "");
      setTo(r.data[1] ? (r.data[0]?.id ?? "") : live(project));
    });
    return () => {
      stale = true;
    };
  }, [api, project, initialAt]);

  useEffect(() => {
    if (!table || report.status !== "ready") return;
    let stale = false;
    const ticket = newTicket();
    setRows({ status: "loading" });
    void api.rows(compared.from, compared.to, table.schema, table.table, offset, ROW_PAGE, ticket).then((r) => {
      if (!stale) setRows(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error });
    });
    return () => {
      stale = true;
      void api.cancel(ticket);
    };
    // The sides are read when a table is opened; comparing again clears the table first.
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

  /** The older side as the engine takes it: a point in time made first (or the one held). */
  const older = async (ticket: string): Promise<string | null> => {
    if (from !== AT_TIME) return from;
    const at = localFieldToUtc(atField);
    if (!at || !api.openAt) return null;
    if (held.current?.at === at) return held.current.archive;
    if (held.current) void api.closeAt?.(held.current.archive);
    held.current = null;
    setReport({ status: "making", at });
    const made = await api.openAt(project, at, (stop) => (stopMaking.current = stop));
    stopMaking.current = null;
    if (running.current !== ticket) {
      if (made.ok) void api.closeAt?.(made.data);
      return null;
    }
    if (!made.ok) {
      running.current = null;
      setReport(made.error.code === "cancelled" ? { status: "cancelled" } : { status: "error", error: made.error });
      return null;
    }
    held.current = { at, archive: made.data };
    setReport({ status: "loading" });
    return made.data;
  };

  const clearTicks = () => {
    setChosen(noneChosen());
    setChangedTicked(new Set());
    setRecovering(false);
  };

  const ticks: RowTicks = {
    isChosen: (r) => isChosen(chosen, tickKey(r)),
    onTick: (list, on) => {
      const keyed = list.map((r) => ({ r, k: tickKey(r) })).filter((x): x is { r: RowChange; k: string[] } => x.k !== null);
      const columns = keyed[0]?.r.key.map((k) => k.column) ?? [];
      setChosen((c) => tick(c, columns, keyed.map((x) => x.k), on));
      setChangedTicked((s) => {
        const next = new Set(s);
        for (const { r, k } of keyed) {
          if (on && r.kind === "changed") next.add(JSON.stringify(k));
          else next.delete(JSON.stringify(k));
        }
        return next;
      });
    },
  };

  const compare = async () => {
    clearTicks();
    setTable(null);
    setRows({ status: "idle" });
    setReport({ status: "loading" });
    const ticket = newTicket();
    running.current = ticket;
    const f = await older(ticket);
    if (f === null || running.current !== ticket) return;
    setCompared({ from: f, to });
    const r = await api.compare(f, to, ticket);
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
    stopMaking.current?.();
    void api.cancel(ticket);
  };

  const pick = (value: string, set: (v: string) => void) => {
    clearTicks();
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
              {(windows.length > 0 || from === AT_TIME) && api.openAt && <option value={AT_TIME}>A point in time…</option>}
            </select>
          </label>
          {from === AT_TIME && (
            <AtTimeField label="At" value={atField} onChange={(v) => pick(v, setAtField)} windows={windows} testId="diff-at" />
          )}
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
            disabled={
              from === "" ||
              to === "" ||
              from === to ||
              report.status === "loading" ||
              report.status === "making" ||
              (from === AT_TIME && (!windowsRead || !localFieldToUtc(atField)))
            }
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
      {report.status === "making" && (
        <p className="muted" data-testid="diff-making" aria-busy="true">
          Making {project} as it was at {localSeconds(report.at)}… <Elapsed /> — its backup restored in a throwaway server and the
          captured changes replayed up to then.{" "}
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
                        clearTicks();
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
          {table && recovering && recover && rowKeys(chosen) ? (
            <RecoverWizard
              archive={compared.from}
              schema={table.schema}
              name={table.table}
              filters={[]}
              keys={rowKeys(chosen)}
              onConflict={changedTicked.size > 0 ? "update" : "keep"}
              projects={recover.projects}
              api={recover.api}
              onClose={() => setRecovering(false)}
            />
          ) : table ? (
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
                  <RowList rows={rows.data.rows} ticks={recover && rows.data.key.length > 0 ? ticks : undefined} />
                  {recover && rows.data.key.length === 0 && rows.data.rows.length > 0 && (
                    <p className="small muted" data-testid="diff-no-key">
                      This table has no primary key, so its rows cannot be ticked and recovered from here: use Browse with a
                      filter on a column instead.
                    </p>
                  )}
                  <div className="toolbar">
                    {chosen.rows.size > 0 && (
                      <span className="small" data-testid="diff-chosen">
                        {chosen.rows.size === 1 ? "1 row ticked" : `${chosen.rows.size.toLocaleString("en-US")} rows ticked`}{" "}
                        <button type="button" className="btn btn-quiet btn-small" onClick={clearTicks} data-testid="diff-clear-chosen">
                          Clear
                        </button>
                      </span>
                    )}
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
                    {chosen.rows.size > 0 && (
                      <>
                        <span className="spacer" />
                        <button type="button" className="btn btn-primary btn-small" onClick={() => setRecovering(true)} data-testid="diff-recover">
                          Recover these rows…
                        </button>
                      </>
                    )}
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
