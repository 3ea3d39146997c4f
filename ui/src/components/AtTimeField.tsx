// "A point in time…" in a select of backups, and the local date and time field it opens: the
// project's restorable windows beside it (the engine refuses a time outside them, naming the
// nearest). Used by the diff and drill screens.
import type { Window } from "../bindings";
import { localFieldToUtc, localSeconds, TIME_FORMAT_HINT, toLocalField, windowEndMs, windowStartMs } from "../wizard/pitr/time";

/** The select's value for "A point in time…". */
export const AT_TIME = "@time";

/** The field's first value: the newest restorable second (local time); "" without windows. */
export function newestRestorable(windows: readonly Window[]): string {
  return windows.length > 0 ? toLocalField(windowEndMs(Math.max(...windows.map((w) => w.to)))) : "";
}

type Props = {
  label: string;
  value: string;
  onChange: (value: string) => void;
  windows: readonly Window[];
  /** The field's test id; its windows' line is `${testId}-windows`. */
  testId: string;
  className?: string;
};

export function AtTimeField({ label, value, onChange, windows, testId, className }: Props) {
  return (
    <label className={className}>
      <span>{label}</span>{" "}
      {/* The app's one date format, typed (issue 64 item 3: a datetime-local field showed the
          system's own, "11/28/2026, 12:30:34", beside the app's ISO dates). */}
      <input
        type="text"
        inputMode="numeric"
        spellCheck={false}
        autoComplete="off"
        placeholder={TIME_FORMAT_HINT}
        className="mono at-time"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={value.trim() !== "" && localFieldToUtc(value) === null}
        data-testid={testId}
        aria-describedby={`${testId}-windows`}
      />{" "}
      <span id={`${testId}-windows`} className="small muted" data-testid={`${testId}-windows`}>
        restorable {windows.map((w) => `${localSeconds(windowStartMs(w.from, w.to))} to ${localSeconds(windowEndMs(w.to))}`).join("; ")}
      </span>
    </label>
  );
}
