// Times as a person reads them on the project page: this computer's time in the app's one format
// ("2026-11-25 02:30"; the zone is named once per screen), and the local calendar day a backup
// belongs to. `timeZone` is for tests (and
// anything that must show one zone); absent, the computer's own zone.

// Formatters are costly to make (10,000 rows format their times): one per options and zone.
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(options: Intl.DateTimeFormatOptions, timeZone?: string): Intl.DateTimeFormat {
  const key = `${JSON.stringify(options)}|${timeZone ?? ""}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", { ...options, ...(timeZone ? { timeZone } : {}) });
    formatters.set(key, f);
  }
  return f;
}

function parts(iso: string, options: Intl.DateTimeFormatOptions, timeZone?: string): Record<string, string> | null {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  const f = formatter(options, timeZone);
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(d)) out[p.type] = p.value;
  return out;
}

/** "02:30": the local clock time (24-hour); the zone is named once per screen, not at every time. */
export function clockTime(iso: string, timeZone?: string): string {
  const p = parts(iso, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }, timeZone);
  if (!p) return iso;
  return `${p.hour}:${p.minute}`;
}

/** "02:30:15": the same with its seconds (two backups of one minute on one list). */
export function clockTimeSeconds(iso: string, timeZone?: string): string {
  const p = parts(iso, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }, timeZone);
  if (!p) return iso;
  return `${p.hour}:${p.minute}:${p.second}`;
}

/** The local calendar day: a sortable key ("2026-11-21") and a heading ("2026-11-21, Saturday"). */
export function localDay(iso: string, timeZone?: string): { key: string; label: string } {
  const p = parts(iso, { weekday: "long" }, timeZone);
  const n = parts(iso, { day: "2-digit", month: "2-digit", year: "numeric" }, timeZone);
  if (!p || !n) return { key: iso, label: iso };
  const key = `${n.year}-${n.month}-${n.day}`;
  return { key, label: `${key}, ${p.weekday}` };
}

/**
 * "2026-11-25 02:30": the app's one date format (as `formatTime` writes it), in local time; the
 * zone is named once per screen (`ZoneNote`).
 */
export function dayAndTime(iso: string, timeZone?: string): string {
  const day = localDay(iso, timeZone);
  if (day.key === iso) return iso;
  return `${day.key} ${clockTime(iso, timeZone)}`;
}
