// Notifications (a screen of its own, from the home screen): the channels (add, test, remove), which project events go where,
// and the delivery log. Loads its own data, and again whenever the catalog's change feed names a
// channel, a route or a delivery (the CLI adding a channel, a delivery failing or being sent);
// `api` is replaceable for tests.
import { useCallback, useEffect, useRef, useState } from "react";
import type { DeliveryView, NotifyOverview } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import type { LoadState } from "../protection/types";
import { type NotifyApi, notifyApi } from "./api";
import { ChannelsSection } from "./ChannelsSection";
import { DeliveryLog } from "./DeliveryLog";
import { RoutesSection } from "./RoutesSection";
import "./notify.css";

/** `titled`: false when the screen's toolbar names it already (the Notifications screen). */
export function NotificationsSection({ api = notifyApi, titled = true }: { api?: NotifyApi; titled?: boolean }) {
  const [overview, setOverview] = useState<LoadState<NotifyOverview>>({ status: "loading" });
  const [log, setLog] = useState<LoadState<DeliveryView[]>>({ status: "loading" });
  const [projects, setProjects] = useState<string[]>([]);
  const [logProject, setLogProject] = useState<string | null>(null);

  const loadLog = useCallback(
    async (project: string | null) => {
      const r = await api.log(project);
      setLog(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error });
    },
    [api],
  );
  const load = useCallback(async () => {
    const [o, p] = await Promise.all([api.list(), api.projects()]);
    setOverview(o.ok ? { status: "ready", data: o.data } : { status: "error", error: o.error });
    if (p.ok) setProjects(p.data);
  }, [api]);

  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    void loadLog(logProject);
  }, [loadLog, logProject]);

  const reload = () => {
    void load();
    void loadLog(logProject);
  };

  // Changes made elsewhere: everything is read again, once per burst of feed events.
  const latest = useRef({ load, loadLog, logProject });
  latest.current = { load, loadLog, logProject };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let stop: (() => void) | null = null;
    let live = true;
    void api
      .changes(() => {
        if (timer !== null) return;
        timer = setTimeout(() => {
          timer = null;
          const { load, loadLog, logProject } = latest.current;
          void load();
          void loadLog(logProject);
        }, 100);
      })
      .then((s) => (live ? (stop = s) : s()));
    return () => {
      live = false;
      if (timer !== null) clearTimeout(timer);
      stop?.();
    };
  }, [api]);

  return (
    <section className="notify" aria-labelledby="notify-title" data-testid="notifications">
      {titled && (
        <h2 id="notify-title" className="section-title">
          Notifications
        </h2>
      )}
      <p className="muted small">
        Be told about backups, drills, overdue projects and more by email, webhook, Telegram or a heartbeat ping — also
        when the window is closed: a message that cannot be delivered yet waits on this computer and is tried again.
      </p>
      {overview.status === "loading" && <p className="muted small">Loading…</p>}
      {overview.status === "error" && <ErrorNotice error={overview.error} testId="notify-load-error" onRetry={reload} />}
      {overview.status === "ready" && (
        <>
          <ChannelsSection channels={overview.data.channels} api={api} reload={reload} />
          <RoutesSection
            api={api}
            channels={overview.data.channels}
            routes={overview.data.routes}
            projects={projects}
            reload={reload}
          />
        </>
      )}
      <DeliveryLog
        log={log}
        projects={projects}
        project={logProject}
        onProject={setLogProject}
        onRefresh={() => void loadLog(logProject)}
      />
    </section>
  );
}
