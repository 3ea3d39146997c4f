// One time format (issue 44): every date and time the app writes is local time as `formatTime`
// writes it ("2026-11-25 14:05"), the zone named once per screen. The screens reach dates only
// through the time helpers; a screen that formats a date itself would bring a sixth format back.
import { describe, expect, it } from "vitest";
import { formatTime, localZoneLabel } from "./components/format";
import { backupName } from "./components/names";
import { clockTime, dayAndTime, localDay } from "./project/tabs/time";

const sources = import.meta.glob(["./**/*.ts", "./**/*.tsx", "!./**/*.test.ts", "!./**/*.test.tsx", "!./bindings.ts", "!./**/fixtures.ts"], {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

/** The modules that may format dates (the time helpers) or read the zone's name (not a format);
 * the restore to a time converts its field's local value to the engine's RFC 3339 (an input, to
 * the second). */
const TIME_MODULES = new Set(["./components/format.ts", "./project/tabs/time.ts", "./schedules/ScheduleRow.tsx", "./wizard/pitr/time.ts"]);

/** Every line of the screens' sources but the time helpers', matching `re`, as "path:line: text". */
function linesMatching(re: RegExp): string[] {
  return Object.entries(sources)
    .filter(([path]) => !TIME_MODULES.has(path))
    .flatMap(([path, text]) =>
      text
        .split("\n")
        .map((line, i) => ({ path, line: i + 1, text: line }))
        .filter(({ text }) => !/^\s*(\/\/|\*|\/\*\*)/.test(text) && re.test(text)),
    )
    .map(({ path, line, text }) => `${path}:${line}: ${text.trim()}`);
}

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

  it("no screen builds a date from its parts or writes an instant as it is (toISOString, getHours…)", () => {
    // A hand-made "13:32:36" or an ISO string in a table was the second and third format.
    expect(linesMatching(/\.toISOString\(|\.get(FullYear|Month|Date|Hours|Minutes|Seconds)\(\)/)).toEqual([]);
  });

  it("no hover shows a raw instant ('2026-11-25T01:30:00Z'): the exact time is the one format too", () => {
    // title={x.created_at}, title={t ? t.tested_at : …}: an *_at value shown without a helper.
    const raw = linesMatching(/title=\{[^}]*\b\w+_at\b/).filter((l) => !/(formatTime|dayAndTime|clockTime|localSeconds)\(/.test(l));
    expect(raw).toEqual([]);
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
