// Tenants on the project page (issue 45): each tenant root the project names (`offsite tenant
// add`), and on demand the tables reached from it through foreign keys (with the path), the tables
// they reference and the tables not reached — walked by the engine in the project's database now.
import { useEffect, useState } from "react";
import type { ErrorPayload, TenantDetail, TenantRecord } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import type { Call } from "../ipc/call";

export type TenantsApi = {
  list: (project: string) => Promise<Call<TenantRecord[]>>;
  show: (project: string, name: string) => Promise<Call<TenantDetail>>;
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

export function TenantsSection({ project, api }: { project: string; api: TenantsApi }) {
  const [list, setList] = useState<Load<TenantRecord[]>>({ status: "loading" });
  const [open, setOpen] = useState<string | null>(null);
  const [detail, setDetail] = useState<Load<TenantDetail> | null>(null);

  useEffect(() => {
    let stale = false;
    void api.list(project).then((r) => {
      if (!stale) setList(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error });
    });
    return () => {
      stale = true;
    };
  }, [api, project]);

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

  if (list.status === "loading") return <p className="small muted">Reading the tenants…</p>;
  if (list.status === "error") return <ErrorNotice error={list.error} testId="tenants-error" />;
  if (list.data.length === 0)
    return (
      <p className="small muted" data-testid="tenants-none">
        No tenants. Name one on the command line: <span className="mono">offsite tenant add {project} NAME --table SCHEMA.TABLE --key COLUMN</span>
      </p>
    );
  return (
    <ul className="tenant-list" data-testid="tenants">
      {list.data.map((t) => (
        <li key={t.name} data-testid="tenant" data-name={t.name}>
          <div className="toolbar">
            <strong>{t.name}</strong>
            <span className="small muted mono">
              {label(t.schema, t.table)}.{t.key}
            </span>
            <span className="spacer" />
            <button type="button" className="btn btn-small" onClick={() => void show(t.name)} data-testid="tenant-show" aria-expanded={open === t.name}>
              {open === t.name ? "Hide tables" : "Tables…"}
            </button>
          </div>
          {open === t.name && detail?.status === "loading" && <p className="small muted">Walking the foreign keys from {t.table}…</p>}
          {open === t.name && detail?.status === "error" && <ErrorNotice error={detail.error} testId="tenant-error" />}
          {open === t.name && detail?.status === "ready" && <Shape detail={detail.data} />}
        </li>
      ))}
    </ul>
  );
}
