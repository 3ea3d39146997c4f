import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { VirtualList, windowRange } from "./VirtualList";

const items = Array.from({ length: 10_000 }, (_, i) => ({ id: `b${i}`, label: `Backup ${i}` }));

function Harness({ onActivate }: { onActivate?: (i: number) => void }) {
  const [selected, setSelected] = useState<number | null>(null);
  return (
    <VirtualList
      items={items}
      rowHeight={30}
      height={300}
      overscan={5}
      getKey={(b) => b.id}
      renderRow={(b) => <span>{b.label}</span>}
      selected={selected}
      onSelect={setSelected}
      {...(onActivate ? { onActivate } : {})}
      label="backups"
    />
  );
}

describe("VirtualList", () => {
  it("computes the window around the scroll position", () => {
    expect(windowRange(0, 0, 300, 30, 5)).toEqual([0, 0]);
    expect(windowRange(10_000, 0, 300, 30, 5)).toEqual([0, 16]);
    expect(windowRange(10_000, 3000, 300, 30, 5)).toEqual([95, 116]);
    expect(windowRange(10_000, 299_700, 300, 30, 5)).toEqual([9985, 10_000]);
  });

  it("renders only a window of 10,000 rows, and moves it on scroll", async () => {
    render(<Harness />);
    const rows = screen.getAllByTestId("virtual-list-row");
    expect(rows.length).toBeLessThan(30);
    expect(rows[0]).toHaveTextContent("Backup 0");
    expect(screen.queryByText("Backup 500")).not.toBeInTheDocument();

    // The spacer keeps the full height, so the scrollbar is right.
    const viewport = screen.getByTestId("virtual-list-viewport");
    expect((viewport.firstElementChild as HTMLElement).style.height).toBe("300000px");

    viewport.scrollTop = 500 * 30;
    fireEvent.scroll(viewport);
    expect(await screen.findByText("Backup 500")).toBeInTheDocument();
    expect(screen.queryByText("Backup 0")).not.toBeInTheDocument();
    expect(screen.getAllByTestId("virtual-list-row").length).toBeLessThan(30);
  });

  it("is keyboard usable: arrows, End and Enter", () => {
    const activated: number[] = [];
    render(<Harness onActivate={(i) => activated.push(i)} />);
    const viewport = screen.getByTestId("virtual-list-viewport");
    viewport.focus();
    fireEvent.keyDown(viewport, { key: "ArrowDown" });
    fireEvent.keyDown(viewport, { key: "ArrowDown" });
    expect(viewport).toHaveAttribute("aria-activedescendant", "virtual-list-row-1");
    fireEvent.keyDown(viewport, { key: "End" });
    expect(viewport).toHaveAttribute("aria-activedescendant", "virtual-list-row-9999");
    // The selected last row was scrolled into view and rendered.
    expect(screen.getByText("Backup 9999")).toBeInTheDocument();
    expect(screen.getByText("Backup 9999").closest("[role=option]")).toHaveAttribute("aria-selected", "true");
    fireEvent.keyDown(viewport, { key: "Enter" });
    expect(activated).toEqual([9999]);
  });
});
