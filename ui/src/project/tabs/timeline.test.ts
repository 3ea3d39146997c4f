import { describe, expect, it } from "vitest";
import type { BackupRow, RemovalForecast } from "../../bindings";
import { clockTime, dayAndTime, localDay } from "./time";
import { newestGood, timeline } from "./timeline";
import { removalShort, sharedMinutes } from "./BackupTimeline";
import { clockTimeSeconds } from "./time";
import { sameZone } from "../../schedules/ScheduleRow";

function row(id: string, created_at: string, status: BackupRow["status"] = "verified"): BackupRow {
  return { id, path: `/b/${id}.tar.gz`, size: 1, backup_type: "database", created_at, verified_at: null, status, verify_problem: null, sha256: "" };
}

// Newest first, as the catalog lists them. 23:30 UTC on the 28th is already the 29th in Berlin
// and still the 28th in New York (where 03:30 UTC on the 29th is the 28th too).
const backups = [
  row("a", "2026-03-29T03:30:00Z"),
  row("b", "2026-03-29T00:30:00Z"),
  row("c", "2026-03-28T23:30:00Z"),
  row("d", "2026-03-28T10:00:00Z"),
];

const shape = (zone: string) =>
  timeline(backups, zone).map((e) => (e.kind === "day" ? `${e.key} (${e.count})` : e.backup.id));

describe("the backup timeline", () => {
  it("groups backups under the local day they were made, in the zone given", () => {
    expect(shape("UTC")).toEqual(["2026-03-29 (2)", "a", "b", "2026-03-28 (2)", "c", "d"]);
    expect(shape("Europe/Berlin")).toEqual(["2026-03-29 (3)", "a", "b", "c", "2026-03-28 (1)", "d"]);
    expect(shape("America/New_York")).toEqual(["2026-03-28 (4)", "a", "b", "c", "d"]);
  });

  it("names the day and the time in the zone's local time, in the one format (daylight saving included)", () => {
    expect(localDay("2026-03-28T23:30:00Z", "Europe/Berlin")).toEqual({ key: "2026-03-29", label: "2026-03-29, Sunday" });
    expect(clockTime("2026-03-28T23:30:00Z", "Europe/Berlin")).toBe("00:30");
    // Berlin moves to summer time at 01:00 UTC on 29 March 2026.
    expect(clockTime("2026-03-29T03:30:00Z", "Europe/Berlin")).toBe("05:30");
    expect(clockTime("2026-03-29T03:30:00Z", "UTC")).toBe("03:30");
    expect(dayAndTime("2026-11-25T01:30:00Z", "Europe/Berlin")).toBe("2026-11-25 02:30");
  });

  it("an empty list has no headings", () => {
    expect(timeline([], "UTC")).toEqual([]);
  });

  it("the newest good backup is the newest verified or not yet verified one", () => {
    expect(newestGood([row("x", "2026-03-29T03:30:00Z", "corrupt"), row("y", "2026-03-29T02:30:00Z", "unverified")])?.id).toBe("y");
    expect(newestGood([row("x", "2026-03-29T03:30:00Z", "missing")])).toBeNull();
  });

  it("says shortly in the row what retention does, and why it keeps a backup (the engine's words)", () => {
    const f = (over: Partial<RemovalForecast>): RemovalForecast => ({ backup_id: "b", removed_at: null, next_prune: false, kept_by: [], kept_because: "", reasons: [], locked: [], ...over });
    expect(removalShort(f({ removed_at: "2026-12-02T01:30:00Z", kept_by: ["daily"], kept_because: "daily" }), "Europe/Berlin")).toBe("daily · until 2026-12-02");
    expect(removalShort(f({ removed_at: "2026-12-02T01:30:00Z" }), "Europe/Berlin")).toBe("kept · until 2026-12-02");
    expect(removalShort(f({ next_prune: true }))).toBe("goes at next clean-up");
    expect(removalShort(f({ kept_by: ["newest", "weekly"], kept_because: "newest · weekly" }))).toBe("newest · weekly");
    expect(removalShort(f({}))).toBe("kept");
    const locked = [{ destination: "bucket", locked_until: "2026-12-03T10:00:00Z", note: "its copy at bucket stays, locked until 2026-12-03 10:00 UTC" }];
    expect(removalShort(f({ next_prune: true, locked }))).toBe("goes at next clean-up · locked at bucket");
  });

  it("knows Etc/UTC and UTC are one zone", () => {
    expect(sameZone("Etc/UTC", "UTC")).toBe(true);
    expect(sameZone("Europe/Berlin", "UTC")).toBe(false);
  });
});

describe("two backups of one minute", () => {
  it("are told apart by their seconds; a backup alone in its minute keeps HH:MM", () => {
    const entries = timeline([
      row("b3", "2026-11-26T08:08:54Z"),
      row("b2", "2026-11-26T08:08:52Z"),
      row("b1", "2026-11-26T07:08:52Z"),
    ]);
    const shared = sharedMinutes(entries);
    expect(shared.size).toBe(1);
    expect([...shared][0]).toContain(clockTime("2026-11-26T08:08:54Z"));
    expect(clockTimeSeconds("2026-11-26T08:08:54Z", "UTC")).toBe("08:08:54");
  });

  it("made in the same second, they keep HH:MM: the seconds would not tell them apart (screens-light-02)", () => {
    const entries = timeline([row("b2", "2026-11-26T18:12:16Z"), row("b1", "2026-11-26T18:12:16.400Z")]);
    expect(sharedMinutes(entries).size).toBe(0);
  });
});
