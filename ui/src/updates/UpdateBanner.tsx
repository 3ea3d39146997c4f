import type { ErrorKind } from "../bindings";
import { Details } from "../components/Details";
import { ErrorNotice } from "../components/ErrorNotice";
import { sentenceCase } from "../words";
import { useUpdateStatus } from "./useUpdateStatus";

/** Why an update was not installed, in the app's words (the engine's error code decides). */
export function refusalSentence(code: ErrorKind): string {
  switch (code) {
    case "integrity":
      return "The download did not carry Offsite's signature, so it was not installed and nothing changed. Try again later, or download Offsite from its website.";
    case "connection":
      return "The update server could not be reached, so nothing was installed. Offsite tries again tomorrow.";
    default:
      return "The update could not be installed; this version stays as it is. Try again later.";
  }
}

/**
 * The offer of a new version above every screen: "Update X.Y.Z available — Install and restart"
 * with its release notes; then "waits for the running jobs", "installing", or why the install failed.
 * Nothing otherwise (checks and their failures are shown in Settings → Updates).
 */
export function UpdateBanner() {
  const { status, error, busy, install } = useUpdateStatus();
  const state = status?.state;
  if (!state) return null;
  if (state.kind === "available") {
    return (
      <div className="notice notice-ok update-banner" role="status" data-testid="update-banner">
        <p>
          <strong data-testid="update-banner-title">Update {state.version} available</strong>{" "}
          <span className="muted small">(you have {status.current_version})</span>{" "}
          <button
            type="button"
            className="btn btn-small btn-primary"
            onClick={() => void install()}
            disabled={busy}
            data-testid="update-install"
          >
            Install and restart
          </button>
        </p>
        <p className="muted small">
          If a backup, verification or restore is running, the update waits until it has ended.
        </p>
        {state.notes && (
          <details data-testid="update-notes">
            <summary>Release notes</summary>
            <p className="update-notes">{state.notes}</p>
          </details>
        )}
        {error && <ErrorNotice error={error} testId="update-install-error" />}
      </div>
    );
  }
  if (state.kind === "waiting_for_jobs") {
    return (
      <div className="notice notice-warn update-banner" role="status" data-testid="update-banner">
        <p data-testid="update-banner-title">
          Update {state.version} will be installed when the running {state.running === 1 ? "job has" : "jobs have"}{" "}
          ended ({state.running} running); Offsite then restarts.
        </p>
      </div>
    );
  }
  if (state.kind === "failed" && state.version) {
    return (
      <div className="notice notice-error update-banner" role="alert" data-testid="update-banner">
        <p>
          <strong data-testid="update-banner-title">Update {state.version} could not be installed</strong>{" "}
          <button
            type="button"
            className="btn btn-small"
            onClick={() => void install()}
            disabled={busy}
            data-testid="update-install"
          >
            Try again
          </button>
        </p>
        {/* Not ErrorNotice: its titles speak of archives ("The archive is damaged"). A sentence in
            the app's words; the updater library's own text behind Details (issue 44). */}
        <div data-testid="update-install-failed" data-code={state.error.code}>
          <p data-testid="update-install-failed-message">{refusalSentence(state.error.code)}</p>
          <Details testId="update-install-failed-details">
            <p className="mono" data-testid="update-install-failed-raw">
              {state.error.message}
            </p>
            {state.error.hint && <p>{sentenceCase(state.error.hint)}.</p>}
          </Details>
        </div>
        {error && <ErrorNotice error={error} testId="update-install-error" />}
      </div>
    );
  }
  if (state.kind === "installing") {
    return (
      <div className="notice notice-ok update-banner" role="status" data-testid="update-banner">
        <p data-testid="update-banner-title">
          Installing update {state.version}… Offsite restarts when it is done.
        </p>
      </div>
    );
  }
  return null;
}
