// The Backups tab's list: a timeline under local-day headings (one virtual list, so 10,000
// backups scroll as 10). A row: time (zone named), type in words, size (compressed), verified and
// proven badges, where it came from (made here, backup server, artifact, imported), why retention
// keeps it (the engine's words: "newest · daily") or when it goes, and a menu of its actions.
import { useEffect, useMemo, useState } from "react";
import type { BackupRow, BackupStatus, BackupType, RemovalForecast, SafetyBackup } from "../../bindings";
import { formatBytes } from "../../components/format";
import { tenantWords } from "../../components/names";
import { VirtualList } from "../../components/VirtualList";
import { ORIGIN_SENTENCE, ORIGIN_WORDS } from "../../words";
import { dayAndTime, clockTime, clockTimeSeconds, localDay } from "./time";
import { type TimelineEntry } from "./timeline";
import "./tabs.css";
import "./timeline-origin.css";

export const ROW_HEIGHT = 34;
export const LIST_HEIGHT = 340;

export const STATUS_LABEL: Record<BackupStatus, string> = {
  verified: "Verified",
  unverified: "Not verified",
  corrupt: "Damaged",
  missing: "Missing",
};

/** What a backup holds, in words. */
export const TYPE_WORDS: Record<BackupType, string> = {
  database: "database",
  full: "database, storage, config",
  storage: "storage",
  config: "config",
  incremental: "storage (incremental)",
};

/** Why retention keeps a backup (the engine's reasons), or when it goes. */
/**
 * An ISO week ("2026-W48", or "weekly 2026-W48", as the retention names its periods) as a person
 * reads it: "week of 2026-11-23", its Monday in the app's date format (issue 44: the side panel
 * said "weekly 2026-W48").
 */
export function isoWeekWords(text: string): string {
  return text.replace(/\b(?:weekly )?(\d{4})-W(\d{2})\b/g, (all, y: string, w: string) => {
    const year = Number(y);
    const week = Number(w);
    if (week < 1 || week > 53) return all;
    // Week 1 holds 4 January; its Monday, then (week - 1) weeks on.
    const jan4 = Date.UTC(year, 0, 4);
    const dow = (new Date(jan4).getUTCDay() + 6) % 7; // Monday 0
    const monday = new Date(jan4 - dow * 86_400_000 + (week - 1) * 7 * 86_400_000);
    const pad = (n: number) => String(n).padStart(2, "0");
    return `week of ${monday.getUTCFullYear()}-${pad(monday.getUTCMonth() + 1)}-${pad(monday.getUTCDate())}`;
  });
}

export function removalLabel(f: RemovalForecast | undefined, timeZone?: string): string {
  if (!f) return "";
  // Retention removes the archive here; a copy locked at a destination stays until its date.
  const locked = (f.locked ?? []).map((l) => `; ${l.note}`).join("");
  if (f.next_prune) return `removed at the next clean-up${locked}`;
  const why = f.reasons?.length ? `kept: ${f.reasons.map(isoWeekWords).join(", ")}` : "kept by the retention policy";
  if (f.removed_at) return `${why}; will be removed on ${dayAndTime(f.removed_at, timeZone)}${locked}`;
  return `${why}${locked}`;
}

/** The same, short, for the row ("newest · daily", "daily · until 2026-12-02"); the sentence is its title. */
export function removalShort(f: RemovalForecast | undefined, timeZone?: string): string {
  if (!f) return "";
  const locked = (f.locked ?? []).length > 0 ? ` · locked at ${(f.locked ?? []).map((l) => l.destination).join(", ")}` : "";
  if (f.next_prune) return `goes at next clean-up${locked}`;
  const why = f.kept_because || "kept";
  if (f.removed_at) return `${why} · until ${localDay(f.removed_at, timeZone).key}${locked}`;
  return `${why}${locked}`;
}

/** One action of a backup's menu: enabled, or disabled with the reason (its title). */
export type RowAction = { id: string; label: string; run: () => void; disabledWhy: string | null };

type Props = {
  entries: TimelineEntry[];
  /** Index into `entries` of the selected backup. */
  selected: number | null;
  onSelect: (i: number) => void;
  onActivate: (i: number) => void;
  forecast: Map<string, RemovalForecast>;
  proven: Set<string>;
  actions: (b: BackupRow) => RowAction[];
  height?: number;
};

