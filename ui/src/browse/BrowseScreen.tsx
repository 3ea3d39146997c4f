// "Look inside" a backup without restoring it: its schemas and tables (row counts, sizes), one
// table's columns and rows page by page with a filter, "Export CSV…", and the storage objects with
// a preview and "Save…". Everything is read from the archive by the engine; no server is needed.
import { useCallback, useEffect, useMemo, useState } from "react";
import type { ColumnEquals, ErrorPayload } from "../bindings";
import { type RecoverApi, RecoverWizard } from "../recover/RecoverWizard";
import { type Chosen, isChosen, noneChosen, rowKeys, tick } from "../recover/chosen";
import { Copyable } from "../components/Copyable";
import { ErrorNotice } from "../components/ErrorNotice";
import type { Call } from "../ipc/call";
import { type ObjectEntry, ObjectList, objectKey, type Preview, type PreviewState } from "./ObjectList";
import { type TableEntry, TableList, tableKey } from "./TableList";
import { type PageState, type RowsPage, TablePager } from "./TablePager";
import { type ObjectsPage, useObjects } from "./useObjects";
import "../drill/drill.css";

export type { ObjectsPage } from "./useObjects";

export const PAGE_SIZE = 50;
/** Storage objects listed at a time. */
export const OBJECT_PAGE_SIZE = 200;

export type BrowseContents = {
  tables: TableEntry[];
  objects: ObjectEntry[];
  /** Why the tables' rows cannot be read from this backup (null: they can). */
  note: string | null;
  /** A selective backup: what it left out, one phrase each (absent: the whole database). */
  leftOut?: string[];
  /** More objects than listed. */
  moreObjects: number;
};

/** What the screen asks of the app (the generated commands; tests pass their own). */
export type BrowseApi = {
  contents: (archive: string) => Promise<Call<BrowseContents>>;
  /** `equals`: rows whose column is exactly that value (then `filter` is ""). */
  rows: (
    archive: string,
    schema: string,
    table: string,
    offset: number,
    limit: number,
    filter: string,
    equals?: ColumnEquals,
  ) => Promise<Call<RowsPage>>;
  /** Objects whose `bucket/key` contains `search` (any case; "" for all), `limit` after `offset`. */
  objects: (archive: string, search: string, offset: number, limit: number) => Promise<Call<ObjectsPage>>;
  /** Save dialog, then the CSV written; null when cancelled. */
  exportCsv: (archive: string, schema: string, table: string) => Promise<Call<string | null>>;
  preview: (archive: string, bucket: string, key: string) => Promise<Call<Preview>>;
  /** Save dialog, then the object written; null when cancelled. */
  saveObject: (archive: string, bucket: string, key: string) => Promise<Call<string | null>>;
};

type Props = {
  archive: string;
  label: string;
  api: BrowseApi;
  onBack: () => void;
  /** "Recover these rows…": its commands and the saved projects it can recover into. */
  recover?: { api: RecoverApi; projects: string[] };
};

type Load<T> = { status: "loading" } | { status: "ready"; data: T } | { status: "error"; error: ErrorPayload };

type Saved = { status: "idle" } | { status: "busy" } | { status: "saved"; path: string } | { status: "error"; error: ErrorPayload };

