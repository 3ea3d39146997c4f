import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { Window } from "../../bindings";
import { Timeline } from "./Timeline";
import { localSeconds } from "./time";

// Issue 64 item 3: the band is a slider one can drag to a second and step by keys, with the
// windows as spans and the backups as ticks.
const ms = (iso: string) => Date.parse(iso);
const win = (from: string, to: string, broken_by: string | null = null): Window => ({
  chain_id: from,
  from: ms(from) * 1000,
  to: ms(to) * 1000,
  from_text: from,
  to_text: to,
  broken_by,
  segments: 2,
});
// 10:00:00 to 10:30:00, a break, 10:35:00 to 11:00:00; now 11:00:00. The band then runs from
// 09:57:36 to 11:00:36 (3,780 s): on a 630 px band, one pixel is 6 s.
const WINDOWS = [win("2026-11-26T10:00:00Z", "2026-11-26T10:30:00Z", "a table’s columns changed"), win("2026-11-26T10:35:00Z", "2026-11-26T11:00:00Z")];
const NOW = ms("2026-11-26T11:00:00Z");
const START = ms("2026-11-26T09:57:36Z");
const BACKUPS = [
  { id: "b-old", created_at: "2026-11-20T02:00:00Z" },
  { id: "b-base", created_at: "2026-11-26T10:00:00Z" },
  { id: "b-new", created_at: "2026-11-26T10:35:00Z" },
];

// jsdom has no PointerEvent: a MouseEvent with a pointer id is what the band reads (button, clientX).
beforeAll(() => {
  if (typeof window.PointerEvent === "undefined") {
    class PointerEventShim extends MouseEvent {
      pointerId: number;
      constructor(type: string, init: PointerEventInit = {}) {
        super(type, init);
        this.pointerId = init.pointerId ?? 0;
      }
    }
    (window as unknown as { PointerEvent: unknown }).PointerEvent = PointerEventShim;
  }
});

/** The band as a parent holds it: the moment in state, every change recorded. */
function Harness({ onChange, initial = null }: { onChange: (ms: number, settled: boolean) => void; initial?: number | null }) {
  const [value, setValue] = useState<number | null>(initial);
  return (
    <Timeline
      windows={WINDOWS}
      backups={BACKUPS}
      value={value}
      nowMs={NOW}
      onChange={(m, settled) => {
        setValue(m);
        onChange(m, settled);
      }}
    />
  );
}

/** The band drawn 630 px wide from x = 100 (jsdom lays nothing out). */
function layOut() {
  const band = screen.getByTestId("pitr-band");
  band.getBoundingClientRect = () => ({ left: 100, right: 730, width: 630, top: 0, bottom: 28, height: 28, x: 100, y: 0, toJSON: () => ({}) });
  return band;
}

