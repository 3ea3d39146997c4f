// Tenants on the project page (issue 45): each tenant root the project names (as `offsite tenant
// add` does: named here too, checked by the engine in the project's database), on demand the
// tables reached from it through foreign keys (with the path), the tables they reference and the
// tables not reached; "Back up" writes one archive per tenant (a job, shown like a backup), and
// "Remove" forgets the root (its archives stay).
import { type FormEvent, useCallback, useEffect, useId, useState } from "react";
import type { ErrorPayload, TenantDetail, TenantRecord } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import type { Call } from "../ipc/call";

export type TenantsApi = {
  list: (project: string) => Promise<Call<TenantRecord[]>>;
  show: (project: string, name: string) => Promise<Call<TenantDetail>>;
  add: (project: string, name: string, table: string, key: string) => Promise<Call<TenantDetail>>;
  remove: (project: string, name: string) => Promise<Call<null>>;
  /** Starts the per-tenant backups (a job); resolves once it started. */
  backUp: (project: string, name: string) => Promise<{ ok: true } | { ok: false; error: ErrorPayload }>;
};

type Load<T> = { status: "loading" } | { status: "ready"; data: T } | { status: "error"; error: ErrorPayload };

const label = (schema: string, table: string) => `${schema}.${table}`;

function Shape({ detail }: { detail: TenantDetail }) {
  const s = detail.shape;
  return (
    <div className="tenant-shape" data-testid="tenant-shape">
      <h4 className="small">Tables reached ({s.reached.length})</h4>
      <ul className="small" data-testid="tenant-reached">
        {s.reached.map((t) => (
          <li key={label(t.schema, t.table)} data-testid="tenant-reached-table" data-table={label(t.schema, t.table)}>
            <span className="mono">{label(t.schema, t.table)}</span>
            {t.path.length === 0 ? <span className="muted"> (the root)</span> : <span className="muted"> via {t.path.join(" → ")}</span>}
          </li>
        ))}
      </ul>
      {s.referenced.length > 0 && (
        <>
          <h4 className="small">Referenced (only the rows the tenant’s rows point at)</h4>
          <ul className="small" data-testid="tenant-referenced">
            {s.referenced.map((t) => (
              <li key={label(t.schema, t.table)}>
                <span className="mono">{label(t.schema, t.table)}</span>
                {t.path.length > 0 && <span className="muted"> via {t.path.join(" → ")}</span>}
              </li>
            ))}
          </ul>
        </>
      )}
      <h4 className="small">Not reached ({s.not_reached.length})</h4>
      {s.not_reached.length === 0 ? (
        <p className="small muted">Every table belongs to the tenant or is referenced by it.</p>
      ) : (
        <ul className="small" data-testid="tenant-not-reached">
          {s.not_reached.map((t) => (
            <li key={t} className="mono">
              {t}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function AddTenant({ project, api, onAdded }: { project: string; api: TenantsApi; onAdded: (d: TenantDetail) => void }) {
  const id = useId();
  const [f, setF] = useState({ name: "", table: "", key: "id" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const complete = f.name.trim() !== "" && f.table.trim() !== "" && f.key.trim() !== "";
  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!complete || busy) return;
    setBusy(true);
    setError(null);
    const r = await api.add(project, f.name.trim(), f.table.trim(), f.key.trim());
    setBusy(false);
    if (!r.ok) return setError(r.error);
    setF({ name: "", table: "", key: "id" });
    onAdded(r.data);
  };
  const field = (k: keyof typeof f, label: string, placeholder: string) => (
    <div className="field">
      <label htmlFor={`${id}-${k}`}>{label}</label>
      <input
        id={`${id}-${k}`}
        value={f[k]}
        onChange={(e) => setF((o) => ({ ...o, [k]: e.target.value }))}
        placeholder={placeholder}
        autoComplete="off"
        spellCheck={false}
        data-testid={`tenant-field-${k}`}
      />
    </div>
  );
  return (
    <form className="form tenant-add" onSubmit={save} noValidate data-testid="tenant-add">
      <div className="field-grid">
        {field("name", "Name", "e.g. org")}
        {field("table", "Root table", "e.g. public.organizations")}
        {field("key", "Key column", "e.g. id")}
      </div>
      <p className="field-help">
        The root table holds one row per customer; every table that points at it through foreign keys follows. Offsite checks the table and its key
        in the project’s database before it keeps the tenant.
      </p>
      {error && <ErrorNotice error={error} testId="tenant-add-error" />}
      <div className="form-actions">
        <span className="spacer" />
        <button type="submit" className="btn" disabled={busy || !complete} data-testid="tenant-add-save">
          {busy ? "Checking the table…" : "Add tenant"}
        </button>
      </div>
    </form>
  );
}

export function TenantsSection({ project, api }: { project: string; api: TenantsApi }) {
  const [list, setList] = useState<Load<TenantRecord[]>>({ status: "loading" });
  const [open, setOpen] = useState<string | null>(null);
  const [detail, setDetail] = useState<Load<TenantDetail> | null>(null);
  const [action, setAction] = useState<{ name: string; error?: ErrorPayload; started?: boolean } | null>(null);

  const read = useCallback(
    (isStale: () => boolean = () => false) =>
      void api.list(project).then((r) => {
        if (!isStale()) setList(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error });
      }),
    [api, project],
  );
  useEffect(() => {
    let stale = false;
    read(() => stale);
    return () => {
      stale = true;
    };
  }, [read]);

  const show = async (name: string) => {
    if (open === name) {
      setOpen(null);
      return;
    }
    setOpen(name);
    setDetail({ status: "loading" });
    const r = await api.show(project, name);
    setDetail(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error });
  };
  const added = (d: TenantDetail) => {
    read();
    setOpen(d.tenant.name);
    setDetail({ status: "ready", data: d });
  };
  const remove = async (name: string) => {
    const r = await api.remove(project, name);
    setAction(r.ok ? null : { name, error: r.error });
    if (open === name) setOpen(null);
    read();
  };
  const backUp = async (name: string) => {
    const r = await api.backUp(project, name);
    setAction(r.ok ? { name, started: true } : { name, error: r.error });
  };

  const add = <AddTenant project={project} api={api} onAdded={added} />;
  if (list.status === "loading") return <p className="small muted">Reading the tenants…</p>;
  if (list.status === "error") return <ErrorNotice error={list.error} testId="tenants-error" />;
  if (list.data.length === 0)
    return (
      <>
        <p className="small muted" data-testid="tenants-none">
          No tenants yet. Name the table whose rows are your customers (also on the command line:{" "}
          <span className="mono">offsite tenant add {project} NAME --table SCHEMA.TABLE --key COLUMN</span>).
        </p>
        {add}
      </>
    );
  return (
    <>
      <ul className="tenant-list" data-testid="tenants">
        {list.data.map((t) => (
          <li key={t.name} data-testid="tenant" data-name={t.name}>
            <div className="toolbar tenant-row">
              <strong>{t.name}</strong>
              <span className="small muted mono">
                {label(t.schema, t.table)}.{t.key}
              </span>
              <span className="spacer" />
              {/* The row's buttons stay together: on a narrow card they move below as one line. */}
              <span className="tenant-actions" data-testid="tenant-actions">
                <button type="button" className="btn btn-small" onClick={() => void show(t.name)} data-testid="tenant-show" aria-expanded={open === t.name}>
                  {open === t.name ? "Hide tables" : "Tables…"}
                </button>
                <button
                  type="button"
                  className="btn btn-small"
                  onClick={() => void backUp(t.name)}
                  title="One archive per customer, split from the newest good backup"
                  data-testid="tenant-backup"
                >
                  Back up each tenant
                </button>
                <button type="button" className="btn btn-small btn-quiet" onClick={() => void remove(t.name)} title="Forget this root; its archives stay" data-testid="tenant-remove">
                  Remove
                </button>
              </span>
            </div>
            {action?.name === t.name && action.error && <ErrorNotice error={action.error} testId="tenant-action-error" />}
            {action?.name === t.name && action.started && (
              <p className="small muted" data-testid="tenant-backup-started">
                Writing one archive per {t.name}; the job shows its progress, and the archives appear on the timeline.
              </p>
            )}
            {open === t.name && detail?.status === "loading" && <p className="small muted">Walking the foreign keys from {t.table}…</p>}
            {open === t.name && detail?.status === "error" && <ErrorNotice error={detail.error} testId="tenant-error" />}
            {open === t.name && detail?.status === "ready" && <Shape detail={detail.data} />}
          </li>
        ))}
      </ul>
      <details className="tenant-add-more">
        <summary className="small">Add another tenant root</summary>
        {add}
      </details>
    </>
  );
}
