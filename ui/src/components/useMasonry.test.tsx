// The Sources grid packs cards by height (issue 44: no holes). Each card spans its height plus the
// gap in 1 px rows and gets its column and row explicitly: the top row in order, the rest where
// the columns end most even, a card with an open form first across the grid.
import { render } from "@testing-library/react";
import { useRef } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { assignColumns, placeCards, rowSpan, useMasonry } from "./useMasonry";

describe("masonry row spans", () => {
  it("a card spans its height plus the gap, rounded up, never less than one row", () => {
    expect(rowSpan(200, 1, 12)).toBe(212);
    expect(rowSpan(200.4, 1, 12)).toBe(213);
    expect(rowSpan(0, 1, 12)).toBe(12);
    expect(rowSpan(0, 20, 0)).toBe(1);
  });
});

describe("columns", () => {
  it("the first cards take one column each, in order", () => {
    expect(assignColumns([100, 500], 2)).toEqual([0, 1]);
    expect(assignColumns([100, 500, 50], 1)).toEqual([0, 0, 0]);
  });

  it("a tall last card goes where it leaves the columns most even (recover-tenants-05: a 310 px hole beside Tenants)", () => {
    // Database, Storage, Artifact bucket, Backup server, Tenants (heights + gap).
    const spans = [480, 330, 140, 140, 310];
    const cols = assignColumns(spans, 2);
    const heights = [0, 0];
    cols.forEach((c, i) => (heights[c]! += spans[i]!));
    // Filled one card at a time into the shorter column, Tenants ended 310 px below the other
    // column (L 620, R 780 + ...); the best split leaves 120 px.
    expect(Math.abs(heights[0]! - heights[1]!)).toBeLessThanOrEqual(120);
    expect(cols.slice(0, 2)).toEqual([0, 1]);
  });

  it("an open form's card comes first across the grid; the others start one gap below it, each one gap below the card above", () => {
    const places = placeCards(
      [
        { height: 300, wide: false },
        { height: 200, wide: false },
        { height: 400, wide: true },
        { height: 100, wide: false },
      ],
      2,
      12,
    );
    expect(places[2]).toEqual({ column: "all", row: 1, span: 412 });
    expect(places[0]).toEqual({ column: 0, row: 413, span: 312 });
    expect(places[1]).toEqual({ column: 1, row: 413, span: 212 });
    // The short one goes under the shorter column, right below it.
    expect(places[3]).toEqual({ column: 1, row: 413 + 212, span: 112 });
  });

  it("one column: everything in order", () => {
    const places = placeCards(
      [
        { height: 10, wide: false },
        { height: 20, wide: true },
      ],
      1,
      12,
    );
    expect(places.map((p) => p.column)).toEqual([0, 0]);
  });
});

describe("useMasonry places the cards", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("sets each card's column and rows from its measured height", () => {
    vi.stubGlobal(
      "ResizeObserver",
      class {
        observe() {}
        disconnect() {}
      },
    );
    vi.stubGlobal("requestAnimationFrame", undefined);
    const heights: Record<string, number> = { a: 300, b: 100, c: 50 };
    function Grid() {
      const ref = useRef<HTMLDivElement>(null);
      useMasonry(ref, 12);
      return (
        <div ref={ref} data-testid="grid" style={{ gridTemplateColumns: "500px 500px" }}>
          {Object.keys(heights).map((k) => (
            <div
              key={k}
              data-testid={k}
              ref={(el) => {
                if (el) el.getBoundingClientRect = () => ({ height: heights[k]! }) as DOMRect;
              }}
            />
          ))}
        </div>
      );
    }
    const { getByTestId } = render(<Grid />);
    expect(getByTestId("grid")).toHaveClass("masonry");
    expect(getByTestId("a").style.gridColumn).toBe("1");
    expect(getByTestId("b").style.gridColumn).toBe("2");
    expect(getByTestId("c").style.gridColumn).toBe("2"); // under the shorter column
    expect(getByTestId("c").style.gridRow).toBe("113 / span 62");
  });
});
