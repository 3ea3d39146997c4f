// Times for the restore to a time: the field's local date and time to RFC 3339 UTC for the engine,
// and µs / RFC 3339 back to local time with seconds (the engine's windows are to the second).

/** "2026-11-26T06:00" or "2026-11-26T06:00:00" (a datetime-local value, this computer's zone) → "2026-11-26T05:00:00Z". */
export function localFieldToUtc(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return null;
  const d = new Date(value); // no zone in the text: read as local time
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** A moment as the datetime-local field holds it (local, to the second). */
export function toLocalField(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "2026-11-26 06:00:00" in local time; with `ms`, "05:59:58.120" precision kept. */
export function localSeconds(msOrIso: number | string, withMs = false): string {
  const d = typeof msOrIso === "number" ? new Date(msOrIso) : new Date(msOrIso);
  if (Number.isNaN(d.getTime())) return String(msOrIso);
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}
