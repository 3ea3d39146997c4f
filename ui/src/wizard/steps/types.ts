// What every step component gets from the wizard container.
import type { Action, WizardState } from "../steps";

export type StepProps = { state: WizardState; dispatch: (a: Action) => void };
