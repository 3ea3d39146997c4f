// The project page's Sources tab: what Offsite backs up and where else backups come from, as
// equal cards (database; storage and Supabase; backup server; artifact bucket; encryption and
// destinations are on the Protection tab), each with a status light and, for a connection, when it was last tested and how
// it went (recorded by the engine: a Test button, or a backup or pull that connected; "never
// tested" else). The cards wrap the existing sections unchanged.
import { Children, type ReactElement, type ReactNode, type RefObject, cloneElement, isValidElement, useEffect, useMemo, useRef, useState } from "react";
import { type BackupRow, commands, events, type Components, type ErrorPayload, type ProjectSummary, type SourceKind, type SourceTest } from "../../bindings";
import { databaseHost, databaseName, formatTime } from "../../components/format";
import { ErrorNotice } from "../../components/ErrorNotice";
import { type Resource, useBackups, useJobActions } from "../../store";
import { ArtifactsSection } from "../ArtifactsSection";
import { BackupSelectionSection, selectionApi } from "../BackupSelectionSection";
import { ComponentsSection } from "../ComponentsSection";
import { PartsCard } from "./PartsCard";
import { ServerSection } from "../ServerSection";
import { TenantsSection } from "../TenantsSection";
import { tenantsApi } from "../tenantsApi";
import { dayAndTime } from "./time";
import "./tabs.css";
import "./timeline-origin.css";

/** The last test of each source of `project`: read when shown, and again whenever the catalog's
 * change feed names a project or a job (a Test button, a backup or a pull records a test; the
 * catalog's triggers name the project, whoever ran it). */
export function useSourceTests(project: string): Map<SourceKind, SourceTest> | null {
  const [tests, setTests] = useState<Map<SourceKind, SourceTest> | null>(null);
  useEffect(() => {
    let stale = false;
    let stop: (() => void) | null = null;
    const load = () =>
      void commands
        .listSourceTests(project)
        .then((r) => {
          if (!stale && r.status === "ok") setTests(new Map(r.data.map((t) => [t.source, t])));
        })
        .catch(() => {});
    load();
    void events.catalogChanged
      .listen((e) => {
        if (e.payload.reload_all || e.payload.changes.some((c) => c.entity === "project" || c.entity === "job")) load();
      })
      .then((unlisten) => {
        if (stale) unlisten();
        else stop = unlisten;
      })
      .catch(() => {}); // no event system (outside Tauri): what was read stays
    return () => {
      stale = true;
      stop?.();
    };
  }, [project]);
  return tests;
}

/** "Last tested Tue 25 Nov, 02:30 CET: OK" / "…: failed — password rejected" / "Never tested". */
export function lastTestWords(t: SourceTest | undefined, timeZone?: string): string {
  if (!t) return "Never tested";
  const when = `Last tested ${dayAndTime(t.tested_at, timeZone)}`;
  return t.ok ? `${when}: OK` : `${when}: failed${t.message ? ` — ${t.message}` : ""}`;
}

/** One source's last test, under its card's title. */
export function LastTest({ source, tests, label }: { source: SourceKind; tests: Map<SourceKind, SourceTest> | null; label?: string }) {
  if (tests === null) return null;
  const t = tests.get(source);
  const state = !t ? "never" : t.ok ? "ok" : "failed";
  return (
    <p
      className={`small source-test${state === "failed" ? " source-test-failed" : " muted"}`}
      data-testid={`source-${source}-last-test`}
      data-state={state}
      title={t ? formatTime(t.tested_at) : undefined}
    >
      {label ? `${label}: ` : ""}
      {lastTestWords(t)}
    </p>
  );
}

/** A source's light: green only once a test passed (the last test decides, not the setting). */
export type Light = "ok" | "untested" | "off" | "warn";

const LIGHT_WORDS: Record<Light, string> = { ok: "tested: OK", untested: "not tested yet", off: "not set up", warn: "needs attention" };

