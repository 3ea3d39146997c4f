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
};

/** "Rows 1–50", "Rows 51–73", "No rows match". */
export function rowRange(page: RowsPage): string {
  if (page.rows.length === 0) return page.offset === 0 ? "No rows" : "No more rows";
  return `Rows ${(page.offset + 1).toLocaleString("en-US")}–${(page.offset + page.rows.length).toLocaleString("en-US")}`;
}

export function TablePager({ table, state, pageSize, filter, column = null, onFilter, onPage, onExport, exporting, onRecover }: Props) {
  // The filter box is edited freely; it applies on Enter or "Filter" (each apply is a new scan).
  const [text, setText] = useState(filter);
  const [col, setCol] = useState<string | null>(column);
  useEffect(() => setText(filter), [filter]);
  useEffect(() => setCol(column), [column]);
  const page = state.status === "ready" ? state.page : null;
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
          <div className="browse-grid-wrap">
            <table className="history-table browse-grid" data-testid="browse-rows">
              <thead>
                <tr>
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
                  <tr key={page.offset + i} data-testid="browse-row">
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
            <span className="spacer" />
            {onRecover && column && filter !== "" && page.rows.length > 0 && (
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
