// Small, pure formatting helpers shared by the screens.
import { plural } from "../words";

const UNITS = ["KB", "MB", "GB", "TB", "PB"];

/**
 * 1536 → "1.5 KB": the one convention of every front end (the engine's
 * `offsite_core::units::format_bytes`, with the same test vectors): powers of 1024 written KB,
 * MB, GB as the glossary writes them (never KiB/MiB on a screen), whole bytes below 1 KB, one
 * decimal above.
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "—";
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes / 1024;
  let unit = 0;
  // 1023.96 KB would round to "1024.0 KB": that is 1.0 MB.
  while (value >= 1023.95 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** "1 object", "2 objects", "1,024 objects": a count with its noun (see ../words.ts `plural`). */
export function countOf(n: number, noun: string, nouns?: string): string {
  return plural(n, noun, nouns);
}

/**
 * Seconds → "under 1 s", "42 s", "2 min", "3 min 5 s", "1 h 2 min", "2 h": the one way the window
 * says how long something took or will take (job panel, drill report, Activity, restore report),
 * and the engine's too (`offsite_core::units::format_duration`, the same test vectors). Whole
 * seconds round down; "—" when unknown.
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.floor(seconds);
  if (s < 1) return "under 1 s";
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const rest = s % 60;
    return rest === 0 ? `${m} min` : `${m} min ${rest} s`;
  }
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** An RFC 3339 time as a short local date and time ("2026-11-21 14:05"). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * This computer's zone as the app names it, once per screen: "UTC", or "Europe/Berlin (CET)".
 * `at` picks the abbreviation's season (CET or CEST); `zone` is for tests.
 */
export function localZoneLabel(at: Date = new Date(), zone?: string): string {
  try {
    const f = new Intl.DateTimeFormat("en-GB", { timeZoneName: "short", ...(zone ? { timeZone: zone } : {}) });
    const iana = f.resolvedOptions().timeZone;
    if (/^(Etc\/)?(UTC|UCT|Universal|Zulu)$/.test(iana)) return "UTC";
    const short = f.formatToParts(at).find((p) => p.type === "timeZoneName")?.value;
    return short && short !== iana ? `${iana} (${short})` : iana;
  } catch {
    return "local time";
  }
}

/** "3 minutes ago", "2 days ago". */
export function formatAgo(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "never";
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return "just now";
  const units: [number, string][] = [
    [86400, "day"],
    [3600, "hour"],
    [60, "minute"],
  ];
  for (const [size, name] of units) {
    if (s >= size) {
      const n = Math.floor(s / size);
      return `${n} ${name}${n === 1 ? "" : "s"} ago`;
    }
  }
  return "just now";
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * Where a stored URL's server is, never its password: `host:port` for
 * `postgres://user@host:port/db`, or the socket folder and port for
 * `postgres://user@/db?host=/var/run/postgresql&port=5432` (a host that is a path is a socket).
 */
export function databaseHost(url: string): string {
  const query = url.includes("?") ? url.slice(url.indexOf("?") + 1) : "";
  const param = (name: string) => {
    const pair = query.split("&").find((p) => p.startsWith(`${name}=`));
    return pair ? decode(pair.slice(name.length + 1)) : null;
  };
  const m = /^[a-z]+:\/\/(?:[^@/?]*@)?(\[[^\]]+\]|[^:/?]*)(?::(\d*))?/i.exec(url);
  const host = param("host") || (m?.[1] ? decode(m[1]) : "");
  const port = param("port") || m?.[2] || "";
  if (!host) return url;
  if (host.startsWith("/")) return port ? `${host} (socket, port ${port})` : `${host} (socket)`;
  return port ? `${host}:${port}` : host;
}

/** The database name of a stored URL. */
export function databaseName(url: string): string | null {
  const m = /^[a-z]+:\/\/[^/]*\/([^?]+)/i.exec(url);
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

// When, as a person says it (issue 64: the home's headline and its one line).
const pad2 = (n: number) => String(n).padStart(2, "0");
const clock = (d: Date) => `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** Whole calendar days from `now` to `t` in this computer's zone (0: the same day). */
function daysApart(t: Date, now: Date): number {
  const day = (d: Date) => Date.UTC(d.getFullYear(), d.getMonth(), d.getDate());
  return Math.round((day(t) - day(now)) / 86_400_000);
}

/**
 * When a coming run is, as a person says it: "today 14:00", "tonight 02:30" (this evening, or the
 * small hours after it), "tomorrow 09:00", "Mon 02:30" within a week, else the app's date format.
 */
export function upcomingWords(iso: string, now: Date = new Date()): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const days = daysApart(t, now);
  const h = t.getHours();
  if (days <= 0) return `${h >= 18 ? "tonight" : "today"} ${clock(t)}`;
  if (days === 1 && h < 6) return `tonight ${clock(t)}`;
  if (days === 1) return `tomorrow ${clock(t)}`;
  if (days < 7) return `${WEEKDAYS[t.getDay()]} ${clock(t)}`;
  return formatTime(iso);
}

/** When a past moment was, short: "02:30" today, "yesterday 02:30", else the app's date format. */
export function pastWords(iso: string, now: Date = new Date()): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const days = daysApart(t, now);
  if (days === 0) return clock(t);
  if (days === -1) return `yesterday ${clock(t)}`;
  return formatTime(iso);
}

