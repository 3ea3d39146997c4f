import { describe, expect, it } from "vitest";
import type { Window } from "../../bindings";
import { bandDomain, fractionOf, momentAfterKey, momentAt, momentWords, refusal, spanAt, spansOf } from "./band";
import { localSeconds } from "./time";

// Issue 64 item 3: the band's arithmetic — where a pointer lands, what a key does, and why a
// moment outside the engine's windows cannot be restored.
const ms = (iso: string) => Date.parse(iso);
const us = (iso: string) => ms(iso) * 1000;
const w = (from: string, to: string, broken_by: string | null = null): Window => ({
  chain_id: from,
  from: us(from),
  to: us(to),
  from_text: from,
  to_text: to,
  broken_by,
  segments: 1,
});
// Two windows with a break between them (a change to a table's columns), capture up to 11:00.
const WINDOWS = [
  w("2026-11-26T10:00:00.250Z", "2026-11-26T10:30:00.900Z", "a table’s columns changed"),
  w("2026-11-26T10:35:00Z", "2026-11-26T11:00:00Z"),
];
const NOW = ms("2026-11-26T11:00:00Z");

describe("the band's windows", () => {
  it("are whole restorable seconds, oldest first, whatever order the engine sends", () => {
    const spans = spansOf([...WINDOWS].reverse());
    expect(spans).toEqual([
      { from: ms("2026-11-26T10:00:01Z"), to: ms("2026-11-26T10:30:00Z"), brokenBy: "a table’s columns changed" },
      { from: ms("2026-11-26T10:35:00Z"), to: ms("2026-11-26T11:00:00Z"), brokenBy: null },
    ]);
    expect(spanAt(ms("2026-11-26T10:30:00Z"), spans)).toBe(spans[0]);
    expect(spanAt(ms("2026-11-26T10:30:01Z"), spans)).toBeNull();
  });

  it("run from a margin before the first window to now, in whole seconds; none without windows", () => {
    const d = bandDomain(spansOf(WINDOWS), NOW)!;
    // An hour: a margin of 4 % (2 min 24 s) before, 1 % (36 s) after.
    expect(d.start).toBe(ms("2026-11-26T09:57:37Z"));
    expect(d.end).toBe(ms("2026-11-26T11:00:36Z"));
    expect(d.start % 1000).toBe(0);
    expect(bandDomain([], NOW)).toBeNull();
    // Now after the newest window: the band reaches now (the part not captured yet shows empty).
    expect(bandDomain(spansOf(WINDOWS), ms("2026-11-26T12:00:00Z"))!.end).toBeGreaterThan(ms("2026-11-26T12:00:00Z"));
  });
});

describe("the pointer (drag math)", () => {
  const d = { start: ms("2026-11-26T10:00:00Z"), end: ms("2026-11-26T11:00:00Z") };

  it("lands on the whole second under it", () => {
    expect(momentAt(0, 600, d)).toBe(d.start);
    expect(momentAt(600, 600, d)).toBe(d.end);
    expect(momentAt(300, 600, d)).toBe(ms("2026-11-26T10:30:00Z"));
    // 1 px = 6 s on a 600 px band for an hour; a fraction of a pixel still gives a whole second.
    expect(momentAt(100.5, 600, d)).toBe(ms("2026-11-26T10:10:03Z"));
    expect(momentAt(100.5, 600, d) % 1000).toBe(0);
  });

  it("stays on the band when dragged past its ends, and on a band of no width", () => {
    expect(momentAt(-50, 600, d)).toBe(d.start);
    expect(momentAt(900, 600, d)).toBe(d.end);
    expect(momentAt(10, 0, d)).toBe(d.start);
  });

  it("draws a moment where the pointer would take it", () => {
    expect(fractionOf(ms("2026-11-26T10:30:00Z"), d)).toBe(0.5);
    expect(fractionOf(d.start - 5000, d)).toBe(0);
    expect(fractionOf(d.end + 5000, d)).toBe(1);
    for (const x of [0, 123, 300, 599]) expect(Math.abs(fractionOf(momentAt(x, 600, d), d) * 600 - x)).toBeLessThanOrEqual(0.1);
  });
});