/** The light of a source that is set up (`set`), from its last test. */
export function lightOf(set: boolean, test: SourceTest | undefined, loadFailed = false): Light {
  if (loadFailed) return "warn";
  if (!set) return "off";
  if (!test) return "untested";
  return test.ok ? "ok" : "warn";
}

/** One source as a card: a status light, its name, one line, and the section that edits it. */
/** A card without a light (`light` left out) is one nothing tests, e.g. the tenants. `order`: its
 * place when the cards stand in one column (SourceColumns). */
export function SourceCard({ id, title, light, line, children, order }: { id: string; title: string; light?: Light | undefined; line: ReactNode; children?: ReactNode; order?: number }) {
  return (
    <article className="source-card" data-testid={`source-${id}`} data-light={light} style={order === undefined ? undefined : { order }}>
      <header className="source-card-head">
        {light && <span className={`light light-${light}`} role="img" aria-label={LIGHT_WORDS[light]} title={LIGHT_WORDS[light]} />}
        <h3 className="source-card-title">{title}</h3>
        <span className="muted small source-card-line">{line}</span>
      </header>
      {children}
    </article>
  );
}

type Props = {
  project: string;
  summary: Resource<ProjectSummary>;
  components: Resource<Components>;
  onEdit?: () => void;
};

/**
 * The Sources cards in two columns that do not depend on each other (issue 44: a CSS grid row is
 * as tall as its tallest card and left holes beside a tall card; measuring heights to place cards
 * put them in an implicit third column). The cards are dealt in order, left, right, left…, each
 * column a plain stack, so no card ever waits below a taller neighbour. In a narrow window, or
 * while a card has an edit form open, the columns dissolve (`display: contents`, tabs.css) and the
 * cards stand in one column in their own order, the open one first at the full width.
 */
export function SourceColumns({ children, gridRef }: { children: ReactNode; gridRef?: RefObject<HTMLDivElement | null> }) {
  const cards = Children.toArray(children).filter(isValidElement) as ReactElement<{ order?: number }>[];
  const placed = cards.map((c, i) => cloneElement(c, { order: i }));
  const column = (side: 0 | 1) => placed.filter((_, i) => i % 2 === side);
  return (
    <div className="source-cols" ref={gridRef} data-testid="source-grid">
      <div className="source-col" data-testid="source-col">
        {column(0)}
      </div>
      <div className="source-col" data-testid="source-col">
        {column(1)}
      </div>
    </div>
  );
}

/** A card with an edit form open: it takes the whole width and comes first (tabs.css). */
export const OPEN_FORM_CARD = ".source-card:has(form:not(.tenant-add))";

/**
 * A card whose form just opened moves to the top of the grid (tabs.css): bring it into view, as
 * the button that opened it may have been far below.
 */
export function useOpenFormInView(grid: RefObject<HTMLElement | null>): void {
  useEffect(() => {
    const el = grid.current;
    if (!el || typeof MutationObserver === "undefined") return;
    let open = new Set(Array.from(el.querySelectorAll(OPEN_FORM_CARD)));
    const seen = new MutationObserver(() => {
      const now = new Set(Array.from(el.querySelectorAll(OPEN_FORM_CARD)));
      const opened = Array.from(now).find((c) => !open.has(c));
      open = now;
      opened?.scrollIntoView?.({ block: "start" });
    });
    seen.observe(el, { childList: true, subtree: true });
    return () => seen.disconnect();
  }, [grid]);
}

