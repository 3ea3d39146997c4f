// Cards of different heights in a grid without holes (issue 44: the Sources tab). A CSS grid row
// is as tall as its tallest card, so a short card beside a tall one leaves a hole below it; CSS
// masonry is not in WebKitGTK, and CSS columns stacked every card in one column there. So the grid
// has 1 px rows and each card spans as many as it is tall (plus the gap), measured again whenever
// a card changes size (a form opens, a test result arrives). Without ResizeObserver (tests) the
// grid stays an ordinary one.
import { useEffect, type RefObject } from "react";

/** The rows a card of `height` px spans in a grid of `row` px rows with `gap` px between cards. */
export function rowSpan(height: number, row: number, gap: number): number {
  return Math.max(1, Math.ceil((height + gap) / row));
}

export function useMasonry(grid: RefObject<HTMLElement | null>, gap = 12): void {
  useEffect(() => {
    const el = grid.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    el.classList.add("masonry");
    const place = (card: HTMLElement) => {
      card.style.gridRowEnd = `span ${rowSpan(card.getBoundingClientRect().height, 1, gap)}`;
    };
    const cards = new ResizeObserver((entries) => {
      for (const e of entries) place(e.target as HTMLElement);
    });
    const watch = () => {
      cards.disconnect();
      for (const c of Array.from(el.children)) cards.observe(c);
    };
    watch();
    // Cards that come and go (a section shown once its data is there).
    const children = new MutationObserver(watch);
    children.observe(el, { childList: true });
    return () => {
      cards.disconnect();
      children.disconnect();
      el.classList.remove("masonry");
      for (const c of Array.from(el.children)) (c as HTMLElement).style.gridRowEnd = "";
    };
  }, [grid, gap]);
}
