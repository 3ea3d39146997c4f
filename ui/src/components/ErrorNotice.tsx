import { useEffect, useRef } from "react";
import type { ErrorPayload } from "../bindings";
import { ACTION_LABELS, type ErrorActionKind, errorDisplay, errorTitle, type NoticeWords, toneClass } from "../ipc/errorDisplay";
import { Details } from "./Details";
import { type ErrorActionHandlers, useErrorActions } from "./errorActions";

export { errorTitle };

type Props = {
  error: ErrorPayload;
  testId?: string;
  /** Offered when the error is retryable. */
  onRetry?: () => void;
  /** This screen's ways out (over the app's, see ErrorActionsProvider). */
  actions?: ErrorActionHandlers;
  /** The app's own title and next step, in place of the code's title and the engine's hint. */
  words?: NoticeWords | null;
  /** Scrolled into view when it appears (an answer to a click that may be below the fold). */
  reveal?: boolean;
};

/** The buttons an error offers: its actions that have a handler ("retry" only when retryable). */
export function offeredActions(
  error: ErrorPayload,
  handlers: ErrorActionHandlers,
): { kind: ErrorActionKind; label: string; run: () => void }[] {
  const display = errorDisplay(error.code);
  // A retryable error may always be tried again where the screen can (after its own actions).
  const kinds: ErrorActionKind[] = display.actions.includes("retry") ? display.actions : [...display.actions, "retry"];
  return kinds.flatMap((kind) => {
    const run = handlers[kind];
    if (!run) return [];
    if (kind === "retry" && !(display.offerRetry && error.retryable)) return [];
    return [{ kind, label: ACTION_LABELS[kind], run }];
  });
}

/**
 * An error as title, message, hint (or the code's next step) and the buttons that take that step;
 * `data-code` carries the code for tests and styling.
 */
export function ErrorNotice({ error, testId = "error", onRetry, actions, words, reveal = false }: Props) {
  const display = errorDisplay(error.code);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (reveal) box.current?.scrollIntoView?.({ block: "nearest" });
  }, [reveal, error]);
  const app = useErrorActions();
  const handlers: ErrorActionHandlers = { ...app, ...(onRetry ? { retry: onRetry } : {}), ...actions };
  const offered = offeredActions(error, handlers);
  const tone = `notice ${toneClass(display.tone)}`;
  return (
    <div ref={box} className={tone} role="alert" data-testid={testId} data-code={error.code}>
      <p className="notice-title" data-testid={`${testId}-title`}>
        {words?.title ?? display.title}
      </p>
      {/* The engine's message follows a colon in its own output ("… was not added: the server
          refused"); shown alone it is a sentence, its first letter a capital (issue 44). */}
      <p className="sentence" data-testid={`${testId}-message`}>
        {error.message}
      </p>
      <p className="notice-hint sentence" data-testid={`${testId}-hint`}>
        {words ? words.next : (error.hint ?? display.next)}
      </p>
      {/* What the server or tool said ("password authentication failed …", "NoSuchBucket …
          (HTTP 404)"): behind Details, never in place of the sentence (issue 44). */}
      {error.detail && (
        <Details testId={`${testId}-detail`}>
          <p className="mono" style={{ overflowWrap: "anywhere" }}>
            {error.detail}
          </p>
        </Details>
      )}
      {offered.length > 0 && (
        <div className="notice-actions">
          {offered.map((a) => (
            <button
              key={a.kind}
              type="button"
              className="btn btn-small"
              onClick={a.run}
              data-testid={a.kind === "retry" ? `${testId}-retry` : `${testId}-action-${a.kind}`}
            >
              {a.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
