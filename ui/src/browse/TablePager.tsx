// One table of a backup, page by page: its columns, the rows of the page (read straight from the
// archive's dump by the engine), a filter, and "Export CSV…". The engine pages and filters; this
// only asks for the next or previous page and shows what came.
import { useEffect, useState } from "react";
import type { ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";

/** A column; its SQL type when the engine knows it. */
export type Column = { name: string; type: string | null };

export type RowsPage = {
  columns: Column[];
  /** Each row's values as text (null: SQL NULL). */
  rows: (string | null)[][];
  /** Index of the page's first row among the (filtered) rows. */
  offset: number;
  /** More rows follow this page. */
  more: boolean;
  /** Why some column types are not shown. */
  typesNote?: string | null;
  /** The columns that name a row (the dump's primary key); empty: rows cannot be ticked. */
  key?: string[];
  /** Per row, its key's values (null: the row cannot be named). */
  rowKeys?: (string[] | null)[];
};

/** Ticking rows for "Recover these rows…" (the choice is kept by the screen, across pages and filters). */
export type Ticks = {
  count: number;
  isChosen: (values: string[] | null) => boolean;
  onTick: (columns: string[], rows: string[][], on: boolean) => void;
  onClear: () => void;
  onRecover: () => void;
};

export type PageState =
  | { status: "loading" }
  | { status: "ready"; page: RowsPage }
  | { status: "error"; error: ErrorPayload };

type Props = {
  table: string;
  state: PageState;
  pageSize: number;
  filter: string;
  /** The column the applied filter is about (`column = filter`); null: any column contains it. */
  column?: string | null;
  onFilter: (filter: string, column?: string | null) => void;
  /** "Recover these rows…", offered for a `column = value` filter. */
  onRecover?: () => void;
  onPage: (offset: number) => void;
  onExport?: () => void;
  exporting?: boolean;
  ticks?: Ticks;
};

/** "Rows 1–50", "Rows 51–73", "No rows match". */
export function rowRange(page: RowsPage): string {
  if (page.rows.length === 0) return page.offset === 0 ? "No rows" : "No more rows";
  return `Rows ${(page.offset + 1).toLocaleString("en-US")}–${(page.offset + page.rows.length).toLocaleString("en-US")}`;
}

/** The rows of a page that can be ticked (their key's values). */
function nameable(page: RowsPage): string[][] {
  return (page.rowKeys ?? []).filter((k): k is string[] => k !== null);
}

export function TablePager({ table, state, pageSize, filter, column = null, onFilter, onPage, onExport, exporting, onRecover, ticks }: Props) {
  // The filter box is edited freely; it applies on Enter or "Filter" (each apply is a new scan).
  const [text, setText] = useState(filter);
  const [col, setCol] = useState<string | null>(column);
  useEffect(() => setText(filter), [filter]);
  useEffect(() => setCol(column), [column]);
  const page = state.status === "ready" ? state.page : null;
  const tickable = !!ticks && !!page && (page.key ?? []).length > 0;
  const onPage_ = page ? nameable(page) : [];
  const pageChosen = tickable && onPage_.length > 0 && onPage_.every((k) => ticks.isChosen(k));
  // The column list stays while a new page loads.
  const [columns, setColumns] = useState<string[]>([]);
  useEffect(() => {
    if (page) setColumns(page.columns.map((c) => c.name));
  }, [page]);
  return (
    <section className="panel browse-pager" aria-label={`Rows of ${table}`} data-testid="browse-pager" data-table={table}>
      <div className="toolbar">
        <h3 className="panel-title">{table}</h3>
        <span className="spacer" />
        {onExport && (
          <button type="button" className="btn btn-small" onClick={onExport} disabled={exporting} data-testid="browse-export-csv">
            {exporting ? "Exporting…" : "Export CSV…"}
          </button>
        )}
      </div>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          const t = text.trim();
          if (col) onFilter(t, col);
          else onFilter(t);
        }}
      >
        <select
          value={col ?? ""}
          onChange={(e) => setCol(e.target.value === "" ? null : e.target.value)}
          aria-label="Filter column"
          data-testid="browse-filter-column"
        >
          <option value="">Any column contains</option>
          {columns.map((c) => (
            <option key={c} value={c}>
              {c} =
            </option>
          ))}
        </select>
        <input
          className="grow"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder={col ? `Rows where ${col} is…` : "Show rows containing…"}
          aria-label="Filter rows"
          data-testid="browse-filter"
        />
        <button type="submit" className="btn btn-small" data-testid="browse-filter-apply">
          Filter
        </button>
      </form>
      {state.status === "loading" && (
        <p className="muted small" data-testid="browse-rows-loading">
          Reading rows from the archive…
        </p>
      )}
      {state.status === "error" && <ErrorNotice error={state.error} testId="browse-rows-error" />}
      {page && (
        <>
          {page.typesNote && (
            <p className="small muted" data-testid="browse-types-note">
              {page.typesNote}
            </p>
          )}
          {ticks && (page.key ?? []).length === 0 && page.rows.length > 0 && (
            <p className="small muted" data-testid="browse-no-key">
              This table has no primary key in the backup, so its rows cannot be ticked one by one: choose them with a
              filter on a column (“{page.columns[0]?.name ?? "column"} =”) instead.
            </p>
          )}
          <div className="browse-grid-wrap">
            <table className="history-table browse-grid" data-testid="browse-rows">
              <thead>
                <tr>
                  {tickable && (
                    <th className="browse-tick">
                      <input
                        type="checkbox"
                        checked={pageChosen}
                        disabled={onPage_.length === 0}
                        onChange={(e) => ticks.onTick(page.key ?? [], onPage_, e.target.checked)}
                        aria-label="Tick every row of this page"
                        title="Tick every row of this page"
                        data-testid="browse-tick-page"
                      />
                    </th>
                  )}
                  {page.columns.map((c) => (
                    <th key={c.name} title={c.type ?? undefined} data-testid="browse-column">
                      {c.name}
                      {c.type && <span className="muted small"> {c.type}</span>}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {page.rows.map((row, i) => (
                  <tr key={page.offset + i} data-testid="browse-row" className={tickable && ticks.isChosen(page.rowKeys?.[i] ?? null) ? "browse-row-chosen" : undefined}>
                    {tickable && (
                      <td className="browse-tick">
                        <input
                          type="checkbox"
                          checked={ticks.isChosen(page.rowKeys?.[i] ?? null)}
                          disabled={!page.rowKeys?.[i]}
                          onChange={(e) => {
                            const k = page.rowKeys?.[i];
                            if (k) ticks.onTick(page.key ?? [], [k], e.target.checked);
                          }}
                          aria-label={`Tick row ${page.offset + i + 1}`}
                          data-testid="browse-row-tick"
                        />
                      </td>
                    )}
                    {row.map((v, j) => (
                      <td key={j} className={v === null ? "muted" : undefined}>
                        {v === null ? "NULL" : v}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="toolbar">
            <span className="small muted" data-testid="browse-range">
              {rowRange(page)}
              {filter ? (column ? ` where ${column} = “${filter}”` : ` matching “${filter}”`) : ""}
            </span>
            {ticks && ticks.count > 0 && (
              <span className="small browse-chosen" data-testid="browse-chosen">
                {ticks.count === 1 ? "1 row ticked" : `${ticks.count.toLocaleString("en-US")} rows ticked`}{" "}
                <button type="button" className="btn btn-quiet btn-small" onClick={ticks.onClear} data-testid="browse-clear-chosen">
                  Clear
                </button>
              </span>
            )}
            <span className="spacer" />
            {ticks && ticks.count > 0 && (
              <button type="button" className="btn btn-small btn-primary" onClick={ticks.onRecover} data-testid="browse-recover-chosen">
                Recover these rows…
              </button>
            )}
            {onRecover && column && filter !== "" && page.rows.length > 0 && !(ticks && ticks.count > 0) && (
              <button type="button" className="btn btn-small" onClick={onRecover} data-testid="browse-recover">
                Recover these rows…
              </button>
            )}
            <button
              type="button"
              className="btn btn-small"
              disabled={page.offset === 0}
              onClick={() => onPage(Math.max(0, page.offset - pageSize))}
              data-testid="browse-prev"
            >
              ← Previous
            </button>
            <button
              type="button"
              className="btn btn-small"
              disabled={!page.more}
              onClick={() => onPage(page.offset + page.rows.length)}
              data-testid="browse-next"
            >
              Next →
            </button>
          </div>
        </>
      )}
    </section>
  );
}