export function BackupTimeline({ entries, selected, onSelect, onActivate, forecast, proven, actions, height = LIST_HEIGHT }: Props) {
  const [menuFor, setMenuFor] = useState<string | null>(null);
  // Two backups of one minute would show the same time: those carry their seconds.
  const shared = useMemo(() => sharedMinutes(entries), [entries]);
  // A click outside the open menu closes it.
  useEffect(() => {
    if (menuFor === null) return;
    const close = (e: MouseEvent) => {
      if (!(e.target instanceof Element) || !e.target.closest(".tl-menu-cell")) setMenuFor(null);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [menuFor]);
  return (
    <VirtualList
      items={entries}
      rowHeight={ROW_HEIGHT}
      height={Math.min(height, Math.max(ROW_HEIGHT, entries.length * ROW_HEIGHT))}
      getKey={(e) => (e.kind === "day" ? `day:${e.key}` : e.backup.id)}
      selected={selected}
      onSelect={onSelect}
      onActivate={onActivate}
      selectable={(e) => e.kind === "backup"}
      rowTestId={(e) => (e.kind === "day" ? "backups-day" : "backups-row")}
      label="Backups by day: arrow keys select, Enter verifies"
      testId="backups"
      header={
        <div className="tl-row tl-head" aria-hidden="true">
          <span>Time</span>
          <span>Type</span>
          <span className="num">Size (compressed)</span>
          <span>From</span>
          <span>State</span>
          <span>Retention</span>
          <span />
        </div>
      }
      renderRow={(e) =>
        e.kind === "day" ? (
          <div className="tl-day" data-day={e.key}>
            <strong>{e.label}</strong>
            <span className="muted small">
              {" "}
              · {e.count} {e.count === 1 ? "backup" : "backups"}
            </span>
          </div>
        ) : (
          <TimelineRow
            b={e.backup}
            seconds={shared.has(minuteOf(e.backup.created_at))}
            removal={removalLabel(forecast.get(e.backup.id))}
            removalShort={removalShort(forecast.get(e.backup.id))}
            proven={proven.has(e.backup.id)}
            menuOpen={menuFor === e.backup.id}
            onMenu={(open) => setMenuFor(open ? e.backup.id : null)}
            actions={actions}
          />
        )
      }
    />
  );
}

/** The local day and minute of a time ("2026-11-26 08:08"). */
function minuteOf(iso: string): string {
  return `${localDay(iso).key} ${clockTime(iso)}`;
}

/**
 * The minutes more than one backup of the list was made in, at different seconds: their rows
 * carry the seconds. Made in the same second, the seconds would not tell them apart (issue 44:
 * two rows read "18:12:16" while the rest of the screen said "18:12"): they keep HH:MM, and the
 * side panel names each one apart (`backupNames`).
 */
export function sharedMinutes(entries: readonly TimelineEntry[]): Set<string> {
  const seconds = new Map<string, Set<string>>();
  for (const e of entries) {
    if (e.kind !== "backup") continue;
    const m = minuteOf(e.backup.created_at);
    const at = seconds.get(m) ?? new Set<string>();
    at.add(clockTimeSeconds(e.backup.created_at));
    seconds.set(m, at);
  }
  return new Set([...seconds].filter(([, at]) => at.size > 1).map(([m]) => m));
}

type RowProps = {
  b: BackupRow;
  /** Show the seconds (another backup of the list has the same minute). */
  seconds: boolean;
  removal: string;
  removalShort: string;
  proven: boolean;
  menuOpen: boolean;
  onMenu: (open: boolean) => void;
  actions: (b: BackupRow) => RowAction[];
};

function TimelineRow({ b, seconds, removal, removalShort, proven, menuOpen, onMenu, actions }: RowProps) {
  const origin = b.origin ?? "local";
  return (
    <div className={`tl-row${b.suspicious ? " tl-row-suspicious" : ""}`} data-backup-id={b.id} data-path={b.path}>
      <span data-testid="backup-date" title={dayAndTime(b.created_at)}>
        {seconds ? clockTimeSeconds(b.created_at) : clockTime(b.created_at)}
      </span>
      <span data-testid="backup-row-type">{TYPE_WORDS[b.backup_type]}</span>
      <span className="num" title="Size of the archive file (compressed)">
        {formatBytes(b.size)}
      </span>
      {b.tenant ? (
        <span
          className="tl-origin tl-origin-tenant"
          title={`One tenant's part of a backup: the rows of ${tenantWords(b.tenant).words} only, split from a backup of the whole database`}
          data-testid="backup-tenant"
          data-tenant={b.tenant}
        >
          {tenantWords(b.tenant).words}
        </span>
      ) : (
        <span className={`tl-origin tl-origin-${origin}`} title={ORIGIN_SENTENCE[origin]} data-testid="backup-origin" data-origin={origin}>
          {ORIGIN_WORDS[origin]}
        </span>
      )}
      <span className="tl-badges">
        <span
          className={`status status-${b.status}`}
          title={b.verify_problem ?? (b.verified_at ? `Last checked ${dayAndTime(b.verified_at)}` : undefined)}
          data-testid="backup-status"
          data-status={b.status}
        >
          {STATUS_LABEL[b.status]}
        </span>
        {proven && (
          <span className="badge badge-ok" title="A restore drill of this backup passed" data-testid="backup-proven">
            Proven
          </span>
        )}
        {b.suspicious && (
          <span
            className="badge badge-stale"
            title={`Suspicious, compared with the previous good backup: ${b.suspicious}`}
            data-testid="backup-suspicious"
          >
            Suspicious: {b.suspicious}
          </span>
        )}
        {b.pinned && (
          <span className="badge badge-never" title="Pinned: kept by every retention" data-testid="backup-pinned">
            Pinned
          </span>
        )}
      </span>
      <span className="small muted tl-removal" data-testid="backup-removal" title={removal ? `${removal} (if the schedule runs on time)` : undefined}>
        {removalShort}
      </span>
      <span className="tl-menu-cell" onClick={(e) => e.stopPropagation()} onDoubleClick={(e) => e.stopPropagation()}>
        <button
          type="button"
          className="btn btn-quiet btn-small"
          aria-haspopup="menu"
          aria-expanded={menuOpen}
          aria-label={`Actions for the backup of ${dayAndTime(b.created_at)}`}
          onClick={() => onMenu(!menuOpen)}
          data-testid="backup-row-menu"
        >
          ⋯
        </button>
        {menuOpen && (
          <div className="tl-menu" role="menu" data-testid="backup-row-menu-list" onKeyDown={(e) => e.key === "Escape" && onMenu(false)}>
            {actions(b).map((a) => (
              <button
                key={a.id}
                type="button"
                role="menuitem"
                className="split-item"
                disabled={a.disabledWhy !== null}
                title={a.disabledWhy ?? undefined}
                onClick={() => {
                  onMenu(false);
                  a.run();
                }}
                data-testid={`backup-row-${a.id}`}
              >
                {a.label}
                {/* A disabled action says why, beside it (issue 64 item 6). */}
                {a.disabledWhy !== null && (
                  <span className="split-why" data-testid={`backup-row-${a.id}-why`}>
                    {a.disabledWhy}
                  </span>
                )}
              </button>
            ))}
          </div>
        )}
      </span>
    </div>
  );
}

/** The project's safety backups, under the timeline and in its columns: files only (not catalog
 * backups), so no restore or delete by id; their path is shown to copy. */
export function SafetyBackupRows({ items }: { items: SafetyBackup[] }) {
  if (items.length === 0) return null;
  return (
    <div className="tl-safety" role="list" aria-label="Safety backups" data-testid="safety-backups">
      <div className="tl-day">
        <strong>Safety backups</strong>
        <span className="muted small">
          {" "}
          · {items.length} · {ORIGIN_SENTENCE.safety.toLowerCase()}
        </span>
      </div>
      {items.map((s) => (
        <div key={s.path} className="tl-row" role="listitem" data-testid="safety-backup-row" data-path={s.path}>
          <span data-testid="safety-backup-date">
            {dayAndTime(s.created_at)}
          </span>
          <span title={`Database ${s.target.replace(/^safety-/, "")}`}>{TYPE_WORDS.database}</span>
          <span className="num" title="Size of the archive file (compressed)">
            {formatBytes(s.size)}
          </span>
          <span className="tl-origin tl-origin-safety" title={ORIGIN_SENTENCE.safety} data-testid="backup-origin" data-origin="safety">
            {ORIGIN_WORDS.safety}
          </span>
          <span className="tl-badges">{s.encrypted && <span className="badge" data-testid="safety-backup-encrypted">encrypted</span>}</span>
          <code className="mono small tl-safety-path" data-testid="safety-backup-path" title={s.path}>
            {s.path}
          </code>
          <span />
        </div>
      ))}
    </div>
  );
}
