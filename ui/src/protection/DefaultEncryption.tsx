// Settings → "Encryption of new projects": the mode a new project starts with (a field of the
// Settings form, saved with its one Save). Each project then
// sets up its own key or passphrase (and confirms its recovery key) before its first backup.
import { useId } from "react";
import type { EncryptionMode } from "../bindings";
import { ENCRYPTION_MODE_LABEL } from "./types";

const MODES: EncryptionMode[] = ["off", "passphrase", "key"];

/** The mode as a field of the Settings form: saved with the form's one Save (no save of its own). */
export function DefaultEncryption({ mode, onChange }: { mode: EncryptionMode | null; onChange: (mode: EncryptionMode) => void }) {
  const id = useId();
  return (
    <fieldset className="checks" aria-label="Encryption of new projects" data-testid="default-encryption">
      <legend>Encryption of new projects</legend>
      <div className="field">
        <label htmlFor={`${id}-mode`}>New projects start with</label>
        <select
          id={`${id}-mode`}
          value={mode ?? ""}
          disabled={mode === null}
          onChange={(e) => onChange(e.target.value as EncryptionMode)}
          data-testid="default-encryption-mode"
        >
          {mode === null && <option value="">Loading…</option>}
          {MODES.map((m) => (
            <option key={m} value={m}>
              {ENCRYPTION_MODE_LABEL[m]}
            </option>
          ))}
        </select>
        <p className="field-help">
          A new project with a passphrase or a generated key backs up once its own key is set up and its recovery key
          entered back (on the project's page).
        </p>
      </div>
    </fieldset>
  );
}
