// The point-in-time band (issue 64 item 3): one horizontal band per project, the restorable
// windows as spans and the backups as ticks, a handle that is dragged to a second or stepped by
// the keyboard (a slider: arrows ±1 s, Shift ±1 min, Page Up/Down ±1 h, Home/End the first and
// newest restorable second). A moment outside the windows stays where it was put, drawn refused;
// the parent says why (band.ts: refusal). The arithmetic is band.ts's; the plan is the engine's.
import { useEffect, useMemo, useRef } from "react";
import type { Window } from "../../bindings";
import { bandDomain, fractionOf, momentAfterKey, momentAt, momentWords, spanAt, spansOf } from "./band";
import { localSeconds } from "./time";
import "./band.css";

export type BandBackup = { id: string; created_at: string };

type Props = {
  windows: readonly Window[];
  /** The project's backups, drawn as ticks where they fall on the band. */
  backups: readonly BandBackup[];
  /** The chosen moment (ms, a whole second); null: none yet (the handle sits at the newest). */
  value: number | null;
  /**
   * A new moment: `settled` false while a pointer drags (the engine is asked nothing), true when
   * it is let go, a key is pressed or a tick chosen.
   */
  onChange: (ms: number, settled: boolean) => void;
  nowMs: number;
  /** Prefix of the test ids (`${testId}`, `${testId}-thumb`, …). */
  testId?: string;
};

const pct = (f: number) => `${(f * 100).toFixed(3)}%`;

export function Timeline({ windows, backups, value, onChange, nowMs, testId = "pitr-band" }: Props) {
  const spans = useMemo(() => spansOf(windows), [windows]);
  const domain = useMemo(() => bandDomain(spans, nowMs), [spans, nowMs]);
  const band = useRef<HTMLDivElement>(null);
  const thumb = useRef<HTMLSpanElement>(null);
  // The drag's window listeners, removed when it ends or the band goes.
  const stopDrag = useRef<(() => void) | null>(null);
  useEffect(() => () => stopDrag.current?.(), []);
  if (!domain) return null;
  const moment = value ?? spans[spans.length - 1]!.to;
  const refused = spanAt(moment, spans) === null;
  const at = (clientX: number) => {
    const r = band.current?.getBoundingClientRect();
    return momentAt(r ? clientX - r.left : 0, r?.width ?? 0, domain);
  };

  const onPointerDown = (e: React.PointerEvent) => {
    if (e.button !== 0) return;
    e.preventDefault();
    thumb.current?.focus();
    stopDrag.current?.();
    onChange(at(e.clientX), false);
    const move = (ev: PointerEvent) => onChange(at(ev.clientX), false);
    const up = (ev: PointerEvent) => {
      stop();
      onChange(at(ev.clientX), true);
    };
    const stop = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      window.removeEventListener("pointercancel", stop);
      stopDrag.current = null;
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
    window.addEventListener("pointercancel", stop);
    stopDrag.current = stop;
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    const next = momentAfterKey(e.key, e.shiftKey, moment, spans, domain);
    if (next === null) return;
    e.preventDefault();
    onChange(next, true);
  };

  const ticks = backups
    .map((b) => ({ b, ms: Date.parse(b.created_at) }))
    .filter(({ ms }) => Number.isFinite(ms) && ms >= domain.start && ms <= domain.end);

  return (
    <div className="pitr-band-wrap" data-testid={`${testId}-wrap`}>
      <div className="pitr-band" ref={band} onPointerDown={onPointerDown} data-testid={testId}>
        {spans.map((s) => (
          <span
            key={s.from}
            className="pitr-band-window"
            style={{ left: pct(fractionOf(s.from, domain)), width: pct(Math.max(0.004, fractionOf(s.to, domain) - fractionOf(s.from, domain))) }}
            title={`Can be restored from ${localSeconds(s.from)} to ${localSeconds(s.to)}`}
            data-testid={`${testId}-window`}
          />
        ))}
        {ticks.map(({ b, ms }) => (
          <span
            key={b.id}
            className="pitr-band-tick"
            style={{ left: pct(fractionOf(ms, domain)) }}
            title={`Backup of ${localSeconds(ms)}`}
            data-testid={`${testId}-tick`}
          />
        ))}
        <span
          ref={thumb}
          role="slider"
          tabIndex={0}
          aria-label="The moment to go back to"
          aria-valuemin={domain.start / 1000}
          aria-valuemax={domain.end / 1000}
          aria-valuenow={moment / 1000}
          aria-valuetext={momentWords(moment, spans)}
          className={`pitr-band-thumb${refused ? " pitr-band-thumb-refused" : ""}`}
          style={{ left: pct(fractionOf(moment, domain)) }}
          onKeyDown={onKeyDown}
          data-refused={refused ? "true" : "false"}
          data-testid={`${testId}-thumb`}
        />
      </div>
      <div className="pitr-band-ends muted small">
        <span>{localSeconds(domain.start)}</span>
        <span>now</span>
      </div>
    </div>
  );
}
