// A project's restorable window as `pitrStatus` lists it, for the screens that offer a point in time.
import type { Window } from "../bindings";

/** One window, 05:00 → 06:00 UTC on 2026-11-26 (times in µs, as the engine gives them). */
export function hourWindow(): Window {
  return {
    chain_id: "c1",
    from: Date.parse("2026-11-26T05:00:00Z") * 1000,
    to: Date.parse("2026-11-26T06:00:00Z") * 1000,
    from_text: "2026-11-26T05:00:00Z",
    to_text: "2026-11-26T06:00:00Z",
    broken_by: null,
    segments: 60,
  };
}
