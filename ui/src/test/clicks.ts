import { fireEvent } from "@testing-library/react";

const click = fireEvent.click;

/**
 * A click on a disabled control does nothing, silently: a test that clicks before the screen has
 * enabled it (an answer not yet rendered on a slow machine) goes on as if it had clicked, and
 * fails later, far from the cause (the DiffScreen flake, docs/development.md). From
 * `setup.ts` on, such a click fails at once, naming the control; a test that means it (to prove
 * a disabled button does nothing) says so with [`clickDisabled`].
 */
export function refuseClicksOnDisabledControls(): void {
  fireEvent.click = (element, init) => {
    if ((element instanceof HTMLButtonElement || element instanceof HTMLInputElement) && element.disabled) {
      throw new Error(`clicked a disabled control (use clickDisabled if that is the point): ${element.outerHTML.slice(0, 200)}`);
    }
    return click(element, init);
  };
}

/** A click on a control the test has just seen disabled, to prove it does nothing. */
export function clickDisabled(element: HTMLButtonElement | HTMLInputElement | HTMLElement): void {
  if (!(element as HTMLButtonElement).disabled) throw new Error("clickDisabled: the control is enabled");
  click(element);
}
