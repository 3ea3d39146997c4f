// Deleting a backup: a confirmation dialog that names the file, lets the user keep the file and
// only forget it, or delete its copies at every destination too. It goes through the same engine
// path as `offsite delete [--everywhere]` and shows the engine's refusal (code `conflict`) as it
// comes: the only good copy of the newest good backup, a file that is no longer this backup. A
// copy still locked at its destination is kept (the others go) and the notice names it with its
// date. Nothing happens until "Delete" is pressed.
import { useEffect, useRef, useState } from "react";
import { type BackupRow, commands, type DeleteBackupOutcome, type ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { ScrollPanel } from "../components/PanelFooter";
import { formatBytes, formatTime } from "../components/format";
import { toErrorPayload } from "../ipc/errors";
import "../dropzone/dropzone.css";

export type Deleted = DeleteBackupOutcome & { file_kept: boolean };

type Props = {
  backup: BackupRow;
  onClose: () => void;
  onDeleted: (outcome: Deleted) => void;
};

export function DeleteBackupDialog({ backup, onClose, onDeleted }: Props) {
  const [deleteFile, setDeleteFile] = useState(true);
  const [everywhere, setEverywhere] = useState(false);
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
      const r = await commands.deleteBackup(backup.id, deleteFile, deleteFile && everywhere);
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
              {busy
                ? "Deleting…"
                : !deleteFile
                  ? "Remove from list"
                  : everywhere
                    ? "Delete backup, file and copies"
                    : "Delete backup and file"}
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
        {deleteFile && (
          <label className="check">
            <input
              type="checkbox"
              checked={everywhere}
              onChange={(e) => setEverywhere(e.target.checked)}
              data-testid="delete-everywhere"
            />{" "}
            Also delete its copies at every destination
          </label>
        )}
        <p className="muted small" data-testid="delete-explained">
          {deleteFile && everywhere
            ? "The file here and every copy at your destinations are deleted. A copy that is still locked at its destination is kept until its date, and the backup stays listed with it. This cannot be undone."
            : deleteFile
              ? "The file is deleted only if it still holds this backup; other files are never touched. This cannot be undone."
              : "Only the entry in Offsite's list is removed; the file stays where it is."}
        </p>
        {error && <ErrorNotice error={error} testId="delete-error" />}
      </ScrollPanel>
    </div>
  );
}

/** What a deletion did, in one sentence for the project's notice line. */
export function deletedWords(o: Deleted): string {
  const copies = o.copies_deleted.map((c) => c.destination);
  const first = o.file_deleted
    ? `Deleted ${o.path}`
    : o.file_kept
      ? `Removed ${o.path} from the list; the file was kept`
      : o.removed_from_catalog
        ? `Removed ${o.path} from the list; the file was already gone`
        : `${o.path} was already gone`;
  const also = copies.length > 0 ? ` and its ${copies.length === 1 ? "copy" : "copies"} at ${copies.join(", ")}` : "";
  const locked = (o.copies_locked ?? []).map((c) => ` Its copy at ${c.destination} is kept: ${c.note}.`).join("");
  const kept =
    locked !== ""
      ? locked
      : o.copies_kept.length > 0
        ? ` Its ${o.copies_kept.length === 1 ? "copy stays" : "copies stay"} at ${o.copies_kept.join(", ")}.`
        : "";
  const listed = o.file_deleted && o.removed_from_catalog ? " and removed it from the list." : ".";
  return `${first}${also}${listed}${kept}`;
}
