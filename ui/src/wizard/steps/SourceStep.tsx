// Step 1: choose the backup to restore, one of the project's (newest first) or an archive's path.
import { useState } from "react";
import { type BackupRow, commands, type ErrorPayload } from "../../bindings";
import { ErrorNotice } from "../../components/ErrorNotice";
import { formatBytes } from "../../components/format";
import { Copyable } from "../../components/Copyable";
import { backupNames } from "../../components/names";
import { STATUS_LABEL } from "../../project/tabs/BackupTimeline";
import { toErrorPayload } from "../../ipc/errors";
import type { StepProps } from "./types";
import { FetchCopyPanel } from "../../protection/FetchCopyPanel";

/** How many of the project's backups the first step lists (newest first). */
export const BACKUPS_SHOWN = 50;

export function SourceStep({
  state,
  dispatch,
  backups,
  loadError,
  provenBackupId = null,
}: StepProps & {
  backups: BackupRow[] | null;
  loadError: ErrorPayload | null;
  /** The backup the project's newest passing drill restored (marked "Proven by a drill"). */
  provenBackupId?: string | null;
}) {
  const chosen = state.source;
  const shown = backups?.slice(0, BACKUPS_SHOWN) ?? [];
  const names = backupNames(shown);
  const [pickError, setPickError] = useState<ErrorPayload | null>(null);
  // The chosen backup's local file is gone: it may be fetched from one of its copies.
  const chosenMissing =
    chosen?.kind === "backup" && backups?.find((b) => b.id === chosen.backupId)?.status === "missing";
  return (
    <fieldset className="wizard-choices">
      <legend className="muted small">The backup to restore</legend>
      {backups === null && !loadError && <p className="muted">Loading backups…</p>}
      {loadError && <ErrorNotice error={loadError} testId="wizard-backups-error" />}
      {backups !== null && backups.length === 0 && (
        <p className="muted" data-testid="wizard-no-backups">
          This project has no backups yet. Give the path of an archive below.
        </p>
      )}
      {shown.map((b) => (
        <label key={b.id} className="wizard-choice" data-testid="wizard-backup-option" data-backup-id={b.id}>
          <input
            type="radio"
            name="source"
            checked={chosen?.kind === "backup" && chosen.backupId === b.id}
            onChange={() => dispatch({ type: "chooseBackup", backupId: b.id, path: b.path })}
            data-testid="wizard-backup-radio"
          />
          <span className="wizard-backup-text">
            <strong data-testid="wizard-backup-name">{names.get(b.id)}</strong> · {formatBytes(b.size)} ·{" "}
            <span className={`status status-${b.status}`}>{STATUS_LABEL[b.status]}</span>
            {b.id === provenBackupId && (
              <>
                {" "}
                · <span className="status status-verified" data-testid="wizard-backup-proven">Proven by a drill</span>
              </>
            )}
            <span className="small muted wizard-backup-path">
              <Copyable value={b.path} kind="path" testId="wizard-backup-path" />
            </span>
          </span>
        </label>
      ))}
      {chosenMissing && chosen?.kind === "backup" && (
        <FetchCopyPanel key={chosen.backupId} project={state.project} backupId={chosen.backupId} />
      )}
      {backups !== null && backups.length > BACKUPS_SHOWN && (
        <p className="muted small">
          The newest {BACKUPS_SHOWN} of {backups.length} backups are listed; give an older one's path below.
        </p>
      )}
      <label className="wizard-choice">
        <input
          type="radio"
          name="source"
          checked={chosen?.kind === "path" || (chosen === null && state.pathInput !== "")}
          onChange={() => dispatch({ type: "typePath", path: state.pathInput })}
          data-testid="wizard-source-path"
        />
        <span>An archive file on this computer</span>
      </label>
      <div className="field wizard-indent">
        <label htmlFor="wizard-path">Path of the archive</label>
        <input
          id="wizard-path"
          type="text"
          className="mono"
          spellCheck={false}
          placeholder="/home/you/backups/shop_20261121_120000_database.tar.zst"
          value={state.pathInput}
          onChange={(e) => dispatch({ type: "typePath", path: e.target.value })}
          data-testid="wizard-path-input"
        />
        <div className="wizard-path-row">
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              setPickError(null);
              commands.pickPath("import_file", "Choose a backup to restore").then(
                (r) => {
                  if (r.status === "error") setPickError(toErrorPayload(r.error));
                  else if (r.data) dispatch({ type: "typePath", path: r.data });
                },
                (e: unknown) => setPickError(toErrorPayload(e)),
              );
            }}
            data-testid="wizard-path-choose"
          >
            Choose file…
          </button>
          <p className="field-help" data-testid="wizard-path-note">
            Or type or paste its path, or drop it on the window.
          </p>
        </div>
        {pickError && <ErrorNotice error={pickError} testId="wizard-path-error" />}
      </div>
    </fieldset>
  );
}
