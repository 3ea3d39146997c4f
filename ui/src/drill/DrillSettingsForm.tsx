// A project's drill settings: where its drills restore (a throwaway cluster on this computer, or a
// scratch server named by URL, its password kept in the keychain) and how many storage objects a
// drill compares one by one (every object, or a random sample). Scheduled drills and "Run drill
// now" start from these. The engine checks what is saved (a URL carrying a password is refused)
// and never sends a password back: only whether one is kept.
import { useState } from "react";
import type { ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { scratchUrlProblem } from "./DrillRunForm";
import { type DrillTargetKind, DrillTargetField } from "./DrillTargetField";

/** The settings as the engine shows them. */
export type DrillSettingsView = {
  server_url: string | null;
  server_password_saved: boolean;
  storage_sample: number | null;
};

/** What a save sends: `password` null keeps the saved one (same server). */
export type DrillSettingsSave = {
  serverUrl: string | null;
  password: string | null;
  storageSample: number | null;
};

type Props = {
  settings: DrillSettingsView;
  /** Resolves with the engine's refusal (null: saved). */
  onSave: (save: DrillSettingsSave) => Promise<ErrorPayload | null>;
};

/** Why a sample size cannot be sent (the engine checks its range). */
export function sampleProblem(text: string): string | null {
  return /^\s*\d+\s*$/.test(text) ? null : "Enter how many objects to check (a whole number).";
}

export function DrillSettingsForm({ settings, onSave }: Props) {
  const [kind, setKind] = useState<DrillTargetKind>(settings.server_url ? "server" : "throwaway");
  const [url, setUrl] = useState(settings.server_url ?? "");
  const [password, setPassword] = useState("");
  const [sampling, setSampling] = useState(settings.storage_sample !== null);
  const [sample, setSample] = useState(settings.storage_sample?.toString() ?? "100");
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [saved, setSaved] = useState(false);
  const urlProblem = kind === "server" ? scratchUrlProblem(url) : null;
  const countProblem = sampling ? sampleProblem(sample) : null;

  const save = async () => {
    setTouched(true);
    setSaved(false);
    if (urlProblem || countProblem) return;
    setBusy(true);
    setError(null);
    const refused = await onSave({
      serverUrl: kind === "server" ? url.trim() : null,
      password: kind === "server" && password !== "" ? password : null,
      storageSample: sampling ? Number.parseInt(sample.trim(), 10) : null,
    });
    setBusy(false);
    if (refused) setError(refused);
    else {
      setPassword("");
      setSaved(true);
    }
  };

  return (
    <form
      className="form drill-settings"
      data-testid="drill-settings-form"
      aria-label="Drill settings"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <DrillTargetField
        legend="Drills restore into"
        name="drill-settings-target"
        testIdPrefix="drill-settings"
        kind={kind}
        onChange={setKind}
      />
      <p className="field-help" data-testid="drill-settings-target-note">
        “Run drill now” and scheduled drills both use this.
      </p>
      {kind === "server" && (
        <div className="field-grid">
          <label className="field">
            <span>Scratch server URL (without the password)</span>
            <input
              type="text"
              autoComplete="off"
              spellCheck={false}
              value={url}
              placeholder="postgres://drill@host:5432/postgres"
              onChange={(e) => setUrl(e.target.value)}
              data-testid="drill-settings-url"
            />
            {touched && urlProblem && (
              <span className="field-error" role="alert" data-testid="drill-settings-url-error">
                {urlProblem}
              </span>
            )}
          </label>
          <label className="field">
            <span>Password</span>
            <input
              type="password"
              autoComplete="new-password"
              value={password}
              placeholder={settings.server_password_saved ? "Saved in the keychain (leave empty to keep it)" : "Kept in the keychain"}
              onChange={(e) => setPassword(e.target.value)}
              data-testid="drill-settings-password"
            />
          </label>
        </div>
      )}
      <fieldset className="field">
        <legend>Storage check</legend>
        <label className="check">
          <input
            type="radio"
            name="drill-settings-storage"
            checked={!sampling}
            onChange={() => setSampling(false)}
            data-testid="drill-settings-storage-all"
          />{" "}
          Every object
        </label>
        <label className="check">
          <input
            type="radio"
            name="drill-settings-storage"
            checked={sampling}
            onChange={() => setSampling(true)}
            data-testid="drill-settings-storage-sample"
          />{" "}
          A random sample of{" "}
          <input
            type="number"
            min={1}
            className="input-narrow"
            value={sample}
            disabled={!sampling}
            onChange={(e) => setSample(e.target.value)}
            aria-label="Objects in the sample"
            data-testid="drill-settings-sample-size"
          />{" "}
          objects per drill (the report names them)
        </label>
        {touched && countProblem && (
          <span className="field-error" role="alert" data-testid="drill-settings-sample-error">
            {countProblem}
          </span>
        )}
      </fieldset>
      {error && <ErrorNotice error={error} testId="drill-settings-error" />}
      <div className="form-actions">
        <button type="submit" className="btn" disabled={busy} data-testid="drill-settings-save">
          {busy ? "Saving…" : "Save drill settings"}
        </button>
        {saved && (
          <span className="small muted" role="status" data-testid="drill-settings-saved">
            Saved. “Run drill now” and scheduled drills use these settings.
          </span>
        )}
      </div>
    </form>
  );
}