export function BrowseScreen({ archive, label, api, onBack, recover }: Props) {
  const [contents, setContents] = useState<Load<BrowseContents>>({ status: "loading" });
  const [table, setTable] = useState<{ schema: string; name: string } | null>(null);
  const [filter, setFilter] = useState("");
  const [column, setColumn] = useState<string | null>(null);
  // "Recover these rows…": of the filter (`column = value`) or of the ticked rows.
  const [recovering, setRecovering] = useState<"filter" | "ticked" | null>(null);
  const [chosen, setChosen] = useState<Chosen>(noneChosen);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<PageState>({ status: "loading" });
  // What the page shown was read for: a page read for another table, filter or offset is not
  // shown under the new one's words (for one render it said "Rows 1–30 matching “globex”" over
  // the unfiltered rows).
  const asking = JSON.stringify([archive, table, offset, filter, column]);
  const [pageFor, setPageFor] = useState("");
  const [object, setObject] = useState<string | null>(null);
  const [preview, setPreview] = useState<PreviewState>({ status: "idle" });
  const [saved, setSaved] = useState<Saved>({ status: "idle" });
  const ready = contents.status === "ready" ? contents.data : null;
  const first = useMemo<ObjectsPage | null>(
    () => (ready ? { objects: ready.objects, total: ready.objects.length + ready.moreObjects, more: ready.moreObjects > 0 } : null),
    [ready],
  );
  const objects = useObjects(archive, first, api.objects, OBJECT_PAGE_SIZE);

  useEffect(() => {
    let stale = false;
    void api.contents(archive).then((r) => {
      if (!stale) setContents(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error });
    });
    return () => {
      stale = true;
    };
  }, [api, archive]);

  useEffect(() => {
    if (!table) return;
    let stale = false;
    setPage({ status: "loading" });
    const asked = column
      ? api.rows(archive, table.schema, table.name, offset, PAGE_SIZE, "", { column, value: filter })
      : api.rows(archive, table.schema, table.name, offset, PAGE_SIZE, filter);
    const key = JSON.stringify([archive, table, offset, filter, column]);
    void asked.then((r) => {
      if (stale) return;
      setPage(r.ok ? { status: "ready", page: r.data } : { status: "error", error: r.error });
      setPageFor(key);
    });
    return () => {
      stale = true;
    };
  }, [api, archive, table, offset, filter, column]);

  const openTable = (schema: string, name: string) => {
    setTable({ schema, name });
    setFilter("");
    setColumn(null);
    setRecovering(null);
    setChosen(noneChosen());
    setOffset(0);
    setSaved({ status: "idle" });
  };

  const openObject = useCallback(
    async (o: ObjectEntry) => {
      const k = objectKey(o);
      setObject(k);
      setSaved({ status: "idle" });
      setPreview({ status: "loading" });
      const r = await api.preview(archive, o.bucket, o.key);
      setPreview(r.ok ? { status: "ready", preview: r.data } : { status: "error", error: r.error });
    },
    [api, archive],
  );

  const saveWith = async (run: () => Promise<Call<string | null>>) => {
    setSaved({ status: "busy" });
    const r = await run();
    if (!r.ok) setSaved({ status: "error", error: r.error });
    else setSaved(r.data === null ? { status: "idle" } : { status: "saved", path: r.data });
  };

  return (
    <section aria-labelledby="browse-title" data-testid="browse-screen">
      <div className="toolbar">
        <button type="button" className="btn btn-quiet" onClick={onBack} data-testid="browse-back">
          ← Backups
        </button>
        <h2 id="browse-title" className="screen-title">
          Inside {label}
        </h2>
      </div>
      <Copyable value={archive} kind="path" testId="browse-archive" />
      {saved.status === "saved" && (
        <p className="notice notice-ok small" role="status" data-testid="browse-saved">
          Saved to <span className="mono">{saved.path}</span>
        </p>
      )}
      {saved.status === "error" && <ErrorNotice error={saved.error} testId="browse-save-error" />}
      {contents.status === "loading" && (
        <p className="muted" data-testid="browse-loading">
          Reading the backup’s table of contents…
        </p>
      )}
      {contents.status === "error" && <ErrorNotice error={contents.error} testId="browse-error" />}
      {contents.status === "ready" && (
        <>
          <div className="browse-layout">
            <section className="panel" aria-label="Tables">
              <h3 className="panel-title">Tables</h3>
              {contents.data.note && (
                <p className="notice notice-neutral small" data-testid="browse-note">
                  {contents.data.note}
                </p>
              )}
              {(contents.data.leftOut ?? []).length > 0 && (
                <p className="notice notice-neutral small" data-testid="browse-left-out">
                  Left out of this backup: {(contents.data.leftOut ?? []).join("; ")}. It was a selective backup: what is left out
                  was never in it, so it is not missing.
                </p>
              )}
              <TableList
                tables={contents.data.tables}
                selected={table ? tableKey(table.schema, table.name) : null}
                onOpen={openTable}
              />
            </section>
            {table && recovering === "ticked" && recover && rowKeys(chosen) ? (
              <RecoverWizard
                archive={archive}
                schema={table.schema}
                name={table.name}
                filters={[]}
                keys={rowKeys(chosen)}
                projects={recover.projects}
                api={recover.api}
                onClose={() => setRecovering(null)}
              />
            ) : table && recovering === "filter" && recover && column ? (
              <RecoverWizard
                archive={archive}
                schema={table.schema}
                name={table.name}
                filters={[{ column, value: filter }]}
                projects={recover.projects}
                api={recover.api}
                onClose={() => setRecovering(null)}
              />
            ) : table ? (
              <TablePager
                table={tableKey(table.schema, table.name)}
                state={pageFor === asking ? page : { status: "loading" }}
                pageSize={PAGE_SIZE}
                filter={filter}
                column={column}
                onFilter={(f, c) => {
                  setFilter(f);
                  setColumn(c ?? null);
                  setOffset(0);
                }}
                {...(recover
                  ? {
                      onRecover: () => setRecovering("filter"),
                      ticks: {
                        count: chosen.rows.size,
                        isChosen: (k: string[] | null) => isChosen(chosen, k),
                        onTick: (columns: string[], rows: string[][], on: boolean) => setChosen((c) => tick(c, columns, rows, on)),
                        onClear: () => setChosen(noneChosen()),
                        onRecover: () => setRecovering("ticked"),
                      },
                    }
                  : {})}
                onPage={setOffset}
                exporting={saved.status === "busy"}
                onExport={() => void saveWith(() => api.exportCsv(archive, table.schema, table.name))}
              />
            ) : (
              <p className="muted small">Choose a table to see its rows.</p>
            )}
          </div>
          <section className="panel" aria-label="Storage objects">
            <h3 className="panel-title">Storage objects</h3>
            <ObjectList
              objects={objects.state.list}
              selected={object}
              onSelect={(o) => void openObject(o)}
              preview={preview}
              onSave={(o) => void saveWith(() => api.saveObject(archive, o.bucket, o.key))}
              paging={{
                search: objects.state.search,
                onSearch: objects.searchFor,
                total: objects.state.total,
                more: objects.state.more,
                onMore: objects.showMore,
                busy: objects.state.busy,
              }}
            />
            {objects.state.error && <ErrorNotice error={objects.state.error} testId="browse-objects-error" />}
          </section>
        </>
      )}
    </section>
  );
}
