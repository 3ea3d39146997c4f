// An S3 destination's Object Lock and storage class (issue 47 item 6): the fields of the add form,
// and the destination's row in words. The engine checks them (days without a lock, a bucket
// without Object Lock) and derives the days from the destination's retention when none are given.
import { useId, useState } from "react";
import type { ErrorPayload, LockMode } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import type { Call } from "../ipc/call";
import type { S3ProtectionFields } from "./types";
import "./protection.css";

export const LOCK_MODE_LABEL: Record<LockMode, string> = { governance: "Governance", compliance: "Compliance" };

export const LOCK_MODE_MEANS: Record<LockMode, string> = {
  governance: "Nobody deletes a copy before its date, except an administrator with the special permission to lift the lock.",
  compliance: "Nobody deletes a copy before its date: not the keys Offsite holds, not the account's owner.",
};

export const STORAGE_CLASSES = ["STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"] as const;

/** Classes whose objects must be restored in the provider before they can be read. */
export const ARCHIVE_CLASSES: readonly string[] = ["GLACIER", "DEEP_ARCHIVE"];

export const ARCHIVE_CLASS_NOTE = "Archive classes must be restored in the provider before a copy can be read.";

export const NO_PROTECTION: S3ProtectionFields = { objectLock: "", lockDays: "", storageClass: "" };

/** What the engine takes: the lock (days only with a lock), the class. */
export function protectionSpec(f: S3ProtectionFields): { object_lock: LockMode | null; lock_days: number | null; storage_class: string | null } {
  const days = /^\s*\d+\s*$/.test(f.lockDays) ? Number.parseInt(f.lockDays, 10) : null;
  return {
    object_lock: f.objectLock === "" ? null : f.objectLock,
    lock_days: f.objectLock === "" ? null : days,
    storage_class: f.storageClass === "" ? null : f.storageClass,
  };
}

/** A destination's lock and class in words ("Locked 30 days (compliance) · GLACIER"); null: neither. */
export function protectionWords(s3: { object_lock?: LockMode | null; lock_days?: number | null; storage_class?: string | null } | null): string | null {
  if (!s3) return null;
  const parts: string[] = [];
  if (s3.object_lock) {
    const days = s3.lock_days ? ` ${s3.lock_days} day${s3.lock_days === 1 ? "" : "s"}` : "";
    parts.push(`Each copy locked${days} (${s3.object_lock})`);
  }
  if (s3.storage_class) parts.push(`storage class ${s3.storage_class}`);
  return parts.length > 0 ? parts.join(" · ") : null;
}

export function S3ProtectionInputs({
  value,
  onChange,
  testIdPrefix = "destination-field",
}: {
  value: S3ProtectionFields;
  onChange: (patch: Partial<S3ProtectionFields>) => void;
  testIdPrefix?: string;
}) {
  const id = useId();
  return (
    <fieldset className="form s3-protection" data-testid={`${testIdPrefix}-protection`}>
      <legend className="small">Copies attackers cannot delete, and where they are stored</legend>
      <div className="inline-field small">
        <label htmlFor={`${id}-lock`}>Object Lock</label>
        <select
          id={`${id}-lock`}
          value={value.objectLock}
          onChange={(e) => onChange({ objectLock: e.target.value as S3ProtectionFields["objectLock"] })}
          data-testid={`${testIdPrefix}-object-lock`}
        >
          <option value="">No lock</option>
          <option value="governance">{LOCK_MODE_LABEL.governance}</option>
          <option value="compliance">{LOCK_MODE_LABEL.compliance}</option>
        </select>
        {value.objectLock !== "" && (
          <>
            <label htmlFor={`${id}-days`}>for</label>
            <input
              id={`${id}-days`}
              className="pct-input"
              type="number"
              min={1}
              value={value.lockDays}
              placeholder="retention"
              onChange={(e) => onChange({ lockDays: e.target.value })}
              data-testid={`${testIdPrefix}-lock-days`}
            />
            <span>days</span>
          </>
        )}
      </div>
      <p className="field-help" data-testid={`${testIdPrefix}-lock-means`}>
        {value.objectLock === ""
          ? "A lock keeps every copy undeletable until its date, even with this computer's keys. The bucket must have Object Lock enabled."
          : `${LOCK_MODE_MEANS[value.objectLock]} Empty days: as long as this destination's retention keeps a copy.`}
      </p>
      <div className="inline-field small">
        <label htmlFor={`${id}-class`}>Storage class</label>
        <select
          id={`${id}-class`}
          value={value.storageClass}
          onChange={(e) => onChange({ storageClass: e.target.value })}
          data-testid={`${testIdPrefix}-storage-class`}
        >
          <option value="">The bucket's default</option>
          {STORAGE_CLASSES.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </div>
      <p className="field-help" data-archive={ARCHIVE_CLASSES.includes(value.storageClass)} data-testid={`${testIdPrefix}-class-note`}>
        {ARCHIVE_CLASS_NOTE}
      </p>
    </fieldset>
  );
}

/** Change an S3 destination's lock and class: one Save; the engine checks (a bucket without Object Lock). */
export function DestinationProtectionEdit({
  name,
  saved,
  onSave,
  onDone,
}: {
  name: string;
  saved: S3ProtectionFields;
  onSave: (f: S3ProtectionFields) => Promise<Call<unknown>>;
  onDone: (changed: boolean) => void;
}) {
  const [f, setF] = useState<S3ProtectionFields>(saved);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async () => {
    setBusy(true);
    setError(null);
    const r = await onSave(f);
    setBusy(false);
    if (!r.ok) return setError(r.error);
    onDone(true);
  };
  return (
    <div className="form" data-testid="destination-protection-edit" data-name={name}>
      <S3ProtectionInputs value={f} onChange={(patch) => setF((o) => ({ ...o, ...patch }))} testIdPrefix="destination-protection" />
      <p className="field-help">Applies to copies uploaded from now on; copies already there keep their lock and class.</p>
      {error && <ErrorNotice error={error} testId="destination-protection-error" />}
      <div className="form-actions">
        <button type="button" className="btn btn-primary btn-small" disabled={busy} onClick={() => void save()} data-testid="destination-protection-save">
          Save
        </button>
        <button type="button" className="btn btn-quiet btn-small" disabled={busy} onClick={() => onDone(false)} data-testid="destination-protection-cancel">
          Cancel
        </button>
      </div>
    </div>
  );
}
