import { describe, expect, it } from "vitest";
import { removalLabel } from "./ProjectPage";

describe("a backup's expected removal", () => {
  it("says next prune, until a date, kept, or nothing while unknown", () => {
    expect(removalLabel(undefined)).toBe("");
    expect(removalLabel({ backup_id: "b", removed_at: null, next_prune: true })).toBe("goes at next prune");
    expect(removalLabel({ backup_id: "b", removed_at: null, next_prune: false })).toBe("kept");
    expect(removalLabel({ backup_id: "b", removed_at: "2026-11-21T04:00:00.000Z", next_prune: false })).toMatch(
      /^until ~2026-11-2\d/,
    );
  });
});
