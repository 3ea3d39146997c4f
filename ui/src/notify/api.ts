// The Notifications screen's calls, through the generated commands (one engine call each).
import {
  type ChannelView,
  commands,
  type DeliveryView,
  type NewChannel,
  type NotifyOverview,
  type RouteView,
} from "../bindings";
import { call, type Call } from "../ipc/call";

export type NotifyApi = {
  list: () => Promise<Call<NotifyOverview>>;
  add: (name: string, channel: NewChannel) => Promise<Call<ChannelView>>;
  remove: (name: string) => Promise<Call<null>>;
  /** The test event's id, or why it was not delivered. */
  test: (name: string) => Promise<Call<string>>;
  route: (project: string, channel: string, events: string[]) => Promise<Call<RouteView[]>>;
  log: (project: string | null) => Promise<Call<DeliveryView[]>>;
  projects: () => Promise<Call<string[]>>;
};

export const notifyApi: NotifyApi = {
  list: () => call(commands.listChannels()),
  add: (name, channel) => call(commands.addChannel(name, channel)),
  remove: (name) => call(commands.removeChannel(name)),
  test: (name) => call(commands.testChannel(name)),
  route: (project, channel, events) => call(commands.setNotifyRoute(project, channel, events)),
  log: (project) => call(commands.notifyLog(project)),
  projects: async () => {
    const r = await call(commands.listProjects());
    return r.ok ? { ok: true, data: r.data.map((s) => s.project.name) } : r;
  },
};
