// Times for the restore to a time: the field's local date and time to RFC 3339 UTC for the engine,
// and µs / RFC 3339 back to local time with seconds (the engine's windows are to the second).

/**
 * "2026-11-26 06:00:00" (the app's one date format, this computer's zone; "T" for the space and
 * no seconds are taken too) → "2026-11-26T05:00:00Z". Null: not a date and time, or none that
 * exists (2026-02-30).
 */
export function localFieldToUtc(value: string): string | null {
  const m = /^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*$/.exec(value);
  if (!m) return null;
  const [y, mo, da, h, mi, se] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const d = new Date(y, mo - 1, da, h, mi, se); // no zone in the text: read as local time
  // A day or hour that does not exist rolls over in Date: refused, not moved.
  if (d.getFullYear() !== y || d.getMonth() !== mo - 1 || d.getDate() !== da || d.getHours() !== h || d.getMinutes() !== mi) return null;
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** A moment as the time field holds it: the app's date format, local, to the second. */
export function toLocalField(ms: number): string {
  return localSeconds(ms);
}

/** The field's hint: the one format it takes. */
export const TIME_FORMAT_HINT = "YYYY-MM-DD HH:MM:SS";

/**
 * A restorable window's first whole second (µs in, ms out: the start rounded up, so restorable).
 * A window that holds no whole second yet (it began at 19:15:43.2 and reaches 19:15:43.9) starts
 * at its own second, never after its end (e2e pitr-01 said "from 19:15:44 to 19:15:43").
 */
export function windowStartMs(fromUs: number, toUs?: number): number {
  const up = Math.ceil(fromUs / 1_000_000) * 1000;
  return toUs !== undefined && up > windowEndMs(toUs) ? Math.floor(fromUs / 1_000_000) * 1000 : up;
}

/** A restorable window's last whole second (µs in, ms out: the end rounded down). */
export function windowEndMs(toUs: number): number {
  return Math.floor(toUs / 1_000_000) * 1000;
}

/** "2026-11-26 06:00:00" in local time; with `ms`, "05:59:58.120" precision kept. */
export function localSeconds(msOrIso: number | string, withMs = false): string {
  const d = typeof msOrIso === "number" ? new Date(msOrIso) : new Date(msOrIso);
  if (Number.isNaN(d.getTime())) return String(msOrIso);
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/** An instant (ms since the epoch) as the engine takes it: RFC 3339 in UTC, to the second. */
export function toUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
