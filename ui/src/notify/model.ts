// What the Notifications screen shows and takes: the add-channel form and its checks, the event
// groups a route names, and how a delivery's state reads. The engine checks every field again
// when the channel is added (its message and hint are shown then); these checks only say early
// what is plainly missing, so the user is not sent to the engine for an empty field.
import type { ChannelKind, ErrorPayload, NewChannel, WebhookPreset } from "../bindings";

export const KINDS: ChannelKind[] = ["email", "webhook", "telegram", "ping"];

export const KIND_LABEL: Record<ChannelKind, string> = {
  email: "Email",
  webhook: "Webhook",
  telegram: "Telegram",
  ping: "Heartbeat ping",
};

export const PRESETS: [WebhookPreset, string][] = [
  ["json", "Offsite JSON (signed)"],
  ["slack", "Slack"],
  ["discord", "Discord"],
  ["teams", "Microsoft Teams"],
  ["mattermost", "Mattermost"],
  ["ntfy", "ntfy"],
  ["pagerduty", "PagerDuty Events v2"],
];

/** The event groups a route names (the engine's `EventGroup`), in its order, with words. */
export const EVENT_GROUPS: [string, string][] = [
  ["failed", "Failed"],
  ["succeeded", "Succeeded"],
  ["overdue", "Overdue"],
  ["drill", "Drills"],
  ["retention", "Retention"],
  ["space", "Space"],
  ["copies", "Copies"],
  ["agent", "Backup server"],
  ["platform", "Platform backup"],
];

/** A channel's detail in words: a webhook's format by its label, else as the engine says it. */
export function detailWords(kind: ChannelKind, detail: string): string {
  return (kind === "webhook" && PRESETS.find(([p]) => p === detail)?.[1]) || detail;
}

/** What a project without any route sends (the engine's default). */
export const DEFAULT_ROUTE_TEXT =
  "No routes yet: each channel takes the default checked below (of drills, only failed ones; a heartbeat ping hears of every backup).";

export type ChannelForm = {
  name: string;
  kind: ChannelKind;
  emailTo: string;
  smtpUrl: string;
  password: string;
  webhookUrl: string;
  preset: WebhookPreset;
  secret: string;
  chatId: string;
  botToken: string;
  /** Telegram's "Bot API server" (empty: https://api.telegram.org). */
  telegramApi: string;
  pingUrl: string;
  /** Messages a minute at most (empty: the kind's default). */
  rate: string;
};

export const EMPTY_CHANNEL: ChannelForm = {
  name: "",
  kind: "webhook",
  emailTo: "",
  smtpUrl: "",
  password: "",
  webhookUrl: "",
  preset: "json",
  secret: "",
  chatId: "",
  botToken: "",
  telegramApi: "",
  pingUrl: "",
  rate: "",
};

/** The Bot API server a Telegram channel uses when the field is left empty. */
export const TELEGRAM_API_DEFAULT = "https://api.telegram.org";

/** The most messages a minute the engine accepts for a channel. */
export const MAX_RATE = 60000;

/** Each kind's default rate, a minute (the engine's `rate_per_minute`; shown as the placeholder). */
export function defaultRate(kind: ChannelKind, preset: WebhookPreset): number {
  switch (kind) {
    case "email":
      return 30;
    case "telegram":
      return 20;
    case "ping":
      return 60;
    case "webhook":
      return preset === "json" ? 1200 : preset === "pagerduty" ? 120 : 30;
  }
}

/** The rate the form asks for: null for the kind's default (an empty field). */
export function rateOf(f: ChannelForm): number | null {
  const t = f.rate.trim();
  return t === "" ? null : Number(t);
}

/** The fields that hold a secret: emptied after every attempt to save. */
export const SECRET_FIELDS = ["password", "secret", "botToken"] as const;

export type FormErrors = Partial<Record<keyof ChannelForm, string>>;

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

