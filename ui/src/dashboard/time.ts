// Times on the dashboard: local, with the zone named (a schedule's next run is read as a clock
// time, so which clock must be said).
import { formatTime } from "../components/format";

/** The short name of the local time zone at `iso` ("CET", "GMT+1", "UTC"). */
export function zoneName(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  try {
    const part = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
      .formatToParts(d)
      .find((p) => p.type === "timeZoneName");
    return part?.value ?? "";
  } catch {
    return "";
  }
}

/** "2026-11-25 02:30" and "CET": local time and its zone. */
export function localTimeWithZone(iso: string): { time: string; zone: string } {
  return { time: formatTime(iso), zone: zoneName(iso) };
}
