// The review's confirmation, in the footer beside the button it unlocks (issue 64,
// screens-light-10: the button was grey with its type-the-name field below the fold). What else
// keeps the button disabled is said on the line above it.
import { needsConsent, readyPlan, restoreDisabledReasons, type WizardState } from "../steps";
import type { StepProps } from "./types";

/** The typed database name, beside the button (nothing when the target is empty). */
export function ConsentField({ state, dispatch }: StepProps) {
  const plan = readyPlan(state);
  if (!plan || !needsConsent(state)) return null;
  return (
    <span className="wizard-consent-inline">
      <label htmlFor="wizard-consent" data-testid="wizard-consent-label">
        To replace <strong className="mono">{plan.target_database}</strong>, type its name
      </label>
      <input
        id="wizard-consent"
        type="text"
        className="mono"
        autoComplete="off"
        spellCheck={false}
        value={state.consent}
        onChange={(e) => dispatch({ type: "typeConsent", text: e.target.value })}
        data-testid="wizard-consent"
      />
    </span>
  );
}

/** Why the button is disabled, other than the name not typed yet (the field beside it says that). */
export function OtherReasons({ state }: { state: WizardState }) {
  const plan = readyPlan(state);
  const reasons = restoreDisabledReasons(state).filter((r) => !(plan && needsConsent(state) && r.includes(`“${plan.target_database}”`)));
  if (reasons.length === 0) return null;
  return (
    <p className="muted small wizard-reasons" data-testid="wizard-restore-reasons">
      {reasons[0]}
    </p>
  );
}
