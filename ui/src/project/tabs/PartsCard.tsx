// The Sources tab's "What a backup carries" (issue 66): every part of the project — from the
// engine's one table (`offsite project parts NAME`), never decided here — with whether a backup
// carries it and a restore puts it back; how each is captured, restored and checked is behind
// "How". Parts that do not apply (a plain PostgreSQL project's Supabase parts) are folded away.
import { useEffect, useState } from "react";
import { commands, events, type Coverage, type ErrorPayload, type ProjectPart, type ProjectParts } from "../../bindings";
import { ErrorNotice } from "../../components/ErrorNotice";

const COVERAGE: Record<Coverage, string> = { yes: "Yes", partly: "Partly", no: "No", not_exposed: "Not given out" };
const COVERAGE_TITLE: Record<Coverage, string> = {
  yes: "",
  partly: "Some of it: “How” says what is left",
  no: "Not yet: “How” says why",
  not_exposed: "The platform gives nobody its value",
};

/** What a part that applies but is not set up needs: the card above where it is set up. */
function setUpWhere(p: ProjectPart): string {
  return p.needs === "storage" ? "Add the project's storage in Storage & Supabase above." : "Give the Supabase project in Storage & Supabase above.";
}

/** The parts of `project`, read when shown and again when the catalog names the project. */
function useParts(project: string): { parts: ProjectParts | null; error: ErrorPayload | null } {
  const [state, setState] = useState<{ parts: ProjectParts | null; error: ErrorPayload | null }>({ parts: null, error: null });
  useEffect(() => {
    let stale = false;
    let stop: (() => void) | null = null;
    const load = () =>
      void commands
        .projectParts(project)
        .then((r) => {
          if (stale) return;
          setState(r.status === "ok" ? { parts: r.data, error: null } : { parts: null, error: r.error });
        })
        .catch(() => {});
    load();
    void events.catalogChanged
      .listen((e) => {
        if (e.payload.reload_all || e.payload.changes.some((c) => c.entity === "project")) load();
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
  return state;
}

/** "12 parts of this Supabase project: 9 carried and put back, 2 carried only, 1 not set up." */
export function partsSummary(t: ProjectParts): string {
  const mine = t.parts.filter((p) => p.applies);
  const notSetUp = mine.filter((p) => p.note !== null);
  const ready = mine.filter((p) => p.note === null);
  const both = ready.filter((p) => p.captured !== "no" && p.captured !== "not_exposed" && p.restored !== "no" && p.restored !== "not_exposed").length;
  const carriedOnly = ready.filter((p) => p.captured !== "no" && p.captured !== "not_exposed" && (p.restored === "no" || p.restored === "not_exposed")).length;
  const neither = ready.length - both - carriedOnly;
  const kind = t.kind === "supabase" ? "Supabase project" : "PostgreSQL project";
  const bits = [`${both} carried and put back by a restore`];
  if (carriedOnly > 0) bits.push(`${carriedOnly} carried, put back by hand`);
  if (neither > 0) bits.push(`${neither} not carried`);
  if (notSetUp.length > 0) bits.push(`${notSetUp.length} not set up`);
  return `${mine.length} part${mine.length === 1 ? "" : "s"} of this ${kind}: ${bits.join(", ")}.`;
}

function Cell({ c, testId }: { c: Coverage; testId: string }) {
  return (
    <td className={`parts-cov parts-cov-${c}`} title={COVERAGE_TITLE[c] || undefined} data-testid={testId}>
      {COVERAGE[c]}
    </td>
  );
}

export function PartsCard({ project }: { project: string }) {
  const { parts, error } = useParts(project);
  if (error) return <ErrorNotice error={error} testId="source-parts-error" />;
  if (!parts) return null;
  const mine = parts.parts.filter((p) => p.applies);
  const others = parts.parts.filter((p) => !p.applies);
  return (
    <section className="panel parts-card" data-testid="source-parts">
      <h3 className="parts-title">What a backup carries</h3>
      <p className="small muted" data-testid="source-parts-summary">
        {partsSummary(parts)}
      </p>
      <table className="parts-table">
        <thead>
          <tr>
            <th scope="col">Part</th>
            <th scope="col">In a backup</th>
            <th scope="col">Restored</th>
          </tr>
        </thead>
        <tbody>
          {mine.map((p) => (
            <tr key={p.id} data-testid={`source-part-${p.id}`} data-set-up={p.note === null ? "yes" : "no"}>
              <td className="parts-name">
                {p.name}
                {p.note !== null && <span className="small parts-not-set-up"> — not set up. {setUpWhere(p)}</span>}
                <details className="parts-how">
                  <summary className="small">How</summary>
                  <dl className="small">
                    <dt>From</dt>
                    <dd>{p.source}</dd>
                    <dt>In a backup</dt>
                    <dd>{p.capture}</dd>
                    <dt>Restored</dt>
                    <dd>{p.restore}</dd>
                    <dt>Checked</dt>
                    <dd>{p.check}</dd>
                  </dl>
                </details>
              </td>
              <Cell c={p.captured} testId={`source-part-${p.id}-captured`} />
              <Cell c={p.restored} testId={`source-part-${p.id}-restored`} />
            </tr>
          ))}
        </tbody>
      </table>
      {others.length > 0 && (
        <details className="parts-others" data-testid="source-parts-others">
          <summary className="small">
            Not for this project ({others.length}){others[0]?.note ? `: ${others[0].note.replace(/^does not apply: /, "")}` : ""}
          </summary>
          <p className="small muted">{others.map((p) => p.name).join(" · ")}</p>
        </details>
      )}
    </section>
  );
}
