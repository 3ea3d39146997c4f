// Deleting a backup: a confirmation dialog that names the file, lets the user keep the file and
// only forget it, and shows the engine's refusal (code `conflict`) when the file on disk is no
// longer this backup. Nothing happens until "Delete" is pressed.
import { useEffect, useRef, useState } from "react";
import { type BackupRow, commands, type DeleteOutcome, type ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { ScrollPanel } from "../components/PanelFooter";
import { formatBytes, formatTime } from "../components/format";
import { toErrorPayload } from "../ipc/errors";
import "../dropzone/dropzone.css";

export type Deleted = DeleteOutcome & { file_kept: boolean };

type Props = {
  backup: BackupRow;
  onClose: () => void;
  onDeleted: (outcome: Deleted) => void;
};

export function DeleteBackupDialog({ backup, onClose, onDeleted }: Props) {
  const [deleteFile, setDeleteFile] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const dialog = useRef<HTMLDivElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    // The safe choice has the focus.
    cancelRef.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        onClose();
      }
      if (e.key === "Tab" && dialog.current) {
        // Keep the focus inside the dialog.
        const items = [...dialog.current.querySelectorAll<HTMLElement>("input, button:not(:disabled)")];
        const first = items[0];
        const last = items[items.length - 1];
        if (!first || !last) return;
        if (e.shiftKey && document.activeElement === first) {
          e.preventDefault();
          last.focus();
        } else if (!e.shiftKey && document.activeElement === last) {
          e.preventDefault();
          first.focus();
        }
      }
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, [onClose]);

  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await commands.deleteBackup(backup.id, deleteFile);
      if (r.status === "ok") onDeleted({ ...r.data, file_kept: !deleteFile });
      else setError(toErrorPayload(r.error));
    } catch (e) {
      setError(toErrorPayload(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="dialog-backdrop">
      <ScrollPanel
        panelRef={dialog}
        className="panel dialog delete-dialog"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby="delete-title"
        aria-describedby="delete-what"
        testId="delete-dialog"
        footer={
          <div className="form-actions">
            <button
              type="button"
              className="btn btn-danger"
              onClick={() => void confirm()}
              disabled={busy}
              data-testid="delete-confirm"
            >
              {busy ? "Deleting…" : deleteFile ? "Delete backup and file" : "Remove from list"}
            </button>
            <button ref={cancelRef} type="button" className="btn" onClick={onClose} data-testid="delete-cancel">
              Cancel
            </button>
          </div>
        }
      >
        <h2 id="delete-title" className="dialog-title">
          Delete this backup?
        </h2>
        <p id="delete-what">
          The backup of {formatTime(backup.created_at)} ({formatBytes(backup.size)}):
        </p>
        <p className="mono small path" data-testid="delete-path">
          <bdi>{backup.path}</bdi>
        </p>
        <label className="check">
          <input
            type="checkbox"
            checked={deleteFile}
            onChange={(e) => setDeleteFile(e.target.checked)}
            data-testid="delete-file"
          />{" "}
          Also delete the file and its .sha256 from disk
        </label>
        <p className="muted small">
          {deleteFile
            ? "The file is deleted only if it still holds this backup; other files are never touched. This cannot be undone."
            : "Only the entry in Offsite's list is removed; the file stays where it is."}
        </p>
        {error && <ErrorNotice error={error} testId="delete-error" />}
      </ScrollPanel>
    </div>
  );
}
