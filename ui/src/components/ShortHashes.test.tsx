import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { localSeconds } from "../wizard/pitr/time";
import { readableText, ReportText } from "./ShortHashes";

// Issue 64 item 3 (pitr-05): the drill report's point-in-time check read as ids, RFC 3339 times
// with microseconds and a log position.
const FOUND =
  "pitrshop as at 2026-11-28T12:30:34.000000Z: base c39820ee-144f-4804-981c-a7c1d1daa1a7 (taken 2026-11-28T12:30:32.231895Z) + 1 transaction(s) replayed up to the commit at 2026-11-28T12:30:32.921657Z (LSN 0/2DDDAA0)";

describe("an engine sentence in a report", () => {
  it("says times in the app's format and leaves ids and log positions out", () => {
    const t = readableText(FOUND);
    expect(t).toBe(
      `pitrshop as at ${localSeconds("2026-11-28T12:30:34Z")}: base (taken ${localSeconds("2026-11-28T12:30:32Z")}) + 1 transaction(s) replayed up to the commit at ${localSeconds("2026-11-28T12:30:32.921Z")}`,
    );
    expect(t).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}|LSN|\d\.\d{3}|T\d\d:|Z\b/);
  });

  it("writes the engine's readable UTC time (words::readable_utc) in the app's one format too", () => {
    expect(readableText("shop as it was at 2026-11-28 06:31:23 UTC")).toBe(`shop as it was at ${localSeconds("2026-11-28T06:31:23Z")}`);
  });

  it("shortens generated role names; leaves other text alone", () => {
    expect(readableText("restored and read as offsite_drill_4399f26133344073a4944222114c243a8 (the drill's own role)")).toBe(
      "restored and read as offsite_drill_4399f2… (the drill's own role)",
    );
    expect(readableText("dropped afterwards: offsite_drill_atf0e91cd0ec6041cda4bcb5a5ee091eae")).toBe("dropped afterwards: offsite_drill_atf0e91c…");
    expect(readableText("restored; 1 of 1 tables hold the recorded row counts")).toBe("restored; 1 of 1 tables hold the recorded row counts");
  });

  it("keeps the engine's whole text in the title", () => {
    render(<ReportText text={FOUND} />);
    const el = screen.getByTitle(FOUND);
    expect(el.textContent).not.toContain("c39820ee");
  });
});
