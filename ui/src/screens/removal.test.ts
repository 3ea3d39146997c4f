import { describe, expect, it } from "vitest";
import type { RemovalForecast } from "../bindings";
import { removalLabel } from "./ProjectPage";

const f = (over: Partial<RemovalForecast>): RemovalForecast => ({ backup_id: "b", removed_at: null, next_prune: false, kept_by: [], kept_because: "", reasons: [], ...over });

describe("a backup's expected removal", () => {
  it("says next prune, why it is kept (the engine's reasons), the day it will be removed (local time, zone named), or nothing while unknown", () => {
    expect(removalLabel(undefined)).toBe("");
    expect(removalLabel(f({ next_prune: true }))).toBe("removed at the next prune");
    expect(removalLabel(f({}))).toBe("kept by the retention policy");
    expect(removalLabel(f({ kept_by: ["newest", "daily"], kept_because: "newest · daily", reasons: ["daily 2026-11-20", "newest verified"] }))).toBe(
      "kept: daily 2026-11-20, newest verified",
    );
    expect(removalLabel(f({ removed_at: "2026-11-21T04:00:00.000Z", reasons: ["last 2"] }), "Europe/Berlin")).toBe(
      "kept: last 2; will be removed on 2026-11-21 05:00",
    );
  });
});