describe("the keys", () => {
  const spans = spansOf(WINDOWS);
  const d = bandDomain(spans, NOW)!;
  const at = ms("2026-11-26T10:40:00Z");
  const key = (k: string, shift = false, from = at) => momentAfterKey(k, shift, from, spans, d);

  it("step a second, a minute with Shift, an hour with Page Up and Down", () => {
    expect(key("ArrowRight")).toBe(at + 1000);
    expect(key("ArrowUp")).toBe(at + 1000);
    expect(key("ArrowLeft")).toBe(at - 1000);
    expect(key("ArrowDown")).toBe(at - 1000);
    expect(key("ArrowRight", true)).toBe(at + 60_000);
    expect(key("ArrowLeft", true)).toBe(at - 60_000);
    expect(key("PageUp", false, ms("2026-11-26T09:58:00Z"))).toBe(ms("2026-11-26T10:58:00Z"));
    expect(key("PageDown", false, ms("2026-11-26T10:59:00Z"))).toBe(ms("2026-11-26T09:59:00Z"));
  });

  it("Home and End go to the first and the newest restorable second", () => {
    expect(key("Home")).toBe(ms("2026-11-26T10:00:01Z"));
    expect(key("End")).toBe(ms("2026-11-26T11:00:00Z"));
  });

  it("keep the moment on the band, and leave other keys alone", () => {
    expect(key("PageDown")).toBe(d.start);
    expect(key("PageUp")).toBe(d.end);
    expect(key("ArrowRight", false, d.end)).toBe(d.end);
    expect(key("Enter")).toBeNull();
    expect(key("a")).toBeNull();
    expect(momentAfterKey("Home", false, at, [], d)).toBeNull();
  });
});

describe("refusals, in words", () => {
  const spans = spansOf(WINDOWS);

  it("none inside a window, at its first and last second too", () => {
    for (const t of ["2026-11-26T10:00:01Z", "2026-11-26T10:15:00Z", "2026-11-26T10:30:00Z", "2026-11-26T10:35:00Z", "2026-11-26T11:00:00Z"]) {
      expect(refusal(ms(t), spans), t).toBeNull();
    }
  });

  it("before capture began, naming the first moment that can be", () => {
    expect(refusal(ms("2026-11-26T10:00:00Z"), spans)).toBe(
      `${localSeconds(ms("2026-11-26T10:00:00Z"))} cannot be restored: it is before capture began (the first moment that can be is ${localSeconds(ms("2026-11-26T10:00:01Z"))}).`,
    );
  });

  it("in a break, naming both sides and what broke it", () => {
    expect(refusal(ms("2026-11-26T10:32:00Z"), spans)).toBe(
      `${localSeconds(ms("2026-11-26T10:32:00Z"))} cannot be restored: nothing was captured between ${localSeconds(ms("2026-11-26T10:30:00Z"))} and ${localSeconds(ms("2026-11-26T10:35:00Z"))} (a table’s columns changed).`,
    );
    // A window the engine gives no reason for: capture stopped there.
    const quiet = spansOf([w("2026-11-26T10:00:00Z", "2026-11-26T10:10:00Z"), w("2026-11-26T10:20:00Z", "2026-11-26T10:30:00Z")]);
    expect(refusal(ms("2026-11-26T10:15:00Z"), quiet)).toContain("(capture stopped)");
  });

  it("after the newest captured change: not yet", () => {
    expect(refusal(ms("2026-11-26T11:00:01Z"), spans)).toBe(
      `${localSeconds(ms("2026-11-26T11:00:01Z"))} cannot be restored yet: changes are captured up to ${localSeconds(ms("2026-11-26T11:00:00Z"))}.`,
    );
  });

  it("without windows at all", () => {
    expect(refusal(NOW, [])).toMatch(/^No moment can be restored yet/);
  });

  it("the slider's value in words: the moment in the app's format and whether it can be restored", () => {
    expect(momentWords(ms("2026-11-26T10:15:00Z"), spans)).toBe(`${localSeconds(ms("2026-11-26T10:15:00Z"))}, can be restored`);
    expect(momentWords(ms("2026-11-26T10:32:00Z"), spans)).toBe(`${localSeconds(ms("2026-11-26T10:32:00Z"))}, cannot be restored`);
    expect(momentWords(ms("2026-11-26T10:15:00Z"), spans)).not.toMatch(/T\d\d:|Z\b|\.\d{3}/);
  });
});
