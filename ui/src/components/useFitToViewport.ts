// A panel whose body scrolls (the restore wizard) is no taller than the window below its top, so
// its footer of buttons is always in view without covering any of the content (issue 44,
// restore-11). Measured when shown, when the window or the page changes size and whenever `key`
// changes (a new step); without layout (tests) nothing is set.

import { type RefObject, useLayoutEffect } from "react";

/** The most a panel whose top is `top` px below the page's top may measure in a `view` px high window. */
export function fitHeight(top: number, view: number, below = 16, least = 320): number {
  return Math.max(least, Math.floor(view - top - below));
}

export function useFitToViewport(panel: RefObject<HTMLElement | null>, key: unknown): void {
  useLayoutEffect(() => {
    const el = panel.current;
    if (!el || !window.innerHeight) return;
    const fit = () => {
      const top = el.getBoundingClientRect().top + window.scrollY;
      if (!top && !el.getBoundingClientRect().height) return; // no layout
      el.style.maxHeight = `${fitHeight(top, window.innerHeight)}px`;
    };
    fit();
    window.addEventListener("resize", fit);
    // Something above it came or went (an update banner, a wrapped line of steps): the page
    // changed size. Fitting again gives the same height when nothing moved, so this settles.
    const page = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(fit);
    page?.observe(document.body);
    return () => {
      window.removeEventListener("resize", fit);
      page?.disconnect();
    };
  }, [panel, key]);
}
