import { describe, expect, it } from "vitest";
import type { RemovalForecast } from "../bindings";
import { removalLabel } from "./ProjectPage";
import { isoWeekWords } from "../project/tabs/BackupTimeline";

const f = (over: Partial<RemovalForecast>): RemovalForecast => ({ backup_id: "b", removed_at: null, next_prune: false, kept_by: [], kept_because: "", reasons: [], locked: [], ...over });

describe("a backup's expected removal", () => {
  it("says next prune, why it is kept (the engine's reasons), the day it will be removed (local time, zone named), or nothing while unknown", () => {
    expect(removalLabel(undefined)).toBe("");
    expect(removalLabel(f({ next_prune: true }))).toBe("removed at the next clean-up");
    expect(removalLabel(f({}))).toBe("kept by the retention policy");
    expect(removalLabel(f({ kept_by: ["newest", "daily"], kept_because: "newest · daily", reasons: ["daily 2026-11-20", "newest verified"] }))).toBe(
      "kept: daily 2026-11-20, newest verified",
    );
    expect(removalLabel(f({ removed_at: "2026-11-21T04:00:00.000Z", reasons: ["last 2"] }), "Europe/Berlin")).toBe(
      "kept: last 2; will be removed on 2026-11-21 05:00",
    );
  });

  it("says that a copy locked at a destination stays until its date (the engine's note)", () => {
    const locked = [{ destination: "bucket", locked_until: "2026-12-03T10:00:00Z", note: "its copy at bucket stays, locked until 2026-12-03 10:00 UTC" }];
    expect(removalLabel(f({ next_prune: true, locked }))).toBe("removed at the next clean-up; its copy at bucket stays, locked until 2026-12-03 10:00 UTC");
    expect(removalLabel(f({ reasons: ["last 1"], locked }))).toBe("kept: last 1; its copy at bucket stays, locked until 2026-12-03 10:00 UTC");
  });
});

describe("ISO weeks in the app's date format (issue 44: 'weekly 2026-W48' in the side panel)", () => {
  it("names a week by its Monday", () => {
    expect(isoWeekWords("weekly 2026-W48")).toBe("week of 2026-11-23");
    expect(isoWeekWords("weekly 2026-W01")).toBe("week of 2025-12-29"); // 1 Jan 2026 is a Thursday
    expect(isoWeekWords("weekly 2021-W01")).toBe("week of 2021-01-04");
    expect(isoWeekWords("monthly 2026-11")).toBe("monthly 2026-11");
  });

  it("the side panel's retention line carries no ISO week", () => {
    const text = removalLabel(f({ reasons: ["daily 2026-11-26", "weekly 2026-W48"] }));
    expect(text).toBe("kept: daily 2026-11-26, week of 2026-11-23");
    expect(text).not.toMatch(/W\d\d/);
  });
});
