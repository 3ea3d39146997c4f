// The point-in-time band's arithmetic (issue 64 item 3): where a pointer lands in time, what a key
// does to the chosen moment, and whether the engine's windows hold it — and if not, why, in words.
// Pure: no DOM, no engine rule of its own (a moment inside a window is one the engine's windows
// say is restorable; what the replay stops at is the engine's plan).
import type { Window } from "../../bindings";
import { localSeconds, windowEndMs, windowStartMs } from "./time";

/** A restorable window as whole seconds (ms since the epoch), and what ends it. */
export type Span = { from: number; to: number; brokenBy: string | null };

/** The band's extent (ms, whole seconds): a little before the first window, to now. */
export type Domain = { start: number; end: number };

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** The engine's windows as whole restorable seconds, oldest first. */
export function spansOf(windows: readonly Window[]): Span[] {
  return [...windows]
    .sort((a, b) => a.from - b.from)
    .map((w) => ({ from: windowStartMs(w.from, w.to), to: windowEndMs(w.to), brokenBy: w.broken_by }));
}

const floorS = (ms: number) => Math.floor(ms / SECOND) * SECOND;
const ceilS = (ms: number) => Math.ceil(ms / SECOND) * SECOND;

/**
 * The band runs from a margin before the first window (so its start and the backup it starts
 * from are not on the edge) to now, or to the newest window's end when that is later (a clock
 * behind the server's). Null without windows.
 */
export function bandDomain(spans: readonly Span[], nowMs: number): Domain | null {
  const first = spans[0];
  if (!first) return null;
  const last = Math.max(nowMs, ...spans.map((s) => s.to));
  const pad = Math.max(30 * SECOND, (last - first.from) * 0.04);
  return { start: floorS(first.from - pad), end: ceilS(last + Math.max(2 * SECOND, (last - first.from) * 0.01)) };
}

/** Where `ms` sits along the band, 0 (its start) to 1 (its end). */
export function fractionOf(ms: number, d: Domain): number {
  const span = d.end - d.start;
  return span <= 0 ? 0 : Math.min(1, Math.max(0, (ms - d.start) / span));
}

/** The whole second under a pointer `x` px from the band's left edge, the band `width` px wide. */
export function momentAt(x: number, width: number, d: Domain): number {
  const f = width <= 0 ? 0 : Math.min(1, Math.max(0, x / width));
  const ms = Math.round((d.start + f * (d.end - d.start)) / SECOND) * SECOND;
  return Math.min(d.end, Math.max(d.start, ms));
}

/**
 * What a key does to the moment: arrows ±1 s (with Shift ±1 min), Page Up/Down ±1 h, Home the
 * first restorable second, End the newest; kept on the band. Null: not a key of the band's.
 */
export function momentAfterKey(key: string, shift: boolean, value: number, spans: readonly Span[], d: Domain): number | null {
  const first = spans[0];
  const last = spans[spans.length - 1];
  let next: number;
  switch (key) {
    case "ArrowRight":
    case "ArrowUp":
      next = value + (shift ? MINUTE : SECOND);
      break;
    case "ArrowLeft":
    case "ArrowDown":
      next = value - (shift ? MINUTE : SECOND);
      break;
    case "PageUp":
      next = value + HOUR;
      break;
    case "PageDown":
      next = value - HOUR;
      break;
    case "Home":
      if (!first) return null;
      next = first.from;
      break;
    case "End":
      if (!last) return null;
      next = last.to;
      break;
    default:
      return null;
  }
  return Math.min(d.end, Math.max(d.start, next));
}

/** The window holding `ms`, or null. */
export function spanAt(ms: number, spans: readonly Span[]): Span | null {
  return spans.find((s) => ms >= s.from && ms <= s.to) ?? null;
}

/**
 * Why `ms` cannot be restored, in words (null: a window holds it): before the first window,
 * between two (what broke the first), or after the newest (not captured yet). The moment is not
 * moved: the user sees it refused and why.
 */
export function refusal(ms: number, spans: readonly Span[]): string | null {
  if (spans.length === 0) return "No moment can be restored yet: capture has not finished its first backup.";
  if (spanAt(ms, spans)) return null;
  const at = localSeconds(ms);
  const first = spans[0]!;
  const last = spans[spans.length - 1]!;
  if (ms < first.from) return `${at} cannot be restored: it is before capture began (the first moment that can be is ${localSeconds(first.from)}).`;
  if (ms > last.to) return `${at} cannot be restored yet: changes are captured up to ${localSeconds(last.to)}.`;
  // Between two windows: the newest one ended before it, and the oldest one starting after it.
  const before = spans.filter((s) => s.to < ms).reduce((a, b) => (b.to > a.to ? b : a));
  const after = spans.filter((s) => s.from > ms).reduce((a, b) => (b.from < a.from ? b : a));
  const why = before.brokenBy ?? "capture stopped";
  return `${at} cannot be restored: nothing was captured between ${localSeconds(before.to)} and ${localSeconds(after.from)} (${why}).`;
}

/** The slider's value in words, for a screen reader (aria-valuetext). */
export function momentWords(ms: number, spans: readonly Span[]): string {
  return `${localSeconds(ms)}, ${spanAt(ms, spans) ? "can be restored" : "cannot be restored"}`;
}