export function SourcesTab({ project, summary, components, onEdit }: Props) {
  const c = components.status === "ready" ? components.data : null;
  const tests = useSourceTests(project);
  const backupList = useBackups(project);
  const backups = backupList.status === "ready" ? backupList.data : null;
  const { startTenantBackup } = useJobActions();
  const tenants = useMemo(() => tenantsApi(startTenantBackup), [startTenantBackup]);
  const selection = useMemo(() => selectionApi(project), [project]);
  // Each light follows its source's last test: green once one passed, amber when it failed.
  const t = (s: SourceKind) => tests?.get(s);
  const set = (v: unknown, s: SourceKind): Light => lightOf(Boolean(v), t(s), components.status === "error");
  // Storage & Supabase: both tests count; the worse one shows.
  const both = (): Light => {
    const lights = [c?.storage ? set(true, "storage") : null, c?.supabase ? set(true, "supabase") : null].filter((l): l is Light => l !== null);
    if (components.status === "error") return "warn";
    if (lights.length === 0) return "off";
    for (const l of ["warn", "untested"] as const) if (lights.includes(l)) return l;
    return "ok";
  };
  const grid = useRef<HTMLDivElement>(null);
  useOpenFormInView(grid);
  return (
    <div className="tab-sources" data-testid="tab-sources">
      {components.status === "error" && <ErrorNotice error={components.error as ErrorPayload} testId="sources-error" />}
      <SourceColumns gridRef={grid}>
        <SourceCard id="database" title="Database" light={lightOf(true, t("database"), summary.status === "error")} line={<DatabaseLine summary={summary} />}>
          <LastTest source="database" tests={tests} />
          <ServerReached tests={tests} backups={backups} />
          {onEdit && (
            <button type="button" className="btn btn-small" onClick={onEdit} data-testid="source-database-edit">
              Edit…
            </button>
          )}
          {/* Read again when the store's components change (a selection set with the CLI too). */}
          <BackupSelectionSection key={JSON.stringify(c?.selection ?? null)} api={selection} />
        </SourceCard>
        <SourceCard
          id="storage"
          title="Storage & Supabase"
          light={both()}
          line={[c?.storage ? "storage set" : "no storage", c?.supabase ? "Supabase project set" : "no Supabase project"].join(" · ")}
        >
          {c?.storage && <LastTest source="storage" tests={tests} label="Storage" />}
          {c?.supabase && <LastTest source="supabase" tests={tests} label="Supabase" />}
          <ComponentsSection project={project} />
        </SourceCard>
        <SourceCard id="server" title="Backup server" light={set(c?.server, "server")} line={c?.server ? "an Offsite backup server" : "none"}>
          {c?.server && <LastTest source="server" tests={tests} />}
          <ServerSection project={project} />
        </SourceCard>
        <SourceCard id="artifacts" title="Artifact bucket" light={set(c?.artifacts, "artifacts")} line={c?.artifacts ? "backups made elsewhere, pulled from a bucket" : "none"}>
          {c?.artifacts && <LastTest source="artifacts" tests={tests} />}
          <ArtifactsSection project={project} />
        </SourceCard>
        <SourceCard id="tenants" title="Tenants" line="roots whose rows are one customer’s">
          <TenantsSection project={project} api={tenants} />
        </SourceCard>
      </SourceColumns>
      <PartsCard project={project} />
    </div>
  );
}

/**
 * Under the database's "Never tested": a backup made by the backup server proves the server
 * reached the database (issue 44, remote-04 said only "Never tested" right after one). This
 * computer's own connection stays untested, so the light does not change.
 */
export function ServerReached({ tests, backups }: { tests: Map<SourceKind, SourceTest> | null; backups: BackupRow[] | null }) {
  if (tests === null || tests.has("database") || !backups) return null;
  const newest = backups
    .filter((b) => b.origin === "server" && b.status !== "corrupt" && b.status !== "missing")
    .reduce<BackupRow | null>((n, b) => (!n || b.created_at > n.created_at ? b : n), null);
  if (!newest) return null;
  return (
    <p className="small muted" data-testid="source-database-server-reached">
      The backup server reached it: its backup of {dayAndTime(newest.created_at)} is here. Not tested from this computer.
    </p>
  );
}

function DatabaseLine({ summary }: { summary: Resource<ProjectSummary> }) {
  if (summary.status !== "ready") return <>…</>;
  const url = summary.data.project.db_url;
  const db = databaseName(url);
  return (
    <span data-testid="project-page-host">
      {db ? `${db} on ` : ""}
      {databaseHost(url)}
    </span>
  );
}
