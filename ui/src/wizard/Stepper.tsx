// The wizards' one stepper (issue 64 item 3: the point-in-time restore had none): numbered steps,
// the current one marked, those before it done.

type Props<S extends string> = {
  steps: readonly S[];
  titles: Record<S, string>;
  current: S;
  /** The list's test id; each step's is `${testId prefix}-step-${step}` (`wizard` → `wizard-step-source`). */
  prefix: string;
};

export function Stepper<S extends string>({ steps, titles, current, prefix }: Props<S>) {
  const at = steps.indexOf(current);
  return (
    <ol className="wizard-steps" aria-label="Steps" data-testid={`${prefix}-steps`}>
      {steps.map((st, i) => (
        <li
          key={st}
          className={`wizard-step${st === current ? " wizard-step-current" : ""}${i < at ? " wizard-step-done" : ""}`}
          aria-current={st === current ? "step" : undefined}
          data-testid={`${prefix}-step-${st}`}
        >
          <span className="wizard-step-num">{i + 1}</span> {titles[st]}
        </li>
      ))}
    </ol>
  );
}
