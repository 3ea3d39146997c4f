// One duration format across the window (issue 44 item 8): the job panel, the drill report and
// Activity all say how long something took through formatDuration, whose vectors are the engine's
// (crates/core/src/units.rs, durations_read_the_same_everywhere).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { restoreTime, rtoLabel } from "../drill/text";
import { formatDuration } from "./format";

/** The engine's vectors, read from where they are written. */
function engineVectors(): [number, string][] {
  const source = readFileSync(resolve(process.cwd(), "../crates/core/src/units.rs"), "utf8");
  const from = source.indexOf("fn durations_read_the_same_everywhere");
  const block = source.slice(from, source.indexOf("#[test]", from));
  return [...block.matchAll(/\(([\d.]+), "([^"]+)"\)/g)].map((m) => [Number(m[1]), m[2]!]);
}

const VECTORS: [number, string][] = [
  [0, "under 1 s"],
  [0.4, "under 1 s"],
  [59, "59 s"],
  [61, "1 min 1 s"],
  [3600, "1 h"],
];

describe("one duration format", () => {
  it("says 0, 0.4, 59, 61 and 3600 seconds one way", () => {
    for (const [s, text] of VECTORS) expect(formatDuration(s), String(s)).toBe(text);
    expect(formatDuration(-1)).toBe("—");
    expect(formatDuration(undefined)).toBe("—");
  });

  it("agrees with the engine's words (notifications, command line)", () => {
    const vectors = engineVectors();
    expect(vectors.length).toBeGreaterThanOrEqual(5);
    for (const [s, text] of vectors) expect(formatDuration(s), String(s)).toBe(text);
  });

  it("is what the drill report says about a restore's time", () => {
    for (const [s, text] of VECTORS) {
      expect(restoreTime(s)).toBe(text);
      expect(rtoLabel(s)).toBe(`restored in ${text}`);
    }
  });

  it("is the only duration helper of the job panel, drill report, Activity and restore report", () => {
    const files = [
      "components/JobPanel.tsx",
      "components/JobHistory.tsx",
      "drill/DrillReportView.tsx",
      "drill/DrillList.tsx",
      "wizard/steps/ReportStep.tsx",
      "wizard/steps/RunStep.tsx",
      "project/RemoteJob.tsx",
    ];
    for (const f of files) {
      const src = readFileSync(resolve(process.cwd(), "src", f), "utf8");
      // TimeStat: the job panel's time left or time run, through formatDuration (JobPanel.tsx).
      expect(/formatDuration|restoreTime|rtoLabel|TimeStat/.test(src), f).toBe(true);
      // No hand-made "12s", "3m 05s", "under a second" beside the helper.
      expect(src, f).not.toMatch(/\}s`|\}m `|\d+m \d+s|under a second|less than a second/);
    }
  });
});
