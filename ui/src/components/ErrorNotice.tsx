import type { ErrorPayload } from "../bindings";

/** A short title per error code: the UI branches on `code`, never on the message text. */
export function errorTitle(code: string): string {
  switch (code) {
    case "invalid_input":
      return "Check what you entered";
    case "not_found":
      return "Not found";
    case "already_exists":
      return "Already exists";
    case "connection":
      return "Cannot reach the server";
    case "auth":
      return "The server rejected the credentials";
    case "permission":
      return "Missing privileges";
    case "tool_missing":
      return "pg_dump is missing or too old";
    case "tool_failed":
      return "A PostgreSQL tool failed";
    case "integrity":
      return "The archive is damaged";
    case "unsupported_format":
      return "Not an archive Offsite can read";
    case "busy":
      return "Another job is running on this project";
    case "cancelled":
      return "Cancelled";
    case "disk_full":
      return "The disk is full";
    case "secrets":
      return "The keychain is unavailable";
    case "interrupted":
      return "The job was interrupted";
    case "conflict":
      return "The file is not what Offsite recorded";
    case "catalog":
    case "io":
      return "A local error occurred";
    default:
      return "Something went wrong";
  }
}

type Props = {
  error: ErrorPayload;
  testId?: string;
  /** Offered when the error is retryable. */
  onRetry?: () => void;
};

/** An error as title, message and hint; `data-code` carries the code for tests and styling. */
export function ErrorNotice({ error, testId = "error", onRetry }: Props) {
  const tone = error.code === "cancelled" ? "notice notice-neutral" : "notice notice-error";
  return (
    <div className={tone} role="alert" data-testid={testId} data-code={error.code}>
      <p className="notice-title" data-testid={`${testId}-title`}>
        {errorTitle(error.code)}
      </p>
      <p data-testid={`${testId}-message`}>{error.message}</p>
      {error.hint && (
        <p className="notice-hint" data-testid={`${testId}-hint`}>
          {error.hint}
        </p>
      )}
      {onRetry && error.retryable && (
        <button type="button" className="btn btn-small" onClick={onRetry} data-testid={`${testId}-retry`}>
          Try again
        </button>
      )}
    </div>
  );
}
