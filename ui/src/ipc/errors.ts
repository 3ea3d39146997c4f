// Error handling around the generated bindings (../bindings.ts, from Rust by tauri-specta).
// Every command error is an offsite_core::ErrorPayload; switch on `code`, never on `message`.
import type { ErrorPayload } from "../bindings";

export function isErrorPayload(value: unknown): value is ErrorPayload {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { message?: unknown }).message === "string"
  );
}

/**
 * Normalises an error into an `ErrorPayload`. Commands reject with one, but Tauri itself
 * rejects with a plain string (unknown command, bad arguments, denied by a capability), and the
 * bindings rethrow JavaScript `Error`s.
 */
export function toErrorPayload(error: unknown): ErrorPayload {
  if (isErrorPayload(error)) {
    return {
      code: error.code,
      message: error.message,
      hint: error.hint ?? null,
      retryable: error.retryable === true,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: "internal", message, hint: null, retryable: false };
}
