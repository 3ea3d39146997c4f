// The Sources grid packs cards by height (issue 44: no holes): each card spans its height plus
// the gap in 1 px rows, so the next card in its column starts one gap below it.
import { describe, expect, it } from "vitest";
import { rowSpan } from "./useMasonry";

describe("masonry row spans", () => {
  it("a card spans its height plus the gap, rounded up, never less than one row", () => {
    expect(rowSpan(200, 1, 12)).toBe(212);
    expect(rowSpan(200.4, 1, 12)).toBe(213);
    expect(rowSpan(0, 1, 12)).toBe(12);
    expect(rowSpan(0, 20, 0)).toBe(1);
  });

  it("two short cards in one column take the height of one tall card beside them (no hole)", () => {
    const tall = rowSpan(412, 1, 12);
    expect(rowSpan(200, 1, 12) + rowSpan(200, 1, 12)).toBe(tall);
  });
});
