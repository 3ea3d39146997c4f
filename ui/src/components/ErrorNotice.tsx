import type { ErrorPayload } from "../bindings";
import { errorDisplay, errorTitle, toneClass } from "../ipc/errorDisplay";

export { errorTitle };

type Props = {
  error: ErrorPayload;
  testId?: string;
  /** Offered when the error is retryable. */
  onRetry?: () => void;
};

/** An error as title, message and hint; `data-code` carries the code for tests and styling. */
export function ErrorNotice({ error, testId = "error", onRetry }: Props) {
  const display = errorDisplay(error.code);
  const tone = `notice ${toneClass(display.tone)}`;
  return (
    <div className={tone} role="alert" data-testid={testId} data-code={error.code}>
      <p className="notice-title" data-testid={`${testId}-title`}>
        {display.title}
      </p>
      <p data-testid={`${testId}-message`}>{error.message}</p>
      {error.hint && (
        <p className="notice-hint" data-testid={`${testId}-hint`}>
          {error.hint}
        </p>
      )}
      {onRetry && display.offerRetry && error.retryable && (
        <button type="button" className="btn btn-small" onClick={onRetry} data-testid={`${testId}-retry`}>
          Try again
        </button>
      )}
    </div>
  );
}