describe("the point-in-time band", () => {
  it("draws the windows as spans, the backups on it as ticks, and the handle at the newest second", () => {
    render(<Harness onChange={vi.fn()} />);
    const spans = screen.getAllByTestId("pitr-band-window");
    expect(spans).toHaveLength(2);
    // 10:00:00 is 144 s into 3,780 s.
    expect(parseFloat(spans[0]!.style.left)).toBeCloseTo((144 / 3780) * 100, 3);
    expect(spans[0]!.title).toBe(`Can be restored from ${localSeconds(ms("2026-11-26T10:00:00Z"))} to ${localSeconds(ms("2026-11-26T10:30:00Z"))}`);
    // The backup from days before is not on this band; the two on it are.
    const ticks = screen.getAllByTestId("pitr-band-tick");
    expect(ticks.map((t) => t.title)).toEqual([`Backup of ${localSeconds(ms("2026-11-26T10:00:00Z"))}`, `Backup of ${localSeconds(ms("2026-11-26T10:35:00Z"))}`]);
    const thumb = screen.getByRole("slider");
    expect(thumb).toHaveAttribute("aria-valuenow", String(NOW / 1000));
    expect(thumb).toHaveAttribute("aria-valuemin", String(START / 1000));
    expect(thumb).toHaveAttribute("aria-valuetext", `${localSeconds(NOW)}, can be restored`);
    expect(thumb).toHaveAttribute("tabIndex", "0");
  });

  it("steps by keys: ±1 s, Shift ±1 min, Page Up/Down ±1 h, Home/End; each a settled moment", () => {
    const changes: [number, boolean][] = [];
    render(<Harness onChange={(m, s) => changes.push([m, s])} />);
    const thumb = screen.getByRole("slider");
    fireEvent.keyDown(thumb, { key: "ArrowLeft" });
    expect(changes.at(-1)).toEqual([NOW - 1000, true]);
    fireEvent.keyDown(thumb, { key: "ArrowLeft", shiftKey: true });
    expect(changes.at(-1)).toEqual([NOW - 61_000, true]);
    fireEvent.keyDown(thumb, { key: "ArrowRight" });
    expect(changes.at(-1)).toEqual([NOW - 60_000, true]);
    fireEvent.keyDown(thumb, { key: "Home" });
    expect(changes.at(-1)).toEqual([ms("2026-11-26T10:00:00Z"), true]);
    fireEvent.keyDown(thumb, { key: "PageUp" });
    expect(changes.at(-1)).toEqual([ms("2026-11-26T11:00:00Z"), true]);
    fireEvent.keyDown(thumb, { key: "PageDown" });
    expect(changes.at(-1)).toEqual([ms("2026-11-26T10:00:00Z"), true]);
    fireEvent.keyDown(thumb, { key: "End" });
    expect(changes.at(-1)).toEqual([NOW, true]);
    expect(thumb).toHaveAttribute("aria-valuenow", String(NOW / 1000));
    // Other keys are the page's (Tab, Enter): not taken.
    const n = changes.length;
    fireEvent.keyDown(thumb, { key: "Enter" });
    expect(changes).toHaveLength(n);
  });

  it("a moment stepped into the break stays there, drawn refused and said so in words", () => {
    render(<Harness onChange={vi.fn()} initial={ms("2026-11-26T10:30:00Z")} />);
    const thumb = screen.getByRole("slider");
    expect(thumb).toHaveAttribute("data-refused", "false");
    fireEvent.keyDown(thumb, { key: "ArrowRight" });
    expect(thumb).toHaveAttribute("aria-valuenow", String(ms("2026-11-26T10:30:01Z") / 1000));
    expect(thumb).toHaveAttribute("data-refused", "true");
    expect(thumb).toHaveClass("pitr-band-thumb-refused");
    expect(thumb).toHaveAttribute("aria-valuetext", `${localSeconds(ms("2026-11-26T10:30:01Z"))}, cannot be restored`);
  });

  it("drags to the second under the pointer: moving is not settled, letting go is", () => {
    const changes: [number, boolean][] = [];
    render(<Harness onChange={(m, s) => changes.push([m, s])} />);
    const band = layOut();
    // x = 100 + 24 px → 144 s after the band's start: 10:00:00.
    fireEvent.pointerDown(band, { button: 0, clientX: 124, pointerId: 1 });
    expect(changes.at(-1)).toEqual([ms("2026-11-26T10:00:00Z"), false]);
    expect(screen.getByRole("slider")).toHaveFocus();
    fireEvent.pointerMove(window, { clientX: 424, pointerId: 1 });
    // 324 px → 1,944 s: 10:30:00.
    expect(changes.at(-1)).toEqual([ms("2026-11-26T10:30:00Z"), false]);
    fireEvent.pointerUp(window, { clientX: 424.5, pointerId: 1 });
    // Half a pixel more: 3 s more, still a whole second.
    expect(changes.at(-1)).toEqual([ms("2026-11-26T10:30:03Z"), true]);
    expect(screen.getByRole("slider")).toHaveAttribute("data-refused", "true");
    // Let go: moving the pointer does nothing more.
    const n = changes.length;
    fireEvent.pointerMove(window, { clientX: 200, pointerId: 1 });
    expect(changes).toHaveLength(n);
  });

  it("dragged past its ends the moment stays on the band (refused there, not moved into a window)", () => {
    const changes: [number, boolean][] = [];
    render(<Harness onChange={(m, s) => changes.push([m, s])} />);
    const band = layOut();
    fireEvent.pointerDown(band, { button: 0, clientX: 110, pointerId: 1 });
    fireEvent.pointerUp(window, { clientX: 40, pointerId: 1 });
    expect(changes.at(-1)).toEqual([START, true]);
    expect(screen.getByRole("slider")).toHaveAttribute("aria-valuetext", `${localSeconds(START)}, cannot be restored`);
    // A right button does not move it.
    const n = changes.length;
    fireEvent.pointerDown(band, { button: 2, clientX: 400, pointerId: 1 });
    expect(changes).toHaveLength(n);
  });

  it("draws nothing without windows", () => {
    const { container } = render(<Timeline windows={[]} backups={BACKUPS} value={null} nowMs={NOW} onChange={vi.fn()} />);
    expect(container).toBeEmptyDOMElement();
  });
});
