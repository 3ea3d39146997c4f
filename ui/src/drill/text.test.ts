import { describe, expect, it } from "vitest";
import { checkCounts, provenLine, rtoLabel, type DrillGlance } from "./text";

const NOW = Date.parse("2026-11-24T12:00:00Z");
const daysAgo = (n: number) => new Date(NOW - n * 86400_000).toISOString();
const drill = (over: Partial<DrillGlance>): DrillGlance => ({
  finished_at: daysAgo(3),
  verdict: "passed",
  rto_seconds: 240,
  failed_check: null,
  ...over,
});

describe("the project card's drill line", () => {
  it("says proven restorable with when and the RTO", () => {
    const d = drill({});
    expect(provenLine(d, d, NOW)).toEqual({ state: "proven", text: "Proven restorable 3 days ago · restored in 4 min" });
  });

  it("names the failed check of the newest drill, and when it was last proven", () => {
    const failed = drill({ verdict: "failed", finished_at: daysAgo(2), failed_check: "Table public.orders" });
    expect(provenLine(failed, null, NOW)).toEqual({
      state: "failed",
      text: "Last drill failed 2 days ago: Table public.orders",
    });
    expect(provenLine(failed, drill({ finished_at: daysAgo(20) }), NOW).text).toBe(
      "Last drill failed 2 days ago: Table public.orders · last proven 20 days ago",
    );
  });

  it("says never proven without a drill", () => {
    expect(provenLine(null, null, NOW)).toEqual({ state: "never", text: "Never proven" });
  });

  it("reads the RTO as a person would", () => {
    expect(rtoLabel(42.4)).toBe("restored in 42 s");
    expect(rtoLabel(0.2)).toBe("restored in under 1 s");
    expect(rtoLabel(0)).toBe("restored in under 1 s");
    expect(rtoLabel(240)).toBe("restored in 4 min");
    expect(rtoLabel(3900)).toBe("restored in 1 h 5 min");
    expect(rtoLabel(7200)).toBe("restored in 2 h");
    expect(rtoLabel(null)).toBe("restore time unknown");
  });

  it("counts checks by status in a fixed order", () => {
    expect(checkCounts(["passed", "not_comparable", "passed", "failed"])).toBe("2 passed · 1 failed · 1 not comparable");
  });
});
