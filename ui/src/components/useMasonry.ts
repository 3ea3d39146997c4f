// Cards of different heights in a grid without holes (issue 44: the Sources tab). A CSS grid row
// is as tall as its tallest card, so a short card beside a tall one leaves a hole below it; CSS
// masonry is not in WebKitGTK, and CSS columns stacked every card in one column there. So the grid
// has 1 px rows and every card gets its place explicitly: the top row reads in order (first card
// left), every later card goes to the column that leaves the columns most even (its order kept
// within the column), each card one gap below the card above it. A card that spans the grid (an
// open form) comes first, across all columns. Placed again whenever a card changes size (a form
// opens, a test result arrives) or the window its width. Without ResizeObserver (tests) the grid
// stays an ordinary one.
import { type RefObject, useEffect } from "react";

/** The rows a card of `height` px spans in a grid of `row` px rows with `gap` px between cards. */
export function rowSpan(height: number, row: number, gap: number): number {
  return Math.max(1, Math.ceil((height + gap) / row));
}

/**
 * The column of each card of `spans` (rows) in `columns` columns. The first `columns` cards take
 * one column each, in order; the others go where the tallest column is the shortest it can be
 * (ties: the earlier column for the earlier card). Cards keep their order within a column.
 */
export function assignColumns(spans: number[], columns: number): number[] {
  const n = spans.length;
  if (columns <= 1 || n === 0) return spans.map(() => 0);
  const head = spans.slice(0, columns).map((_, i) => i);
  const rest = n - head.length;
  if (rest <= 0) return head;
  // Few cards (a handful): every assignment of the rest is tried; many: each to the shortest column.
  if (rest > 10) {
    const heights = new Array<number>(columns).fill(0);
    return spans.map((s, i) => {
      const c = i < columns ? i : heights.indexOf(Math.min(...heights));
      heights[c]! += s;
      return c;
    });
  }
  let best: number[] = [];
  let bestMax = Infinity;
  const total = columns ** rest;
  for (let k = 0; k < total; k++) {
    const pick: number[] = [];
    for (let i = 0, v = k; i < rest; i++, v = Math.floor(v / columns)) pick.unshift(v % columns);
    const heights = new Array<number>(columns).fill(0);
    const all = [...head, ...pick];
    all.forEach((c, i) => (heights[c]! += spans[i]!));
    const max = Math.max(...heights);
    if (max < bestMax) {
      bestMax = max;
      best = all;
    }
  }
  return best;
}

export type Place = { column: number | "all"; row: number; span: number };

/** Where each card goes: the wide ones first across the grid, then the others in `columns`. */
export function placeCards(cards: { height: number; wide: boolean }[], columns: number, gap: number): Place[] {
  const out: Place[] = new Array(cards.length);
  let top = 1; // grid lines are 1-based
  cards.forEach((c, i) => {
    if (!c.wide && columns > 1) return;
    const span = rowSpan(c.height, 1, gap);
    out[i] = { column: columns > 1 ? "all" : 0, row: top, span };
    top += span;
  });
  if (columns <= 1) return out;
  const narrow = cards.map((c, i) => ({ ...c, i })).filter((c) => !c.wide);
  const spans = narrow.map((c) => rowSpan(c.height, 1, gap));
  const cols = assignColumns(spans, columns);
  const next = new Array<number>(columns).fill(top);
  narrow.forEach((c, k) => {
    const col = cols[k]!;
    out[c.i] = { column: col, row: next[col]!, span: spans[k]! };
    next[col]! += spans[k]!;
  });
  return out;
}

/** The grid's columns as laid out (its computed template lists one size per track). */
function columnCount(grid: HTMLElement): number {
  const t = getComputedStyle(grid).gridTemplateColumns.trim();
  if (!t || t === "none") return 1;
  return t.split(/\s+/).length;
}

export function useMasonry(grid: RefObject<HTMLElement | null>, gap = 12, isWide: (card: Element) => boolean = () => false): void {
  useEffect(() => {
    const el = grid.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    el.classList.add("masonry");
    const layout = () => {
      const cards = Array.from(el.children) as HTMLElement[];
      // The columns the grid has of itself: a card placed in column 2 would keep an implicit
      // second column alive in a window narrowed to one.
      for (const c of cards) c.style.gridColumn = "";
      const columns = columnCount(el);
      const places = placeCards(
        cards.map((c) => ({ height: c.getBoundingClientRect().height, wide: isWide(c) })),
        columns,
        gap,
      );
      cards.forEach((c, i) => {
        const p = places[i]!;
        const column = p.column === "all" ? "1 / -1" : `${p.column + 1}`;
        const row = `${p.row} / span ${p.span}`;
        c.style.gridColumn = column;
        if (c.style.gridRow !== row) c.style.gridRow = row;
      });
    };
    // Placed at once, before the page is painted (a card's place never changes its size, so this
    // does not observe itself in a loop).
    const sizes = new ResizeObserver(layout);
    const watch = () => {
      sizes.disconnect();
      for (const c of Array.from(el.children)) sizes.observe(c);
      layout();
    };
    watch();
    // The number of columns follows the window's width (the grid's own height is its cards').
    window.addEventListener("resize", layout);
    // Cards that come and go (a section shown once its data is there), and forms that open.
    const changes = new MutationObserver(watch);
    changes.observe(el, { childList: true });
    return () => {
      window.removeEventListener("resize", layout);
      sizes.disconnect();
      changes.disconnect();
      el.classList.remove("masonry");
      for (const c of Array.from(el.children) as HTMLElement[]) {
        c.style.gridColumn = "";
        c.style.gridRow = "";
      }
    };
  }, [grid, gap, isWide]);
}
