// The tables of a backup, by schema, with the row counts and sizes the backup recorded. Tables
// whose data cannot be read straight from the archive say why.
import { formatBytes } from "../components/format";

export type TableEntry = {
  schema: string;
  name: string;
  rows: number | null;
  bytes: number | null;
  /** Why the table's rows cannot be paged from the archive (null: they can). */
  unreadable: string | null;
};

type Props = {
  tables: readonly TableEntry[];
  selected: string | null;
  onOpen: (schema: string, name: string) => void;
};

export const tableKey = (schema: string, name: string) => `${schema}.${name}`;

/** The tables grouped by schema, schemas and tables in name order. */
export function bySchema(tables: readonly TableEntry[]): [string, TableEntry[]][] {
  const m = new Map<string, TableEntry[]>();
  for (const t of tables) m.set(t.schema, [...(m.get(t.schema) ?? []), t]);
  return [...m.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, ts]) => [s, ts.slice().sort((a, b) => a.name.localeCompare(b.name))]);
}

export function TableList({ tables, selected, onOpen }: Props) {
  if (tables.length === 0) {
    return (
      <p className="muted" data-testid="browse-no-tables">
        This backup holds no tables.
      </p>
    );
  }
  return (
    <div className="browse-tables" data-testid="browse-tables">
      {bySchema(tables).map(([schema, ts]) => (
        <section key={schema} data-testid="browse-schema" data-schema={schema}>
          <h4 className="small">
            {schema} <span className="muted">({ts.length})</span>
          </h4>
          <ul className="browse-table-list">
            {ts.map((t) => {
              const key = tableKey(t.schema, t.name);
              return (
                <li key={key} className={key === selected ? "selected" : undefined}>
                  <button
                    type="button"
                    className="link"
                    onClick={() => onOpen(t.schema, t.name)}
                    data-testid="browse-table"
                    data-table={key}
                    title={t.unreadable ?? undefined}
                  >
                    {t.name}
                  </button>{" "}
                  <span className="small muted" data-testid="browse-table-facts">
                    {t.rows === null ? "? rows" : `${t.rows.toLocaleString("en-US")} rows`} · {formatBytes(t.bytes)}
                    {t.unreadable ? " · not readable here" : ""}
                  </span>
                </li>
              );
            })}
          </ul>
        </section>
      ))}
    </div>
  );
}
