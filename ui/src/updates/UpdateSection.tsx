import type { UpdateStatus } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatTime } from "../components/format";
import { useUpdateStatus } from "./useUpdateStatus";

type Props = {
  /** "Check for updates" as the settings form has it (saved with the other settings). */
  checked: boolean;
  onChange: (on: boolean) => void;
};

/** What the updater is doing, in words. */
export function describeUpdate(status: UpdateStatus): string {
  const s = status.state;
  switch (s.kind) {
    case "idle":
      return status.last_check ? `Last checked ${formatTime(status.last_check)}.` : "Not checked yet.";
    case "not_configured":
      return "This build of Offsite has no update channel (built from source): updates come with your package.";
    case "checking":
      return "Checking for updates…";
    case "up_to_date":
      return `Offsite ${status.current_version} is the newest version.`;
    case "available":
      return `Update ${s.version} is available.`;
    case "waiting_for_jobs":
      return `Update ${s.version} waits for the running jobs to end.`;
    case "installing":
      return `Installing update ${s.version}…`;
    case "failed":
      return s.version ? `Update ${s.version} could not be installed.` : "The last check failed.";
  }
}

/** Settings → Updates: the automatic check's switch, the updater's state and "Check now". */
export function UpdateSection({ checked, onChange }: Props) {
  const { status, error, busy, checkNow } = useUpdateStatus();
  const failed = status?.state.kind === "failed" ? status.state.error : null;
  return (
    <fieldset className="checks" data-testid="settings-updates">
      <legend>Updates</legend>
      <label>
        <input
          type="checkbox"
          checked={checked}
          onChange={(e) => onChange(e.target.checked)}
          data-testid="settings-check-updates"
        />
        Check for a new version of Offsite (at most once a day; never installed while a job runs)
      </label>
      {/* The state and "Check now" on one line (settings-14: two paragraphs left a wide gap). */}
      <div className="update-check" data-testid="update-check">
        <p className="muted small" role="status" data-testid="update-state">
          {status ? describeUpdate(status) : error ? "The update status is not available." : "…"}
        </p>
        <button
          type="button"
          className="btn btn-small"
          onClick={() => void checkNow()}
          disabled={busy || status === null || status.state.kind === "checking"}
          data-testid="update-check-now"
        >
          {busy ? "Checking…" : "Check now"}
        </button>
      </div>
      {failed && <ErrorNotice error={failed} testId="update-failed" />}
      {error && status && <ErrorNotice error={error} testId="update-error" />}
    </fieldset>
  );
}
