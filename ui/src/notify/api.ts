// The Notifications screen's calls, through the generated commands (one engine call each).
import {
  type ChannelView,
  commands,
  events,
  type DeliveryView,
  type NewChannel,
  type NotifyOverview,
  type RouteView,
} from "../bindings";
import { call, type Call } from "../ipc/call";

export type NotifyApi = {
  list: () => Promise<Call<NotifyOverview>>;
  /** `rate`: messages a minute at most (null: the kind's default). */
  add: (name: string, channel: NewChannel, rate: number | null) => Promise<Call<ChannelView>>;
  /** A Telegram Bot API server checked by the engine's rule (the stored form, or why not). */
  checkTelegramApi: (url: string) => Promise<Call<string>>;
  remove: (name: string) => Promise<Call<null>>;
  /** The test event's id, or why it was not delivered. */
  test: (name: string) => Promise<Call<string>>;
  route: (project: string, channel: string, events: string[]) => Promise<Call<RouteView[]>>;
  log: (project: string | null) => Promise<Call<DeliveryView[]>>;
  projects: () => Promise<Call<string[]>>;
  /**
   * Calls `onChange` whenever the catalog's change feed names a channel, a route or a delivery
   * (whoever made it: the CLI in another process, a scheduled run, this window), or says changes
   * were missed. Resolves to the function that stops listening.
   */
  changes: (onChange: () => void) => Promise<() => void>;
};

export const notifyApi: NotifyApi = {
  list: () => call(commands.listChannels()),
  add: (name, channel, rate) => call(commands.addChannel(name, channel, rate)),
  checkTelegramApi: (url) => call(commands.checkTelegramApi(url)),
  remove: (name) => call(commands.removeChannel(name)),
  test: (name) => call(commands.testChannel(name)),
  route: (project, channel, events) => call(commands.setNotifyRoute(project, channel, events)),
  log: (project) => call(commands.notifyLog(project)),
  projects: async () => {
    const r = await call(commands.listProjects());
    return r.ok ? { ok: true, data: r.data.map((s) => s.project.name) } : r;
  },
  changes: async (onChange) => {
    try {
      return await events.catalogChanged.listen((e) => {
        if (e.payload.reload_all || e.payload.changes.some((c) => c.entity === "notify")) onChange();
      });
    } catch {
      return () => {}; // no event system (outside Tauri)
    }
  },
};
