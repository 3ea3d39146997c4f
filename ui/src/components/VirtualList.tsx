// A fixed-row-height windowed list: only the rows in view (plus a few above and below) are in the
// DOM, so 10,000 rows scroll as smoothly as 10. Keyboard: the list is one tab stop; arrows, Page
// Up/Down, Home and End move the selection (aria-activedescendant), Enter activates the row.
import { type KeyboardEvent, type ReactNode, useCallback, useEffect, useRef, useState } from "react";

type Props<T> = {
  items: readonly T[];
  rowHeight: number;
  /** Height of the viewport in pixels. */
  height: number;
  /** Extra rows rendered above and below the visible ones. */
  overscan?: number;
  getKey: (item: T, index: number) => string;
  renderRow: (item: T, index: number, selected: boolean) => ReactNode;
  selected?: number | null;
  onSelect?: (index: number) => void;
  onActivate?: (index: number) => void;
  label: string;
  testId?: string;
  header?: ReactNode;
  /** Rows that cannot be selected (headings): the keys skip them, a click does nothing. */
  selectable?: (item: T) => boolean;
  /** A row's test id (default `${testId}-row`). */
  rowTestId?: (item: T) => string;
};

/** The first and last index (exclusive) to render for a scroll position. */
export function windowRange(
  count: number,
  scrollTop: number,
  height: number,
  rowHeight: number,
  overscan: number,
): [number, number] {
  if (count === 0) return [0, 0];
  const first = Math.floor(scrollTop / rowHeight);
  const visible = Math.ceil(height / rowHeight) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + visible + overscan);
  return [start, end];
}

export function VirtualList<T>({
  items,
  rowHeight,
  height,
  overscan = 6,
  getKey,
  renderRow,
  selected = null,
  onSelect,
  onActivate,
  label,
  testId = "virtual-list",
  header,
  selectable,
  rowTestId,
}: Props<T>) {
  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const frame = useRef<number | null>(null);

  const onScroll = useCallback(() => {
    if (frame.current !== null) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = null;
      if (viewport.current) setScrollTop(viewport.current.scrollTop);
    });
  }, []);

  useEffect(
    () => () => {
      if (frame.current !== null) cancelAnimationFrame(frame.current);
    },
    [],
  );

  const scrollIntoView = (index: number) => {
    const el = viewport.current;
    if (!el) return;
    const top = index * rowHeight;
    let next = el.scrollTop;
    if (top < el.scrollTop) next = top;
    else if (top + rowHeight > el.scrollTop + height) next = top + rowHeight - height;
    if (next !== el.scrollTop) {
      el.scrollTop = next;
      setScrollTop(next);
    }
  };

  /** `index`, or the nearest selectable row from it in `step`'s direction (then the other). */
  const selectableNear = (index: number, step: 1 | -1): number | null => {
    if (!selectable) return index;
    for (const dir of [step, -step]) {
      for (let i = index; i >= 0 && i < items.length; i += dir) if (selectable(items[i] as T)) return i;
    }
    return null;
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (items.length === 0) return;
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    const current = selected ?? -1;
    let next: number | null = null;
    switch (e.key) {
      case "ArrowDown":
        next = Math.min(items.length - 1, current + 1);
        break;
      case "ArrowUp":
        next = Math.max(0, current - 1);
        break;
      case "PageDown":
        next = Math.min(items.length - 1, current + page);
        break;
      case "PageUp":
        next = Math.max(0, current - page);
        break;
      case "Home":
        next = 0;
        break;
      case "End":
        next = items.length - 1;
        break;
      case "Enter":
        if (selected !== null) onActivate?.(selected);
        e.preventDefault();
        return;
      default:
        return;
    }
    e.preventDefault();
    next = selectableNear(next, next >= current ? 1 : -1);
    if (next === null) return;
    onSelect?.(next);
    scrollIntoView(next);
  };

  const [start, end] = windowRange(items.length, scrollTop, height, rowHeight, overscan);
  const rows: ReactNode[] = [];
  for (let i = start; i < end; i++) {
    const item = items[i] as T;
    const isSelected = i === selected;
    const canSelect = !selectable || selectable(item);
    rows.push(
      <div
        key={getKey(item, i)}
        id={`${testId}-row-${i}`}
        role={canSelect ? "option" : "presentation"}
        {...(canSelect ? { "aria-selected": isSelected } : {})}
        aria-posinset={i + 1}
        aria-setsize={items.length}
        className={`vrow${isSelected ? " vrow-selected" : ""}${i % 2 ? " vrow-odd" : ""}`}
        style={{ position: "absolute", top: i * rowHeight, height: rowHeight, left: 0, right: 0 }}
        onClick={() => canSelect && onSelect?.(i)}
        onDoubleClick={() => canSelect && onActivate?.(i)}
        data-testid={rowTestId ? rowTestId(item) : `${testId}-row`}
        data-index={i}
      >
        {renderRow(item, i, isSelected)}
      </div>,
    );
  }

  return (
    <div className="vlist" data-testid={testId}>
      {header}
      <div
        ref={viewport}
        className="vlist-viewport"
        style={{ height, overflowY: "auto", position: "relative" }}
        onScroll={onScroll}
        onKeyDown={onKeyDown}
        tabIndex={0}
        role="listbox"
        aria-label={label}
        {...(selected !== null ? { "aria-activedescendant": `${testId}-row-${selected}` } : {})}
        data-testid={`${testId}-viewport`}
      >
        <div style={{ height: items.length * rowHeight, position: "relative" }}>{rows}</div>
      </div>
    </div>
  );
}
