// Schedules run only while Offsite runs. Wherever a schedule is saved or shown while Offsite does
// not start at login (the Schedules tab, the home screen), this says so with the one-click turn-on
// (issue 44: Settings said "Start Offsite when I log in" off while the checklist said ✓ Scheduled).
// "Not now" hides it for the rest of the session, everywhere.
import { useEffect, useState } from "react";
import { commands } from "../bindings";
import { call } from "../ipc/call";

let notNow = false;

/** For tests: forget a "Not now" and what was read. */
export function resetAutostartOffer(): void {
  notNow = false;
  known = "unknown";
}

export const AUTOSTART_WORDS =
  "Schedules run only while Offsite runs (the window may be closed: it stays in the tray). It does not start when you log in, so after a restart nothing runs until you open it.";

type Props = {
  /** Whether a schedule is on (nothing to say otherwise). */
  active: boolean;
  /** `<testId>-offer`, `-on`, `-later`, `-done`, `-failed`. */
  testId: string;
};

type AutostartState = "unknown" | "off" | "on" | "turned-on" | "failed" | "later";

// One answer for every place that shows it (the Schedules tab's offer and the checklist's note on
// one screen never disagree): read once, changed by a turn-on anywhere.
let known: AutostartState = "unknown";
const listeners = new Set<(s: AutostartState) => void>();
function publish(s: AutostartState) {
  known = s;
  for (const l of listeners) l(s);
}

/** Settings saved "Start Offsite when I log in": every offer and note follows. */
export function autostartChanged(on: boolean): void {
  publish(on ? "on" : "off");
}

/** Whether Offsite starts at login (read once `active`), and the one-click turn-on. */
function useAutostart(active: boolean): { state: AutostartState; turnOn: () => Promise<void>; later: () => void } {
  const [state, setState] = useState<AutostartState>(known);
  useEffect(() => {
    listeners.add(setState);
    return () => {
      listeners.delete(setState);
    };
  }, []);
  useEffect(() => {
    if (!active || state !== "unknown") return;
    void call(commands.getAutostart()).then((a) => {
      if (known === "unknown") publish(a.ok && !a.data ? "off" : "on");
    });
  }, [active, state]);
  const turnOn = async () => {
    const a = await call(commands.setAutostart(true));
    publish(a.ok && a.data ? "turned-on" : "failed");
  };
  const later = () => {
    notNow = true;
    setState("later");
  };
  return { state, turnOn, later };
}

/**
 * The same, inline: after the checklist's "✓ Scheduled" on the project page, so it does not say
 * Scheduled unqualified while nothing runs after a restart.
 */
export function AutostartNote({ active, testId }: Props) {
  const { state, turnOn } = useAutostart(active);
  if (state === "turned-on")
    return (
      <span className="small" data-testid={`${testId}-done`}>
        {" "}
        · Offsite will start at login.
      </span>
    );
  if (!active || state !== "off") return null;
  return (
    <span className="small autostart-note" data-testid={`${testId}-offer`}>
      {" "}
      · Runs only while Offsite runs; it does not start at login.{" "}
      <button type="button" className="btn btn-small" onClick={() => void turnOn()} data-testid={`${testId}-on`}>
        Start at login
      </button>
    </span>
  );
}

export function AutostartOffer({ active, testId }: Props) {
  const { state, turnOn, later } = useAutostart(active);

  if (state === "turned-on")
    return (
      <p className="notice notice-ok small" role="status" data-testid={`${testId}-done`}>
        Offsite will start at login, minimised to the tray.
      </p>
    );
  if (state === "failed")
    return (
      <p className="notice notice-warn small" data-testid={`${testId}-failed`}>
        Starting at login could not be turned on here; add Offsite to your desktop's startup applications.
      </p>
    );
  if (!active || state !== "off" || notNow) return null;
  return (
    <div className="notice notice-neutral small" data-testid={`${testId}-offer`}>
      <p>{AUTOSTART_WORDS}</p>
      {/* The answers on a line of their own, together (not one after the text, one below it). */}
      <div className="notice-actions notice-actions-row">
        <button type="button" className="btn btn-small" onClick={() => void turnOn()} data-testid={`${testId}-on`}>
          Start at login
        </button>
        <button
          type="button"
          className="btn btn-quiet btn-small"
          onClick={later}
          data-testid={`${testId}-later`}
        >
          Not now
        </button>
      </div>
    </div>
  );
}
