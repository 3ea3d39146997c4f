// One time format (issue 44): every date and time the app writes is local time as `formatTime`
// writes it ("2026-11-25 14:05"), the zone named once per screen. The screens reach dates only
// through the time helpers; a screen that formats a date itself would bring a sixth format back.
import { describe, expect, it } from "vitest";
import { formatTime, localZoneLabel } from "./components/format";
import { backupName } from "./components/names";
import { clockTime, dayAndTime, localDay } from "./project/tabs/time";

const sources = import.meta.glob(["./**/*.ts", "./**/*.tsx", "!./**/*.test.ts", "!./**/*.test.tsx", "!./bindings.ts"], {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

/** The modules that may format dates (the time helpers) or read the zone's name (not a format). */
const TIME_MODULES = new Set(["./components/format.ts", "./project/tabs/time.ts", "./schedules/ScheduleRow.tsx"]);

const ONE_FORMAT = /^\d{4}-\d\d-\d\d \d\d:\d\d$/;

describe("one date format everywhere", () => {
  it("found the screens' sources", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(100);
    expect(sources["./wizard/steps/ReviewStep.tsx"]).toContain("formatTime");
  });

  it("no screen formats a date itself (toLocaleString(), toLocaleDateString, Intl.DateTimeFormat)", () => {
    const offenders = Object.entries(sources)
      .filter(([path]) => !TIME_MODULES.has(path))
      .flatMap(([path, text]) =>
        text
          .split("\n")
          .map((line, i) => ({ path, line: i + 1, text: line }))
          .filter(({ text }) => /toLocale(Date|Time)String|toLocaleString\(\s*\)|Intl\.DateTimeFormat|getTimezoneOffset/.test(text)),
      )
      .map(({ path, line, text }) => `${path}:${line}: ${text.trim()}`);
    expect(offenders).toEqual([]);
  });

  it("every helper writes the one format, in local time", () => {
    const iso = "2026-11-25T01:30:00Z";
    expect(formatTime(iso)).toMatch(ONE_FORMAT);
    expect(dayAndTime(iso)).toBe(formatTime(iso));
    expect(dayAndTime(iso, "Europe/Berlin")).toBe("2026-11-25 02:30");
    expect(dayAndTime(iso, "America/New_York")).toBe("2026-11-24 20:30");
    expect(clockTime(iso, "Europe/Berlin")).toBe("02:30");
    expect(localDay(iso, "Europe/Berlin").label.startsWith("2026-11-25")).toBe(true);
    expect(backupName({ backup_type: "database", created_at: iso })).toBe(`Database backup of ${formatTime(iso)}`);
  });

  it("names the zone once, UTC plainly", () => {
    expect(localZoneLabel(new Date("2026-11-25T01:30:00Z"), "Etc/UTC")).toBe("UTC");
    expect(localZoneLabel(new Date("2026-11-25T01:30:00Z"), "UTC")).toBe("UTC");
    expect(localZoneLabel(new Date("2026-11-25T01:30:00Z"), "Europe/Berlin")).toBe("Europe/Berlin (CET)");
    expect(localZoneLabel(new Date("2026-07-25T01:30:00Z"), "Europe/Berlin")).toBe("Europe/Berlin (CEST)");
  });
});
