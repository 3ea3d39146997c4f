// Which of a project's events go to which channel: a project selector, then one row per channel
// with a box per event group, and one "Save" for the whole table (issue 64 item 7: a Save in
// every row made the user save channel by channel, and a box changed in one row looked saved by
// another's button). A project without any route uses the default (said in words); once it has
// one, only what its routes name is sent.
import { useEffect, useState } from "react";
import type { ChannelView, ErrorPayload, RouteView } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import type { NotifyApi } from "./api";
import { DEFAULT_ROUTE_TEXT, EVENT_GROUPS } from "./model";

type Props = {
  api: NotifyApi;
  channels: ChannelView[];
  routes: RouteView[];
  projects: string[];
  reload: () => void;
};

/** A channel's event groups in the engine's order. */
const ordered = (events: readonly string[]) => EVENT_GROUPS.map(([g]) => g).filter((g) => events.includes(g));
const same = (a: readonly string[], b: readonly string[]) => ordered(a).join() === ordered(b).join();

/** The boxes changed here and not saved yet: project → channel → events. */
type Edits = Record<string, Record<string, string[]>>;

export function RoutesSection({ api, channels, routes, projects, reload }: Props) {
  const [project, setProject] = useState<string>(projects[0] ?? "");
  const [edits, setEdits] = useState<Edits>({});
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  useEffect(() => {
    if (!projects.includes(project)) setProject(projects[0] ?? "");
  }, [projects, project]);

  if (channels.length === 0) return null;
  const mine = routes.filter((r) => r.project === project);
  // What the catalog sends now: the channel's default while the project has no route, then only
  // what its routes name. A route saved elsewhere (the command line, while this page is open)
  // shows at once in every row not changed here.
  const savedFor = (c: ChannelView) => (mine.length === 0 ? c.default_events : (mine.find((r) => r.channel === c.name)?.events ?? []));
  const changed = edits[project] ?? {};
  const shown = (c: ChannelView) => changed[c.name] ?? savedFor(c);
  const dirty = channels.filter((c) => changed[c.name] !== undefined && !same(changed[c.name]!, savedFor(c)));

  const toggle = (c: ChannelView, g: string, on: boolean) => {
    const now = shown(c);
    const next = on ? [...now.filter((x) => x !== g), g] : now.filter((x) => x !== g);
    setSaved(null);
    setEdits((old) => {
      const mineNow = { ...(old[project] ?? {}) };
      if (same(next, savedFor(c))) delete mineNow[c.name];
      else mineNow[c.name] = next;
      return { ...old, [project]: mineNow };
    });
  };
  const discard = () => setEdits((old) => ({ ...old, [project]: {} }));
  const save = async () => {
    setBusy(true);
    setError(null);
    // The project's first route: every channel gets one, the unchanged ones with the default they
    // show (once a project has a route, a channel without one hears nothing from it) — those
    // first, so a failure part-way never leaves a channel silenced that the user did not touch.
    const writes = mine.length === 0 ? [...channels.filter((c) => !dirty.includes(c)), ...dirty] : dirty;
    for (const c of writes) {
      const r = await api.route(project, c.name, ordered(shown(c)));
      if (!r.ok) {
        setBusy(false);
        setError(r.error);
        // What was written before the failure shows as saved; the rest stays to save again.
        return reload();
      }
    }
    setBusy(false);
    setEdits((old) => ({ ...old, [project]: {} }));
    setSaved(project);
    reload();
  };

  return (
    <section className="panel" aria-label="Routes" data-testid="notify-routes">
      <div className="toolbar">
        <h3 className="panel-title">What each project sends where</h3>
        <span className="spacer" />
        {projects.length > 0 && (
          <select
            aria-label="Project"
            value={project}
            onChange={(e) => {
              setProject(e.target.value);
              setSaved(null);
              setError(null);
            }}
            data-testid="notify-route-project"
          >
            {projects.map((p) => (
              <option key={p} value={p}>
                {p}
                {Object.keys(edits[p] ?? {}).length > 0 ? " (not saved)" : ""}
              </option>
            ))}
          </select>
        )}
      </div>
      {projects.length === 0 && (
        <p className="muted small" data-testid="notify-routes-no-project">
          Add a project to choose which of its events go to which channel.
        </p>
      )}
      {project && (
        <>
          {mine.length === 0 ? (
            <p className="muted small" data-testid="notify-routes-default">
              {DEFAULT_ROUTE_TEXT}
            </p>
          ) : (
            <p className="muted small" data-testid="notify-routes-custom">
              Only what is checked is sent: a channel with nothing checked hears nothing from {project}.
            </p>
          )}
          <ul className="notify-routes">
            {channels.map((c) => (
              <li
                key={`${project}/${c.name}`}
                className="notify-route"
                data-testid="notify-route"
                data-channel={c.name}
                data-changed={changed[c.name] !== undefined}
              >
                <strong>{c.name}</strong>
                <span className="notify-route-groups">
                  {EVENT_GROUPS.map(([g, label]) => (
                    <label key={g} className="small">
                      <input
                        type="checkbox"
                        checked={shown(c).includes(g)}
                        onChange={(e) => toggle(c, g, e.target.checked)}
                        disabled={busy}
                        data-testid={`notify-route-${g}`}
                      />{" "}
                      {label}
                    </label>
                  ))}
                </span>
                {shown(c).length === 0 && changed[c.name] !== undefined && (
                  <p className="small muted" data-testid="notify-route-none">
                    Saved without an event, this channel hears nothing from {project}.
                  </p>
                )}
              </li>
            ))}
          </ul>
          <div className="form-actions notify-routes-actions">
            <button
              type="button"
              className="btn btn-primary"
              disabled={dirty.length === 0 || busy}
              onClick={() => void save()}
              data-testid="notify-route-save"
            >
              {busy ? "Saving…" : "Save routes"}
            </button>
            {dirty.length > 0 && !busy && (
              <>
                <button type="button" className="btn btn-quiet" onClick={discard} data-testid="notify-route-discard">
                  Discard changes
                </button>
                <span className="muted small" data-testid="notify-route-pending">
                  Not saved yet: {dirty.map((c) => c.name).join(", ")}
                </span>
              </>
            )}
            {dirty.length === 0 && saved === project && (
              <span className="small" role="status" data-testid="notify-route-saved">
                Saved: {project}’s events go where the boxes say.
              </span>
            )}
          </div>
          {error && <ErrorNotice error={error} testId="notify-route-error" />}
        </>
      )}
    </section>
  );
}
