// A project's retention policy: the rules (restic's keep-last / hourly / daily / weekly / monthly /
// yearly / within, combined with OR; an empty policy keeps everything), the zone its periods are
// counted in, a preview of what the saved policy keeps (and why) and removes, and Apply now.
import { useEffect, useState } from "react";
import { commands, type ErrorPayload, type PruneOutcome, type RetentionPolicy, type RetentionView } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatTime } from "../components/format";
import { keys, useRetention, useStore } from "../store";
import { call } from "../ipc/call";
import { EMPTY, type Fields, fieldsOf, policyOf, presetOf, RetentionFields, RetentionPresets } from "./RetentionRules";

/** Every backup of a prune outcome, newest first: kept with reasons, or removed. */
export function PruneList({ outcome }: { outcome: PruneOutcome }) {
  const rows = [
    ...outcome.kept.map((k) => ({ id: k.id, created_at: k.created_at, path: k.path, reasons: k.reasons, keep: true, locked: [] as string[] })),
    // The archive here goes; a copy locked at a destination stays until its date (the engine's note).
    ...outcome.removed.map((r) => ({ id: r.id, created_at: r.created_at, path: r.path, reasons: [] as string[], keep: false, locked: (r.locked ?? []).map((l) => l.note) })),
  ].sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  if (rows.length === 0) {
    return (
      <p className="muted small" data-testid="retention-preview-empty">
        No backups yet.
      </p>
    );
  }
  return (
    <table className="history-table" data-testid="retention-preview-list">
      <thead>
        <tr>
          <th>Backup</th>
          <th>Outcome</th>
          <th>Path</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.id} data-testid="retention-row" data-backup={r.id} data-keep={String(r.keep)}>
            <td>{formatTime(r.created_at)}</td>
            <td className={r.keep ? "state-succeeded" : "state-failed"} data-testid="retention-row-outcome">
              {r.keep ? `Kept: ${r.reasons.join(", ")}` : outcome.dry_run ? "Would be removed" : "Removed"}
              {r.locked.length > 0 && <span data-testid="retention-row-locked">{` here; ${r.locked.join("; ")}`}</span>}
            </td>
            <td className="mono path" title={r.path}>
              <bdi>{r.path}</bdi>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * A policy in the app's words ("the last 1 · 7 daily · 4 weekly · everything of the last 30d"),
 * not the command line's flags ("keep-daily 7", seen on schedule-02).
 */
export function policyWords(p: RetentionPolicy): string {
  const parts: string[] = [];
  if (p.keep_last) parts.push(`the last ${p.keep_last}`);
  const periods: [number | null | undefined, string][] = [
    [p.keep_hourly, "hourly"],
    [p.keep_daily, "daily"],
    [p.keep_weekly, "weekly"],
    [p.keep_monthly, "monthly"],
    [p.keep_yearly, "yearly"],
  ];
  for (const [n, word] of periods) if (n) parts.push(`${n} ${word}`);
  if (p.keep_within) parts.push(`everything of the last ${p.keep_within}`);
  return parts.length > 0 ? parts.join(" · ") : "keep everything";
}

export function RetentionSection({ project }: { project: string }) {
  const retention = useRetention(project);
  const store = useStore();
  const [fields, setFields] = useState<Fields>(EMPTY);
  const [dirty, setDirty] = useState(false);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [preview, setPreview] = useState<PruneOutcome | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);

  const view: RetentionView | null = retention.status === "ready" ? retention.data : null;
  useEffect(() => {
    if (view && !dirty) setFields(fieldsOf(view.policy));
  }, [view, dirty]);

  const edit = (name: keyof Fields, value: string) => {
    setDirty(true);
    setNotice(null);
    setPreview(null);
    setConfirming(false);
    setFields((f) => ({ ...f, [name]: value }));
  };
  const setAll = (next: Fields) => {
    setDirty(true);
    setNotice(null);
    setPreview(null);
    setConfirming(false);
    setFields(next);
  };

  const save = async () => {
    setBusy(true);
    setError(null);
    const r = await call(commands.setRetention(project, policyOf(fields), null));
    setBusy(false);
    if (!r.ok) return setError(r.error);
    setDirty(false);
    setNotice(`Retention saved: ${r.data.rules}.`);
    store.reload(keys.retention(project));
  };

  const showPreview = async () => {
    setBusy(true);
    setError(null);
    setConfirming(false);
    const r = await call(commands.previewPrune(project));
    setBusy(false);
    if (!r.ok) return setError(r.error);
    setPreview(r.data);
  };

  const apply = async () => {
    setBusy(true);
    setError(null);
    setConfirming(false);
    const r = await call(commands.applyRetention(project));
    setBusy(false);
    if (!r.ok) return setError(r.error);
    setPreview(r.data);
    const n = r.data.removed.length;
    setNotice(n === 0 ? "Nothing to remove." : `Removed ${n} backup${n === 1 ? "" : "s"}.`);
    store.reload(keys.backups(project));
    store.reload(keys.project(project));
  };

  return (
    <section className="panel" aria-label="Retention" data-testid="retention-section">
      <h2 className="panel-title">Retention</h2>
      {retention.status === "loading" && (
        <p className="muted small" data-testid="retention-loading">
          Loading the retention policy…
        </p>
      )}
      {retention.status === "error" && (
        <ErrorNotice error={retention.error} testId="retention-error" onRetry={() => store.reload(keys.retention(project))} />
      )}
      {view && (
        <p className="small" data-testid="retention-rules">
          Saved policy: <strong>{policyWords(view.policy)}</strong>. Options combine: a backup any rule keeps is kept; the newest good
          backup is never removed. Periods are counted in{" "}
          <span data-testid="retention-zone">{view.time_zone === "Etc/UTC" ? "UTC" : view.time_zone}</span>.
        </p>
      )}
      <div className="form" data-testid="retention-editor">
        <RetentionPresets fields={fields} group={`retention-preset-${project}`} onSetAll={setAll} />
        {view && presetOf(fieldsOf(view.policy)) === "everything" && !dirty && (
          <p className="small notice notice-warn" data-testid="retention-keeps-everything">
            This project keeps every backup until you choose rules: its folder grows with each backup. Choose the
            recommended rules and save them to keep a year of history in about 23 backups.
          </p>
        )}
        <RetentionFields fields={fields} onEdit={edit} />
        {error && <ErrorNotice error={error} testId="retention-action-error" />}
        {notice && (
          <p className="notice notice-ok small" role="status" data-testid="retention-notice">
            {notice}
          </p>
        )}
        <div className="form-actions">
          <button type="button" className="btn btn-primary" onClick={() => void save()} disabled={busy} data-testid="retention-save">
            Save policy
          </button>
          <button
            type="button"
            className="btn"
            onClick={() => void showPreview()}
            disabled={busy || dirty}
            title={dirty ? "Save the policy to preview it" : "What the saved policy keeps and removes now"}
            data-testid="retention-preview"
          >
            Preview
          </button>
          {!confirming ? (
            <button
              type="button"
              className="btn btn-danger"
              onClick={() => setConfirming(true)}
              disabled={busy || dirty}
              data-testid="retention-apply"
            >
              Apply now…
            </button>
          ) : (
            <>
              <span className="small">Delete every backup the saved policy does not keep?</span>
              <button type="button" className="btn btn-danger" onClick={() => void apply()} data-testid="retention-apply-confirm">
                Delete them
              </button>
              <button type="button" className="btn btn-quiet" onClick={() => setConfirming(false)} data-testid="retention-apply-cancel">
                Cancel
              </button>
            </>
          )}
        </div>
      </div>
      {preview && (
        <div data-testid="retention-preview-result" data-dry-run={String(preview.dry_run)}>
          <p className="small muted">
            {preview.dry_run ? "Preview" : "Applied"} of “{preview.policy}” (zone {preview.time_zone}):{" "}
            {preview.kept.length} kept, {preview.removed.length} {preview.dry_run ? "would be removed" : "removed"}
            {preview.skipped.length > 0 ? `, ${preview.skipped.length} left alone` : ""}.
          </p>
          <PruneList outcome={preview} />
        </div>
      )}
    </section>
  );
}
