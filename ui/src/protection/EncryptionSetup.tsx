// Encryption of a project's archives (or the default for new projects): off, a passphrase, or a
// key Offsite generates, plus extra recipients. Setting it up shows the recovery key ONCE, offers
// to copy, save or print it, and then asks for it back: only when the engine accepts it (a
// decryption test) is encryption active. The engine decides every rule (valid recipients, a
// strong enough passphrase, the right key); this panel collects input and shows what it answers.
import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import type { ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import {
  ENCRYPTION_MODE_LABEL,
  type EncryptionApi,
  type EncryptionMode,
  type EncryptionRequest,
  type EncryptionView,
} from "./types";

export const LOSS_WARNING = "If you lose this, nobody — not even us — can recover these backups.";

const MODES: EncryptionMode[] = ["off", "passphrase", "key"];

const MODE_HELP: Record<EncryptionMode, string> = {
  off: "Archives are plain .tar.zst (or .tar.gz) files. Configuration secrets are left out of them.",
  passphrase: "Archives are encrypted with a passphrase you choose. With it they open also without Offsite (they are standard age files).",
  key: "Offsite makes a key and keeps it in your system keychain. You keep its recovery key somewhere safe.",
};

/** Recipients as the engine takes them: one per line, blank lines and surrounding spaces dropped. */
export function parseRecipients(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

type Stage =
  | { kind: "view" }
  | { kind: "form" }
  | { kind: "recovery"; item: string; mode: EncryptionMode }
  | { kind: "confirm" };

type Props = {
  /** The current settings (`null` while loading). */
  settings: EncryptionView | null;
  api: EncryptionApi;
  /** Called with the new settings after each change (the owner re-reads them). */
  onChanged?: (s: EncryptionView) => void;
  /** `encryption` on a project page, `default-encryption` in Settings. */
  testId?: string;
  /** Whether this sets the default for new projects (words only). */
  isDefault?: boolean;
  /** Changes (from 0) when something asks for the confirmation (a backup refused for it). */
  confirmRequest?: number;
};

export function EncryptionSetup({ settings, api, onChanged, testId = "encryption", isDefault = false, confirmRequest = 0 }: Props) {
  const [stage, setStage] = useState<Stage>({ kind: "view" });
  const [notice, setNotice] = useState<string | null>(null);
  const section = useRef<HTMLElement>(null);
  const pendingConfirm = settings !== null && settings.mode !== "off" && !settings.confirmed;
  // A request (a Fix elsewhere, a refused backup) opens the confirmation once, and only while
  // there is something to confirm: the page keeps its request counter, so a panel mounted again
  // after the key was confirmed (another tab and back) must not ask for it again.
  const handled = useRef(0);
  useEffect(() => {
    if (confirmRequest === 0 || confirmRequest === handled.current || settings === null) return;
    handled.current = confirmRequest;
    if (!pendingConfirm) return;
    setNotice(null);
    setStage({ kind: "confirm" });
    section.current?.scrollIntoView?.({ block: "center" });
  }, [confirmRequest, settings, pendingConfirm]);

  const changed = (s: EncryptionView) => onChanged?.(s);

  return (
    <section ref={section} className="panel" aria-label={isDefault ? "Default encryption" : "Encryption"} data-testid={testId}>
      <h2 className="panel-title">{isDefault ? "Encryption of new projects" : "Encryption"}</h2>
      {settings === null && <p className="muted small">Loading…</p>}
      {settings !== null && stage.kind === "view" && (
        <>
          <EncryptionSummary settings={settings} testId={testId} />
          {pendingConfirm && !isDefault && (
            <div className="notice notice-warn small" role="alert" data-testid={`${testId}-unconfirmed`}>
              <p className="notice-title">Backups paused: confirm your recovery key</p>
              <p>No backup runs until you enter the recovery key back: without it nobody could read the backups.</p>
              <button type="button" className="btn btn-small btn-primary" onClick={() => setStage({ kind: "confirm" })} data-testid={`${testId}-confirm-open`}>
                Confirm your recovery key…
              </button>
            </div>
          )}
          <div className="form-actions">
            <button
              type="button"
              className="btn btn-small"
              onClick={() => {
                setNotice(null);
                setStage({ kind: "form" });
              }}
              data-testid={`${testId}-edit`}
            >
              {settings.mode === "off" ? "Set up encryption…" : "Change encryption…"}
            </button>
          </div>
        </>
      )}
      {settings !== null && stage.kind === "form" && (
        <EncryptionForm
          current={settings}
          api={api}
          testId={testId}
          onCancel={() => setStage({ kind: "view" })}
          onDone={(result, typed) => {
            changed(result.settings);
            const item = result.recoveryItem ?? (result.settings.mode === "passphrase" ? typed : null);
            if (item) setStage({ kind: "recovery", item, mode: result.settings.mode });
            else {
              setStage({ kind: "view" });
              setNotice(result.settings.mode === "off" ? "Encryption is off: new archives are not encrypted." : "Encryption saved.");
            }
          }}
        />
      )}
      {stage.kind === "recovery" && (
        <RecoveryPanel
          item={stage.item}
          mode={stage.mode}
          testId={testId}
          {...(api.saveFile ? { saveFile: api.saveFile } : {})}
          onContinue={() => setStage({ kind: "confirm" })}
        />
      )}
      {stage.kind === "confirm" && (
        <ConfirmRecovery
          api={api}
          testId={testId}
          onCancel={() => setStage({ kind: "view" })}
          onConfirmed={(s) => {
            changed(s);
            setStage({ kind: "view" });
            setNotice("Confirmed: the recovery key opens these backups. Encryption is active.");
          }}
        />
      )}
      {notice && (
        <p className="notice notice-ok small" role="status" data-testid={`${testId}-notice`}>
          {notice}
        </p>
      )}
    </section>
  );
}

export function EncryptionSummary({ settings, testId }: { settings: EncryptionView; testId: string }) {
  const state = settings.mode === "off" ? "off" : settings.confirmed ? "active" : "unconfirmed";
  return (
    <dl className="kv small" data-testid={`${testId}-view`} data-mode={settings.mode} data-state={state}>
      <dt>Mode</dt>
      <dd data-testid={`${testId}-mode`}>
        {ENCRYPTION_MODE_LABEL[settings.mode]}
        {settings.mode !== "off" && (settings.confirmed ? " · active" : " · backups paused until the recovery key is confirmed")}
      </dd>
      {settings.publicKey && (
        <>
          <dt>Public key</dt>
          <dd className="mono path" data-testid={`${testId}-public-key`}>
            <bdi>{settings.publicKey}</bdi>
          </dd>
        </>
      )}
      {settings.mode !== "off" && (
        <>
          <dt>Also opens them</dt>
          <dd data-testid={`${testId}-recipients`} data-count={settings.recipients.length}>
            {settings.recipients.length === 0 ? (
              <span className="muted">nobody else</span>
            ) : (
              <ul className="plain-list mono small">
                {settings.recipients.map((r) => (
                  <li key={r} className="path">
                    <bdi>{r}</bdi>
                  </li>
                ))}
              </ul>
            )}
          </dd>
        </>
      )}
    </dl>
  );
}

function EncryptionForm({
  current,
  api,
  testId,
  onCancel,
  onDone,
}: {
  current: EncryptionView;
  api: EncryptionApi;
  testId: string;
  onCancel: () => void;
  onDone: (r: { settings: EncryptionView; recoveryItem: string | null }, typedPassphrase: string) => void;
}) {
  const id = useId();
  const [mode, setMode] = useState<EncryptionMode>(current.mode === "off" ? "key" : current.mode);
  const [pass1, setPass1] = useState("");
  const [pass2, setPass2] = useState("");
  const [recipients, setRecipients] = useState(current.recipients.join("\n"));
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);
  const mismatch = mode === "passphrase" && pass2 !== "" && pass1 !== pass2;
  const ready = mode !== "passphrase" || (pass1 !== "" && pass1 === pass2);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!ready) return;
    setBusy(true);
    setError(null);
    const request: EncryptionRequest = {
      mode,
      passphrase: mode === "passphrase" ? pass1 : null,
      recipients: mode === "key" ? parseRecipients(recipients) : [],
    };
    const r = await api.set(request);
    setBusy(false);
    const typed = pass1;
    setPass1("");
    setPass2("");
    if (!r.ok) return setError(r.error);
    onDone(r.data, typed);
  };

  return (
    <form className="form" onSubmit={submit} noValidate data-testid={`${testId}-form`}>
      <fieldset className="choice-list">
        <legend className="small">Encrypt archives</legend>
        {MODES.map((m) => (
          <label className="choice" key={m}>
            <input
              type="radio"
              name={`${id}-mode`}
              checked={mode === m}
              onChange={() => setMode(m)}
              data-testid={`${testId}-mode-${m}`}
            />{" "}
            <span>
              <strong>{ENCRYPTION_MODE_LABEL[m]}</strong>
              <br />
              <span className="muted small">{MODE_HELP[m]}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {mode === "passphrase" && (
        <div className="field-grid">
          <div className="field">
            <label htmlFor={`${id}-pass1`}>Passphrase</label>
            <input
              id={`${id}-pass1`}
              type="password"
              value={pass1}
              onChange={(e) => setPass1(e.target.value)}
              autoComplete="new-password"
              data-testid={`${testId}-passphrase`}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-pass2`}>Passphrase again</label>
            <input
              id={`${id}-pass2`}
              type="password"
              value={pass2}
              onChange={(e) => setPass2(e.target.value)}
              autoComplete="new-password"
              aria-invalid={mismatch}
              data-testid={`${testId}-passphrase-again`}
            />
            {mismatch && (
              <p className="field-error" data-testid={`${testId}-passphrase-mismatch`}>
                The two entries differ.
              </p>
            )}
          </div>
        </div>
      )}
      {mode === "key" && (
        <div className="field">
          <label htmlFor={`${id}-recipients`}>Extra recipients (optional)</label>
          <textarea
            id={`${id}-recipients`}
            rows={3}
            value={recipients}
            onChange={(e) => setRecipients(e.target.value)}
            placeholder={"age1… or ssh-ed25519 AAAA… — one per line"}
            spellCheck={false}
            className="mono"
            data-testid={`${testId}-recipients-input`}
          />
          <p className="field-help">
            Each of them can open every archive on their own: a recovery key kept on paper, a colleague, a team key.
          </p>
        </div>
      )}
      {mode === "off" && current.mode !== "off" && (
        <p className="notice notice-warn small" data-testid={`${testId}-off-warning`}>
          New archives will not be encrypted. Archives already made stay encrypted and still need their key.
        </p>
      )}
      {error && <ErrorNotice error={error} testId={`${testId}-error`} />}
      <div className="form-actions">
        <span className="spacer" />
        <button type="button" className="btn btn-quiet" onClick={onCancel} data-testid={`${testId}-cancel`}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy || !ready} data-testid={`${testId}-save`}>
          {busy ? "Setting up…" : mode === "off" ? "Turn off" : "Set up"}
        </button>
      </div>
    </form>
  );
}

/** The recovery key, shown this once, with ways to keep it. */
export function RecoveryPanel({
  item,
  mode,
  testId,
  saveFile,
  onContinue,
}: {
  item: string;
  mode: EncryptionMode;
  testId: string;
  saveFile?: EncryptionApi["saveFile"];
  onContinue: () => void;
}) {
  const [kept, setKept] = useState<string | null>(null);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const region = useRef<HTMLDivElement>(null);
  // Shown below the form that made it: brought into view, its buttons at the bottom included.
  useEffect(() => {
    region.current?.scrollIntoView?.({ block: "nearest" });
  }, []);
  const copy = async () => {
    setError(null);
    try {
      await navigator.clipboard.writeText(item);
      setKept("Copied to the clipboard. Paste it somewhere safe, away from this computer.");
    } catch (e) {
      setError({ code: "internal", message: `Could not copy: ${String(e)}`, hint: "Select the text and copy it by hand.", retryable: false });
    }
  };
  const save = async () => {
    if (!saveFile) return;
    setError(null);
    const r = await saveFile(item);
    if (!r.ok) return setError(r.error);
    if (r.data) setKept("Saved. Keep the file away from this computer (a USB stick, a password manager, paper).");
  };
  return (
    <div ref={region} className="notice notice-warn recovery" role="region" aria-label="Recovery key" data-testid={`${testId}-recovery`}>
      <p className="notice-title">
        {mode === "passphrase" ? "Your passphrase" : "Your recovery key"} — shown only now
      </p>
      <pre className="mono recovery-item" data-testid={`${testId}-recovery-item`}>
        {item}
      </pre>
      <p data-testid={`${testId}-recovery-warning`}>
        <strong>{LOSS_WARNING}</strong> Keep it somewhere other than this computer (a password manager, a printout):
        it opens every archive of this project, also without Offsite.
      </p>
      {kept && (
        <p className="small" role="status" data-testid={`${testId}-recovery-kept`}>
          {kept}
        </p>
      )}
      {error && <ErrorNotice error={error} testId={`${testId}-recovery-error`} />}
      <div className="form-actions recovery-actions" data-testid={`${testId}-recovery-actions`}>
        <button type="button" className="btn btn-small" onClick={() => void copy()} data-testid={`${testId}-recovery-copy`}>
          Copy
        </button>
        {saveFile && (
          <button type="button" className="btn btn-small" onClick={() => void save()} data-testid={`${testId}-recovery-save`}>
            Save to file…
          </button>
        )}
        <button type="button" className="btn btn-small" onClick={() => window.print()} data-testid={`${testId}-recovery-print`}>
          Print…
        </button>
        <span className="spacer" />
        <button type="button" className="btn btn-small btn-primary" onClick={onContinue} data-testid={`${testId}-recovery-continue`}>
          I have kept it — continue
        </button>
      </div>
    </div>
  );
}

/** Enter the recovery key back: the engine opens a test archive with it. */
export function ConfirmRecovery({
  api,
  testId,
  onCancel,
  onConfirmed,
}: {
  api: EncryptionApi;
  testId: string;
  onCancel: () => void;
  onConfirmed: (s: EncryptionView) => void;
}) {
  const id = useId();
  const [value, setValue] = useState("");
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (value.trim() === "") return;
    setBusy(true);
    setError(null);
    const r = await api.confirm(value.trim());
    setBusy(false);
    if (!r.ok) return setError(r.error);
    setValue("");
    onConfirmed(r.data);
  };
  return (
    <form className="form" onSubmit={submit} noValidate data-testid={`${testId}-confirm`}>
      <div className="field">
        <label htmlFor={`${id}-item`}>Enter the recovery key back (the passphrase or the AGE-SECRET-KEY-1… line)</label>
        <input
          id={`${id}-item`}
          type="password"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          data-testid={`${testId}-confirm-input`}
        />
        <p className="field-help">Only when it opens a test archive is encryption switched on. Until then backups are paused.</p>
      </div>
      {error && <ErrorNotice error={error} testId={`${testId}-confirm-error`} />}
      <div className="form-actions">
        <span className="spacer" />
        <button type="button" className="btn btn-quiet" onClick={onCancel} data-testid={`${testId}-confirm-cancel`}>
          Later (backups stay paused)
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy || value.trim() === ""} data-testid={`${testId}-confirm-submit`}>
          {busy ? "Checking…" : "Confirm"}
        </button>
      </div>
    </form>
  );
}
