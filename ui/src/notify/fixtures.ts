// A fake NotifyApi for the screen's tests: records what it was asked and answers as the engine
// would (in memory).
import type { ChannelView, DeliveryView, ErrorPayload, NewChannel, RouteView } from "../bindings";
import type { Call } from "../ipc/call";
import type { NotifyApi } from "./api";

export const hook: ChannelView = {
  name: "hook",
  kind: "webhook",
  target: "https://example.com/offsite",
  detail: "json",
  created_at: "2026-11-24T09:00:00Z",
  rate_per_minute: 1200,
  rate_is_default: true,
  default_events: ["failed", "overdue", "drill", "space", "copies", "agent", "platform"],
};

export const sentTest: DeliveryView = {
  id: 2,
  event_id: "0b7e1c9a-1111-4222-8333-944455556666",
  channel: "hook",
  project: "shop",
  kind: "backup_failed",
  severity: "failure",
  summary: "Backup of shop failed: connection refused",
  state: "failed",
  attempts: 3,
  next_attempt_at: "2026-11-24T09:10:00Z",
  last_error: "HTTP 401 from the receiver: bad signature",
  created_at: "2026-11-24T09:00:00Z",
  sent_at: null,
};

export type Recorded = {
  /** `rate` only when the form gave one. */
  added: { name: string; channel: NewChannel; rate?: number }[];
  /** Bot API servers the form asked the engine to check. */
  checked: string[];
  removed: string[];
  routed: { project: string; channel: string; events: string[] }[];
};

const ok = <T,>(data: T): Call<T> => ({ ok: true, data });

export function fakeApi(
  channels: ChannelView[] = [],
  over: Partial<NotifyApi> = {},
  log: DeliveryView[] = [],
  routes: RouteView[] = [],
): { api: NotifyApi; rec: Recorded } {
  const rec: Recorded = { added: [], checked: [], removed: [], routed: [] };
  let list = [...channels];
  const api: NotifyApi = {
    list: async () => ok({ channels: list, routes }),
    add: async (name, channel, rate) => {
      rec.added.push(rate === null ? { name, channel } : { name, channel, rate });
      const target = channel.kind === "webhook" ? channel.url : channel.kind === "ping" ? channel.url : name;
      const view: ChannelView = {
        name,
        kind: channel.kind,
        target,
        detail: null,
        created_at: "2026-11-24T10:00:00Z",
        rate_per_minute: rate ?? 30,
        rate_is_default: rate === null,
        default_events: channel.kind === "ping" ? ["failed", "succeeded"] : ["failed", "overdue", "drill", "space", "copies", "agent", "platform"],
      };
      list = [...list, view];
      return ok(view);
    },
    remove: async (name) => {
      rec.removed.push(name);
      list = list.filter((c) => c.name !== name);
      return ok(null);
    },
    checkTelegramApi: async (url) => {
      rec.checked.push(url);
      return ok(url.replace(/\/+$/, ""));
    },
    test: async () => ok("5f2b3c4d-aaaa-4bbb-8ccc-dddddddddddd"),
    route: async (project, channel, events) => {
      rec.routed.push({ project, channel, events });
      return ok([{ project, channel, events }]);
    },
    log: async () => ok(log),
    projects: async () => ok(["shop", "blog"]),
    changes: async () => () => {},
    ...over,
  };
  return { api, rec };
}

export function failure(code: ErrorPayload["code"], message: string, hint: string | null = null): Call<never> {
  return { ok: false, error: { code, message, hint, retryable: false } };
}
