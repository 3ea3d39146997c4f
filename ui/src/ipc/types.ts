// Shapes crossing the IPC boundary.
// Hand-written for the bootstrap only: these will be generated from Rust (tauri-specta) and this
// file replaced by the generated bindings; keep them in sync with src-tauri/commands/ until then.

/** `app_info` → src-tauri/commands/mod.rs `AppInfo`. */
export interface AppInfo {
  name: string;
  version: string;
  engine: string;
  dataDir: string;
}

/** Every command error → offsite_core::ErrorPayload. Switch on `code`, never on `message`. */
export interface ErrorPayload {
  code: string;
  message: string;
  hint: string | null;
  retryable: boolean;
}

export function isErrorPayload(value: unknown): value is ErrorPayload {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { message?: unknown }).message === "string"
  );
}

/** Normalises whatever a rejected `invoke` produced into an [`ErrorPayload`]. */
export function toErrorPayload(error: unknown): ErrorPayload {
  if (isErrorPayload(error)) return error;
  return { code: "internal", message: String(error), hint: null, retryable: false };
}
