import { describe, expect, it } from "vitest";
import { splitDates } from "./DatesWhole";

describe("dates stay whole", () => {
  it("marks days, times, ISO weeks and months, and nothing else", () => {
    expect(splitDates("kept: daily 2026-11-26, weekly 2026-W48, monthly 2026-11; removed on 2026-12-02 02:30")).toEqual([
      { text: "kept: daily ", date: false },
      { text: "2026-11-26", date: true },
      { text: ", weekly ", date: false },
      { text: "2026-W48", date: true },
      { text: ", monthly ", date: false },
      { text: "2026-11", date: true },
      { text: "; removed on ", date: false },
      { text: "2026-12-02 02:30", date: true },
    ]);
    expect(splitDates("no date here")).toEqual([{ text: "no date here", date: false }]);
  });
});