function httpUrl(v: string): string | null {
  const t = v.trim();
  if (t === "") return "Required.";
  try {
    const u = new URL(t);
    return u.protocol === "http:" || u.protocol === "https:" ? null : "An http:// or https:// address.";
  } catch {
    return "Not a valid address: write it as https://host/path.";
  }
}

function smtpUrl(v: string): string | null {
  const t = v.trim();
  if (t === "") return "Required.";
  if (!/^smtps?:\/\/[^/\s]+/i.test(t)) return "Write it as smtp://user@mail.example.com:587 or smtps://mail.example.com.";
  if (/^smtps?:\/\/[^/@\s]*:[^/@\s]*@/i.test(t)) return "Leave the password out of the address: it has its own field.";
  return null;
}

function recipients(v: string): string | null {
  const list = v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) return "Required.";
  return list.every((a) => /^[^\s@]+@[^\s@]+$/.test(a)) ? null : "Email addresses, separated by commas.";
}

/** The checks of `f` per field; empty when it can be sent to the engine. */
export function checkChannel(f: ChannelForm): FormErrors {
  const e: FormErrors = {};
  const put = (k: keyof ChannelForm, msg: string | null) => {
    if (msg) e[k] = msg;
  };
  put("name", NAME.test(f.name.trim()) ? null : "1 to 64 letters, digits, '-', '_' or '.'.");
  const rate = f.rate.trim();
  put(
    "rate",
    rate === "" || (/^\d+$/.test(rate) && Number(rate) >= 1 && Number(rate) <= MAX_RATE)
      ? null
      : `A whole number from 1 to ${MAX_RATE}, or empty for the default.`,
  );
  switch (f.kind) {
    case "email":
      put("emailTo", recipients(f.emailTo));
      put("smtpUrl", smtpUrl(f.smtpUrl));
      break;
    case "webhook":
      put("webhookUrl", httpUrl(f.webhookUrl));
      put("secret", f.preset === "pagerduty" && f.secret === "" ? "PagerDuty needs the integration's routing key." : null);
      break;
    case "telegram":
      put("chatId", /^\S{1,64}$/.test(f.chatId.trim()) ? null : "A number like -1001234567890, or @channelname.");
      put("botToken", f.botToken.trim() === "" ? "Required: the token @BotFather gave." : null);
      break;
    case "ping":
      put("pingUrl", httpUrl(f.pingUrl));
      break;
  }
  return e;
}

/** The channel to add (secrets included: they go to the keychain through the engine). */
export function toNewChannel(f: ChannelForm): NewChannel {
  const opt = (s: string) => (s === "" ? null : s);
  switch (f.kind) {
    case "email":
      return { kind: "email", to: f.emailTo.trim(), smtp_url: f.smtpUrl.trim(), password: opt(f.password) };
    case "webhook":
      return { kind: "webhook", url: f.webhookUrl.trim(), preset: f.preset, secret: opt(f.secret) };
    case "telegram":
      return { kind: "telegram", chat_id: f.chatId.trim(), bot_token: f.botToken.trim(), api_base: opt(f.telegramApi.trim()) };
    case "ping":
      return { kind: "ping", url: f.pingUrl.trim() };
  }
}

/** The form without its secrets. */
export function withoutSecrets(f: ChannelForm): ChannelForm {
  return { ...f, password: "", secret: "", botToken: "" };
}

/** A channel's test: running, sent (the event id), or the error saying why not. */
export type TestState = { status: "testing" } | { status: "sent"; eventId: string } | { status: "failed"; error: ErrorPayload };

export const STATE_LABEL: Record<string, string> = {
  queued: "Waiting to send",
  sending: "Sending",
  sent: "Sent",
  failed: "Failed",
  digested: "In a digest",
};

/** `backup_failed` → "backup failed". */
export function kindWords(kind: string): string {
  return kind.replace(/_/g, " ");
}
