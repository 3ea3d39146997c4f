import { describe, expect, it } from "vitest";
import { localFieldToUtc, localSeconds, toLocalField, windowEndMs, windowStartMs } from "./time";

// Issue 64 item 3: one date and time format, typed, for every point-in-time field (a datetime-local
// field showed the system's "11/28/2026, 12:30:34" beside the app's "2026-11-28 12:30").
describe("the point-in-time field", () => {
  it("holds the app's date format and reads it back as the same second", () => {
    const ms = Date.parse("2026-11-26T06:00:07Z");
    const field = toLocalField(ms);
    expect(field).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(field).toBe(localSeconds(ms));
    expect(localFieldToUtc(field)).toBe("2026-11-26T06:00:07Z");
  });

  it("takes a T for the space and no seconds; refuses what is not a date, or not one that exists", () => {
    const local = toLocalField(Date.parse("2026-11-26T06:00:00Z"));
    expect(localFieldToUtc(local.replace(" ", "T"))).toBe("2026-11-26T06:00:00Z");
    expect(localFieldToUtc(local.slice(0, 16))).toBe("2026-11-26T06:00:00Z");
    for (const bad of ["", "11/26/2026, 06:00:00", "2026-02-30 10:00:00", "2026-11-26 24:00:00", "2026-11-26 06:61:00", "yesterday"]) {
      expect(localFieldToUtc(bad), bad).toBeNull();
    }
  });

  it("a window's ends are whole restorable seconds: the start rounded up, the end down", () => {
    const from = Date.parse("2026-11-28T12:30:32Z") * 1000 + 231_895;
    const to = Date.parse("2026-11-28T12:30:34Z") * 1000 + 78_963;
    expect(windowStartMs(from)).toBe(Date.parse("2026-11-28T12:30:33Z"));
    expect(windowEndMs(to)).toBe(Date.parse("2026-11-28T12:30:34Z"));
    expect(windowStartMs(from, to)).toBe(Date.parse("2026-11-28T12:30:33Z"));
    // A window inside one second starts at that second, never after its end (e2e pitr-01).
    const within = Date.parse("2026-11-28T19:15:43Z") * 1000;
    expect(windowStartMs(within + 200_000, within + 900_000)).toBe(Date.parse("2026-11-28T19:15:43Z"));
    expect(windowEndMs(within + 900_000)).toBe(Date.parse("2026-11-28T19:15:43Z"));
  });
});
