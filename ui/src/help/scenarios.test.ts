import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { SCENARIOS } from "./scenarios";

// The Help screen's scenarios are the runbook's (docs/recovery.md) in the app's words: one each,
// so a scenario added to or removed from the page without the app (or the other way) fails here.
const DOC_HEADING_OF: Record<string, string> = {
  rows: "A table or rows deleted",
  migration: "A bad migration",
  server: "The database server lost",
  ransomware: "Ransomware on the server",
  laptop: "The laptop lost or stolen",
  supabase: "A Supabase project deleted",
};

describe("Help scenarios", () => {
  it("are the runbook's scenarios, one each (and the app's own 'suspicious backup')", () => {
    const doc = readFileSync(resolve(process.cwd(), "../docs/recovery.md"), "utf8");
    const headings = doc
      .split("\n")
      .filter((l) => l.startsWith("## "))
      .map((l) => l.slice(3).trim())
      .filter((h) => h !== "What must be at hand");
    const fromApp = SCENARIOS.filter((s) => s.id !== "suspicious").map((s) => DOC_HEADING_OF[s.id]);
    expect(fromApp.sort()).toEqual([...headings].sort());
    expect(SCENARIOS.map((s) => s.id)).toContain("suspicious");
  });
});
