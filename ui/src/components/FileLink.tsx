// A backup file's path as a link that shows the file in the system's file manager: by the
// backup's id (`show_in_folder`) when the file is in the list, else by its path (`reveal_file`:
// the engine refuses any file that is not one of Offsite's backups or safety backups). The path
// stays whole and selectable; a failure is said under it.
import { Fragment, useState } from "react";
import { commands, type ErrorPayload } from "../bindings";
import { toErrorPayload } from "../ipc/errors";
import { MiddleEllipsis } from "./MiddleEllipsis";
import "../project/tabs/timeline-origin.css";

type Props = {
  path: string;
  /** The backup's id, when the file is a backup in the list. */
  backupId?: string;
  testId: string;
  className?: string;
  /** One line, shortened in the middle (the file name kept), instead of wrapping between folders. */
  oneLine?: boolean;
};

export function FileLink({ path, backupId, testId, className, oneLine = false }: Props) {
  const [error, setError] = useState<ErrorPayload | null>(null);
  const reveal = async () => {
    setError(null);
    try {
      const r = backupId ? await commands.showInFolder(backupId) : await commands.revealFile(path);
      if (r.status === "error") setError(toErrorPayload(r.error));
    } catch (e) {
      setError(toErrorPayload(e));
    }
  };
  return (
    <>
      <button
        type="button"
        className={`file-link mono small${className ? ` ${className}` : ""}`}
        // Shortened on one line, the whole path is in the title (issue 44).
        title={oneLine ? `${path}\nShow in the file manager` : "Show in the file manager"}
        onClick={() => void reveal()}
        data-testid={testId}
      >
        {oneLine ? <MiddleEllipsis value={path} kind="path" /> : breakable(path)}
      </button>
      {error && (
        <span className="small notice-text-error" role="alert" data-testid={`${testId}-error`}>
          {" "}
          Could not show it: {error.message}
        </span>
      )}
    </>
  );
}

/** The path with a line-break opportunity after each folder separator (`<wbr>`, no text): a
 *  narrow column wraps it between folders, not inside their names. */
export function breakable(path: string) {
  const parts = path.split(/(?<=[/\\])/);
  return parts.map((p, i) => (
    <Fragment key={i}>
      {p}
      {i < parts.length - 1 && <wbr />}
    </Fragment>
  ));
}
