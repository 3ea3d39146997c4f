// A project's recovery targets (issue 47 item 8): the RPO (the most data you accept to lose) and
// the RTO (the longest a restore may take), in minutes or hours, saved together. The engine keeps
// them in seconds and judges against them (the checklist, a drill's RTO check).
import { useCallback, useEffect, useId, useState } from "react";
import { commands, type ErrorPayload, type Targets } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { call } from "../ipc/call";
import type { LoadState } from "./types";
import "./protection.css";

export type Unit = "minutes" | "hours";
export type Duration = { amount: string; unit: Unit };

const SECONDS: Record<Unit, number> = { minutes: 60, hours: 3600 };

/** Seconds as the field shows them: whole hours in hours, else minutes; none: empty. */
export function durationOf(seconds: number | null): Duration {
  if (seconds === null) return { amount: "", unit: "hours" };
  if (seconds % 3600 === 0) return { amount: String(seconds / 3600), unit: "hours" };
  return { amount: String(Math.round((seconds / 60) * 100) / 100), unit: "minutes" };
}

/** What the field sends: empty is no target; a number (decimals allowed) in seconds; else `undefined` (not a number yet). */
export function secondsOf(d: Duration): number | null | undefined {
  const t = d.amount.trim();
  if (t === "") return null;
  if (!/^\d+(\.\d+)?$/.test(t)) return undefined;
  return Math.round(Number.parseFloat(t) * SECONDS[d.unit]);
}

export function TargetsSection({ project }: { project: string }) {
  const [saved, setSaved] = useState<LoadState<Targets>>({ status: "loading" });
  const [rpo, setRpo] = useState<Duration>(durationOf(null));
  const [rto, setRto] = useState<Duration>(durationOf(null));
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const show = (t: Targets) => {
    setRpo(durationOf(t.rpo_seconds));
    setRto(durationOf(t.rto_seconds));
  };
  const reload = useCallback(() => {
    void call(commands.recoveryTargets(project)).then((r) => {
      setSaved(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error });
      if (r.ok) show(r.data);
    });
  }, [project]);
  useEffect(reload, [reload]);

  if (saved.status === "loading") return <p className="muted small">Loading…</p>;
  if (saved.status === "error") return <ErrorNotice error={saved.error} testId="targets-load-error" onRetry={reload} />;
  const rpoSeconds = secondsOf(rpo);
  const rtoSeconds = secondsOf(rto);
  const save = async () => {
    if (rpoSeconds === undefined || rtoSeconds === undefined) return;
    setBusy(true);
    setError(null);
    setNotice(null);
    const r = await call(commands.setRecoveryTargets(project, { rpo_seconds: rpoSeconds, rto_seconds: rtoSeconds }));
    setBusy(false);
    if (!r.ok) return setError(r.error);
    setSaved({ status: "ready", data: r.data });
    show(r.data);
    setNotice("Targets saved.");
  };
  const edit = (set: (d: Duration) => void) => (d: Duration) => {
    setNotice(null);
    set(d);
  };
  return (
    <div className="form" data-testid="targets-section">
      <p className="small">
        Say what this project must meet. Past the RPO — the newest good backup older than it — the checklist marks the project
        At risk; a drill whose restore takes longer than the RTO fails its time check. Empty: no target.
      </p>
      <DurationField label="RPO: the most data you accept to lose" value={rpo} onChange={edit(setRpo)} testId="targets-rpo" />
      <DurationField label="RTO: the longest a restore may take" value={rto} onChange={edit(setRto)} testId="targets-rto" />
      {error && <ErrorNotice error={error} testId="targets-error" />}
      {notice && (
        <p className="notice notice-ok small" role="status" data-testid="targets-notice">
          {notice}
        </p>
      )}
      <div className="form-actions">
        <button
          type="button"
          className="btn btn-primary btn-small"
          disabled={busy || rpoSeconds === undefined || rtoSeconds === undefined}
          onClick={() => void save()}
          data-testid="targets-save"
        >
          Save targets
        </button>
      </div>
    </div>
  );
}

function DurationField({ label, value, onChange, testId }: { label: string; value: Duration; onChange: (d: Duration) => void; testId: string }) {
  const id = useId();
  return (
    <div className="inline-field small">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        className="pct-input"
        inputMode="decimal"
        value={value.amount}
        placeholder="none"
        onChange={(e) => onChange({ ...value, amount: e.target.value })}
        data-testid={`${testId}-amount`}
      />
      <select
        aria-label={`${label}: unit`}
        value={value.unit}
        onChange={(e) => onChange({ ...value, unit: e.target.value as Unit })}
        data-testid={`${testId}-unit`}
      >
        <option value="minutes">minutes</option>
        <option value="hours">hours</option>
      </select>
    </div>
  );
}
