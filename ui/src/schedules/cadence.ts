// How often a saved schedule runs, read from the runs the engine computed for it (never from the
// form): the shortest gap between its next runs, in words, and whether it is under 15 minutes.
export const FREQUENT_MINUTES = 15;

/** The shortest gap between consecutive runs, in minutes (null: fewer than two runs). */
export function shortestGapMinutes(runs: readonly string[]): number | null {
  let best: number | null = null;
  for (let i = 1; i < runs.length; i++) {
    const a = Date.parse(runs[i - 1] ?? "");
    const b = Date.parse(runs[i] ?? "");
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    const m = Math.round((b - a) / 60_000);
    if (best === null || m < best) best = m;
  }
  return best;
}

/** "every minute", "every 5 minutes", "every 2 hours", "every day"; null when it cannot be said. */
export function gapWords(minutes: number | null): string | null {
  if (minutes === null || minutes <= 0) return null;
  if (minutes === 1) return "every minute";
  if (minutes < 60) return `every ${minutes} minutes`;
  if (minutes % 1440 === 0) return minutes === 1440 ? "every day" : `every ${minutes / 1440} days`;
  if (minutes % 60 === 0) return minutes === 60 ? "every hour" : `every ${minutes / 60} hours`;
  return `every ${minutes} minutes`;
}

/** Runs under 15 minutes apart: each run is a full backup (or check) of the project. */
export function isFrequent(runs: readonly string[]): boolean {
  const m = shortestGapMinutes(runs);
  return m !== null && m < FREQUENT_MINUTES;
}
