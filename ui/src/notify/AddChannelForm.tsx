// The "Add channel" form: one set of fields per kind. Secrets (the SMTP password, the webhook's
// signing secret or PagerDuty routing key, the bot token) are password fields, emptied after every
// attempt to save and never shown again: the engine keeps them in the keychain. Every kind takes a
// rate (messages a minute; empty: the kind's default); Telegram an optional Bot API server, checked
// by the engine's rule before anything is stored, its error shown on the field.
import { type FormEvent, type ReactNode, useId, useState } from "react";
import type { ChannelKind, ErrorPayload, WebhookPreset } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import type { NotifyApi } from "./api";
import {
  type ChannelForm,
  checkChannel,
  defaultRate,
  EMPTY_CHANNEL,
  type FormErrors,
  KIND_LABEL,
  KINDS,
  PRESETS,
  rateOf,
  TELEGRAM_API_DEFAULT,
  toNewChannel,
  withoutSecrets,
} from "./model";

type Props = {
  api: NotifyApi;
  onCancel: () => void;
  onAdded: (name: string) => void;
};

export function AddChannelForm({ api, onCancel, onAdded }: Props) {
  const id = useId();
  const [f, setF] = useState<ChannelForm>(EMPTY_CHANNEL);
  const [errors, setErrors] = useState<FormErrors>({});
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof ChannelForm>(k: K, v: ChannelForm[K]) => {
    setF((o) => ({ ...o, [k]: v }));
    setErrors((e) => ({ ...e, [k]: undefined }));
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const found = checkChannel(f);
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    setError(null);
    if (f.kind === "telegram" && f.telegramApi.trim() !== "") {
      const checked = await api.checkTelegramApi(f.telegramApi.trim());
      if (!checked.ok) {
        setBusy(false);
        setF(withoutSecrets);
        const { message, hint } = checked.error;
        return setErrors({ telegramApi: hint ? `${message} — ${hint}` : message });
      }
    }
    const r = await api.add(f.name.trim(), toNewChannel(f), rateOf(f));
    setBusy(false);
    setF(withoutSecrets);
    if (!r.ok) return setError(r.error);
    onAdded(r.data.name);
  };

  const field = (key: keyof ChannelForm, label: string, input: ReactNode, help?: string) => (
    <div className={`field${errors[key] ? " field-invalid" : ""}`}>
      <label htmlFor={`${id}-${key}`}>{label}</label>
      {input}
      {errors[key] ? (
        <p className="field-error" id={`${id}-${key}-error`} data-testid={`channel-${key}-error`}>
          {errors[key]}
        </p>
      ) : (
        help && <p className="field-help">{help}</p>
      )}
    </div>
  );
  const text = (key: keyof ChannelForm, placeholder: string, secret = false, inputMode?: "numeric") => (
    <input
      id={`${id}-${key}`}
      type={secret ? "password" : "text"}
      inputMode={inputMode}
      value={f[key]}
      onChange={(e) => set(key, e.target.value)}
      placeholder={placeholder}
      autoComplete={secret ? "new-password" : "off"}
      spellCheck={false}
      aria-invalid={Boolean(errors[key])}
      aria-describedby={errors[key] ? `${id}-${key}-error` : undefined}
      data-testid={`channel-${key}`}
    />
  );

  return (
    <form className="panel form notify-add" onSubmit={submit} noValidate data-testid="channel-form" aria-label="Add channel">
      <div className="field-grid">
        {field("name", "Name", text("name", "ops"), "Letters, digits, '-', '_' or '.'.")}
        <div className="field">
          <label htmlFor={`${id}-kind`}>Kind</label>
          <select
            id={`${id}-kind`}
            value={f.kind}
            onChange={(e) => set("kind", e.target.value as ChannelKind)}
            data-testid="channel-kind"
          >
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {KIND_LABEL[k]}
              </option>
            ))}
          </select>
        </div>
      </div>
      {f.kind === "email" && (
        <>
          {field("emailTo", "Send to", text("emailTo", "ops@example.com, oncall@example.com"))}
          {field(
            "smtpUrl",
            "SMTP server",
            text("smtpUrl", "smtp://alerts@example.com@mail.example.com:587"),
            "smtp:// uses STARTTLS (587), smtps:// TLS (465); add ?from=ADDRESS for another sender.",
          )}
          {field("password", "SMTP password", text("password", "kept in the keychain", true), "Optional. Kept in the keychain.")}
        </>
      )}
      {f.kind === "webhook" && (
        <>
          {field("webhookUrl", "URL", text("webhookUrl", "https://example.com/offsite"))}
          <div className="field">
            <label htmlFor={`${id}-preset`}>Format</label>
            <select
              id={`${id}-preset`}
              value={f.preset}
              onChange={(e) => set("preset", e.target.value as WebhookPreset)}
              data-testid="channel-preset"
            >
              {PRESETS.map(([p, label]) => (
                <option key={p} value={p}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          {field(
            "secret",
            f.preset === "pagerduty" ? "Routing key" : "Signing secret",
            text("secret", "kept in the keychain", true),
            f.preset === "pagerduty"
              ? "The integration's routing key. Kept in the keychain."
              : "Optional: each message is signed with it, so the receiver can check it came from this computer (see the docs). Kept in the keychain.",
          )}
        </>
      )}
      {f.kind === "telegram" && (
        <>
          {field("chatId", "Chat id", text("chatId", "-1001234567890 or @channel"))}
          {field("botToken", "Bot token", text("botToken", "123456:ABC-DEF…", true), "Kept in the keychain.")}
          {field(
            "telegramApi",
            "Bot API server",
            text("telegramApi", TELEGRAM_API_DEFAULT),
            "Optional: a local Bot API server or a proxy. https://, or http:// to this machine only.",
          )}
        </>
      )}
      {f.kind === "ping" &&
        field(
          "pingUrl",
          "Check URL",
          text("pingUrl", "https://hc-ping.com/<uuid>"),
          "Healthchecks, Uptime Kuma, Cronitor, Better Stack: /start, success, /fail with the error.",
        )}
      {field(
        "rate",
        "Messages a minute",
        text("rate", String(defaultRate(f.kind, f.preset)), false, "numeric"),
        `At most this many a minute; the rest wait. Empty: ${defaultRate(f.kind, f.preset)}, the default for this kind.`,
      )}
      {error && <ErrorNotice error={error} testId="channel-add-error" />}
      <div className="form-actions">
        <span className="spacer" />
        <button type="button" className="btn btn-quiet" onClick={onCancel} data-testid="channel-cancel">
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="channel-save">
          {busy ? "Adding…" : "Add channel"}
        </button>
      </div>
    </form>
  );
}
