// Which of a project's events go to which channel: a project selector, then one row per channel
// with a box per event group and "Save". A project without any route uses the default (said in
// words); once it has one, only what its routes name is sent.
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

export function RoutesSection({ api, channels, routes, projects, reload }: Props) {
  const [project, setProject] = useState<string>(projects[0] ?? "");
  useEffect(() => {
    if (!projects.includes(project)) setProject(projects[0] ?? "");
  }, [projects, project]);

  if (channels.length === 0) return null;
  const mine = routes.filter((r) => r.project === project);
  return (
    <section className="panel" aria-label="Routes" data-testid="notify-routes">
      <div className="toolbar">
        <h3 className="panel-title">What each project sends where</h3>
        <span className="spacer" />
        {projects.length > 0 && (
          <select aria-label="Project" value={project} onChange={(e) => setProject(e.target.value)} data-testid="notify-route-project">
            {projects.map((p) => (
              <option key={p} value={p}>
                {p}
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
              {DEFAULT_ROUTE_TEXT} Saving one channel's boxes keeps what the others show.
            </p>
          ) : (
            <p className="muted small" data-testid="notify-routes-custom">
              Only what is checked is sent: a channel with nothing checked hears nothing from {project}.
            </p>
          )}
          <ul className="notify-routes">
            {channels.map((c) => (
              <RouteRow
                key={`${project}/${c.name}`}
                api={api}
                project={project}
                channel={c.name}
                saved={mine.length === 0 ? c.default_events : (mine.find((r) => r.channel === c.name)?.events ?? [])}
                // The project's first route: the other channels keep the default they show (once
                // a project has a route, a channel without one hears nothing from it).
                others={mine.length === 0 ? channels.filter((o) => o.name !== c.name).map((o) => [o.name, o.default_events] as const) : []}
                onSaved={reload}
              />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function RouteRow({
  api,
  project,
  channel,
  saved,
  others,
  onSaved,
}: {
  api: NotifyApi;
  project: string;
  channel: string;
  saved: string[];
  /** Routes to save with this one (each channel's default, when the project had none). */
  others: (readonly [string, string[]])[];
  onSaved: () => void;
}) {
  const [events, setEvents] = useState<string[]>(saved);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);
  const savedKey = saved.slice().sort().join();
  // The route saved elsewhere (the command line, while this page is open): the boxes follow it,
  // unless the user has changed them here.
  const [base, setBase] = useState(savedKey);
  if (base !== savedKey) {
    setBase(savedKey);
    if (events.slice().sort().join() === base) setEvents(saved);
  }
  const dirty = events.slice().sort().join() !== savedKey;
  const toggle = (g: string, on: boolean) => {
    setEvents((old) => (on ? [...old.filter((x) => x !== g), g] : old.filter((x) => x !== g)));
  };
  const save = async () => {
    setBusy(true);
    setError(null);
    const ordered = EVENT_GROUPS.map(([g]) => g).filter((g) => events.includes(g));
    for (const [other, events] of others) {
      const kept = await api.route(project, other, events);
      if (!kept.ok) {
        setBusy(false);
        return setError(kept.error);
      }
    }
    const r = await api.route(project, channel, ordered);
    setBusy(false);
    if (!r.ok) return setError(r.error);
    onSaved();
  };
  return (
    <li className="notify-route" data-testid="notify-route" data-channel={channel}>
      <strong>{channel}</strong>
      <span className="notify-route-groups">
        {EVENT_GROUPS.map(([g, label]) => (
          <label key={g} className="small">
            <input
              type="checkbox"
              checked={events.includes(g)}
              onChange={(e) => toggle(g, e.target.checked)}
              data-testid={`notify-route-${g}`}
            />{" "}
            {label}
          </label>
        ))}
      </span>
      <button type="button" className="btn btn-small" disabled={!dirty || busy} onClick={() => void save()} data-testid="notify-route-save">
        {busy ? "Saving…" : "Save"}
      </button>
      {events.length === 0 && dirty && (
        <p className="small muted" data-testid="notify-route-none">
          Saved without an event, this channel hears nothing from {project}.
        </p>
      )}
      {error && <ErrorNotice error={error} testId="notify-route-error" />}
    </li>
  );
}
