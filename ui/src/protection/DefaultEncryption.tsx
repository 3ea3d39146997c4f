// Settings → "Encryption of new projects": the mode a new project starts with. Each project then
// sets up its own key or passphrase (and confirms its recovery item) before its first backup.
import { useEffect, useId, useState } from "react";
import { commands, type EncryptionMode, type ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { call } from "../ipc/call";
import { ENCRYPTION_MODE_LABEL } from "./types";

const MODES: EncryptionMode[] = ["off", "passphrase", "key"];

export function DefaultEncryption() {
  const id = useId();
  const [mode, setMode] = useState<EncryptionMode | null>(null);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    void call(commands.getDefaultEncryption()).then((r) => (r.ok ? setMode(r.data) : setError(r.error)));
  }, []);
  const choose = async (m: EncryptionMode) => {
    setError(null);
    setSaved(false);
    const r = await call(commands.setDefaultEncryption(m));
    if (!r.ok) return setError(r.error);
    setMode(r.data);
    setSaved(true);
  };
  return (
    <section className="panel form" aria-label="Encryption of new projects" data-testid="default-encryption">
      <div className="field">
        <label htmlFor={`${id}-mode`}>Encryption of new projects</label>
        <select
          id={`${id}-mode`}
          value={mode ?? ""}
          disabled={mode === null}
          onChange={(e) => void choose(e.target.value as EncryptionMode)}
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
          A new project with a passphrase or a generated key backs up once its own key is set up and its recovery item
          entered back (on the project's page).
        </p>
        {saved && (
          <p className="small saved-note" role="status" data-testid="default-encryption-saved">
            Saved.
          </p>
        )}
      </div>
      {error && <ErrorNotice error={error} testId="default-encryption-error" />}
    </section>
  );
}
