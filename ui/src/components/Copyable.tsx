// A long value (a path, a checksum) on one line, shortened in the middle, with a Copy button
// (issue 44: the backup side panel; then every raw path under a screen's title). The whole value
// stays in the text and the title; a backup's file (`backupId`) is a link that shows it in the
// file manager.
import { useState } from "react";
import { FileLink } from "./FileLink";
import { MiddleEllipsis } from "./MiddleEllipsis";
import "../project/tabs/tabs.css";

type Props = {
  /** A short label before the value ("File", "SHA-256"); none: the value alone. */
  label?: string;
  value: string;
  testId: string;
  backupId?: string;
  /** A file not in the backups list: a link that shows it in the file manager by its path. */
  reveal?: boolean;
  /** Where a value is cut: a path keeps its file name, a hash its last bytes. */
  kind?: "path" | "hash";
};

export function Copyable({ label, value, testId, backupId, reveal = false, kind = "hash" }: Props) {
  const [copied, setCopied] = useState(false);
  return (
    <div className={`copyable${label ? "" : " copyable-bare"}`}>
      {label && <span className="muted small">{label}</span>}
      {backupId || reveal ? (
        <span className="copyable-value">
          <FileLink path={value} {...(backupId ? { backupId } : {})} testId={testId} oneLine />
        </span>
      ) : (
        <code className="mono small copyable-value" data-testid={testId}>
          <MiddleEllipsis value={value} kind={kind} />
        </code>
      )}
      <button
        type="button"
        className="btn btn-quiet btn-small"
        onClick={() => {
          void navigator.clipboard?.writeText(value).then(
            () => setCopied(true),
            () => setCopied(false),
          );
        }}
        data-testid={`${testId}-copy`}
      >
        {copied ? "Copied" : "Copy"}
      </button>
    </div>
  );
}
