// "Back up now" as one split button: the main part makes the project's default type (the engine
// picks it, as a schedule does); the arrow opens the choice of type (what backupTypes.ts offers;
// a type the project cannot make is disabled and says why). The only place the type is chosen.
import { useEffect, useRef, useState } from "react";
import type { BackupType, Components } from "../../bindings";
import { BACKUP_TYPES, typeUnavailable } from "../backupTypes";
import "./tabs.css";
import { BACKING_UP_WHY } from "../../dashboard/Checklist";

type Props = {
  components: Components | null;
  /** The project's default type (what the main part makes). */
  defaultType: BackupType;
  busy: boolean;
  /** `null`: the project's default type; `note`: kept with the backup (none: `null`). */
  onBackUp: (type: BackupType | null, note?: string | null) => void;
};

const SHORT: Record<BackupType, string> = {
  database: "database",
  full: "everything",
  storage: "storage",
  config: "configuration",
  incremental: "incremental storage",
};

export function BackUpButton({ components, defaultType, busy, onBackUp }: Props) {
  const [open, setOpen] = useState(false);
  // "With a note…": the menu becomes a one-line note and a Back up button (the default type).
  const [note, setNote] = useState<string | null>(null);
  const menu = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector<HTMLButtonElement>("button:not(:disabled)")?.focus();
    const close = (e: MouseEvent) => {
      if (!menu.current?.parentElement?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open]);

  const pick = (type: BackupType) => {
    setOpen(false);
    onBackUp(type);
  };
  const withNote = () => {
    const text = (note ?? "").trim();
    setOpen(false);
    setNote(null);
    onBackUp(null, text === "" ? null : text);
  };

  return (
    <div className="split-button" data-testid="backup-split">
      <button
        type="button"
        className="btn btn-primary split-main"
        onClick={() => onBackUp(null)}
        disabled={busy}
        // Why it waits, when it does (issue 64 item 6: actions that cannot run now say why).
        title={busy ? BACKING_UP_WHY : `Back up now: ${SHORT[defaultType]} (the project's default type)`}
        data-testid="backup-now"
        data-type={defaultType}
      >
        {busy ? "Backing up…" : "Back up now"}
      </button>
      <button
        type="button"
        className="btn btn-primary split-arrow"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label="Choose what to back up"
        disabled={busy}
        title={busy ? BACKING_UP_WHY : undefined}
        onClick={() => setOpen((o) => !o)}
        data-testid="backup-type-toggle"
      >
        ▾
      </button>
      {open && (
        <div
          ref={menu}
          className="split-menu"
          role="menu"
          aria-label="Type of backup"
          data-testid="backup-type-menu"
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              e.stopPropagation();
              setOpen(false);
            }
          }}
        >
          {BACKUP_TYPES.map(({ type, label }) => {
            const why = typeUnavailable(components, type);
            return (
              <button
                key={type}
                type="button"
                role="menuitem"
                className="split-item"
                disabled={why !== null}
                title={why ?? undefined}
                onClick={() => pick(type)}
                data-testid={`backup-type-${type}`}
                data-default={type === defaultType}
              >
                {label}
                {type === defaultType ? <span className="muted small"> · default</span> : null}
              </button>
            );
          })}
          {note === null ? (
            <button type="button" role="menuitem" className="split-item" onClick={() => setNote("")} data-testid="backup-with-note">
              With a note…
            </button>
          ) : (
            <form
              className="split-item"
              onSubmit={(e) => {
                e.preventDefault();
                withNote();
              }}
            >
              <input
                type="text"
                aria-label="Note kept with the backup"
                placeholder="Why this backup (e.g. before the migration)"
                maxLength={500}
                value={note}
                onChange={(e) => setNote(e.target.value)}
                autoFocus
                data-testid="backup-note-input"
              />{" "}
              <button type="submit" className="btn btn-small btn-primary" data-testid="backup-note-go">
                Back up
              </button>
            </form>
          )}
        </div>
      )}
    </div>
  );
}
