// "A point in time…" in a select of backups, and the local date and time field it opens: the
// project's restorable windows beside it (the engine refuses a time outside them, naming the
// nearest). Used by the diff and drill screens.
import type { Window } from "../bindings";
import { localSeconds, toLocalField } from "../wizard/pitr/time";

/** The select's value for "A point in time…". */
export const AT_TIME = "@time";

/** The field's first value: the newest restorable second (local time); "" without windows. */
export function newestRestorable(windows: readonly Window[]): string {
  return windows.length > 0 ? toLocalField(Math.floor(Math.max(...windows.map((w) => w.to)) / 1000)) : "";
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
      <input
        type="datetime-local"
        step={1}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        data-testid={testId}
        aria-describedby={`${testId}-windows`}
      />{" "}
      <span id={`${testId}-windows`} className="small muted" data-testid={`${testId}-windows`}>
        restorable {windows.map((w) => `${localSeconds(w.from_text)} → ${localSeconds(w.to_text)}`).join("; ")}
      </span>
    </label>
  );
}
