import { describe, expect, it } from "vitest";
import { removalLabel } from "./ProjectPage";

describe("a backup's expected removal", () => {
  it("says next prune, the day it will be removed (local time, zone named), kept, or nothing while unknown", () => {
    expect(removalLabel(undefined)).toBe("");
    expect(removalLabel({ backup_id: "b", removed_at: null, next_prune: true })).toBe("removed at the next prune");
    expect(removalLabel({ backup_id: "b", removed_at: null, next_prune: false })).toBe("kept by the retention policy");
    expect(removalLabel({ backup_id: "b", removed_at: "2026-11-21T04:00:00.000Z", next_prune: false }, "Europe/Berlin")).toBe(
      "will be removed on Sat 21 Nov, 05:00 CET",
    );
  });
});
