// The project page's "Point in time" card (issue 46 item 6): whether the project's changes are
// captured, the restorable windows up to now on a band with the backups (a moment is chosen on it
// and looked inside, compared, drilled or restored from here: PitrMoment, issue 64 item 3), how
// long ago capture last had everything, the server's disk held for it, and which tables are
// covered. The engine decides what is restorable (its windows); this card only draws them.
import { useCallback, useEffect, useState } from "react";
import { commands, type CaptureMode, type ErrorPayload, type Modes, type PitrStatus, type Window } from "../../bindings";
import { Details } from "../../components/Details";
import { ErrorNotice } from "../../components/ErrorNotice";
import { countOf, formatBytes, formatDuration } from "../../components/format";
import { toErrorPayload } from "../../ipc/errors";
import { localSeconds, windowEndMs, windowStartMs } from "../../wizard/pitr/time";
import type { BandBackup } from "../../wizard/pitr/Timeline";
import { type MomentActions, PitrMoment } from "./PitrMoment";
import "./pitr.css";

/** A window's end in the app's date format, local, to the whole second that is restorable (issue
 * 64 item 3: "2026-11-28T12:30:32.231895Z" on screen). */
function windowText(w: Window, end: "from" | "to"): string {
  return localSeconds(end === "from" ? windowStartMs(w.from, w.to) : windowEndMs(w.to));
}

/** Past this many seconds the lag is shown in amber (the engine's own At risk rule is the dashboard's). */
const LAG_WARN_SECONDS = 60;
const REFRESH_MS = 5000;

type Busy = null | "enable" | "disable" | "capture" | "identity";

/** The two captures in the app's words (the engine's logical and physical). */
const MODE_WORDS: Record<CaptureMode, { name: string; what: string }> = {
  logical: {
    name: "Changes to this database’s tables",
    what: "Reads each change to the project’s tables. The first backup is an ordinary backup of this database; a change to a table’s columns starts a new window.",
  },
  physical: {
    name: "Everything the server writes",
    what: "Streams the server’s own change log, for every database on it: every table and every change to their definitions, in one window. The first backup copies the whole server, and restoring needs the server programs of its PostgreSQL version.",
  },
};
const OTHER: Record<CaptureMode, CaptureMode> = { logical: "physical", physical: "logical" };

async function call<T>(run: () => Promise<{ status: "ok"; data: T } | { status: "error"; error: ErrorPayload }>) {
  try {
    const r = await run();
    return r.status === "ok" ? ({ ok: true, data: r.data } as const) : ({ ok: false, error: toErrorPayload(r.error) } as const);
  } catch (e) {
    return { ok: false, error: toErrorPayload(e) } as const;
  }
}

const NO_BACKUPS: BandBackup[] = [];

type CardProps = MomentActions & {
  project: string;
  now?: () => number;
  /** The project's backups: ticks on the band. */
  backups?: readonly BandBackup[];
};

export function PitrCard({ project, now = () => Date.now(), backups = NO_BACKUPS, ...actions }: CardProps) {
  const [status, setStatus] = useState<PitrStatus | null>(null);
  const [loadError, setLoadError] = useState<ErrorPayload | null>(null);
  const [actionError, setActionError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState<Busy>(null);
  const [confirmOff, setConfirmOff] = useState(false);
  const [said, setSaid] = useState<string | null>(null);
  // Which captures the server allows (asked once capture is seen off), and the one chosen.
  const [modes, setModes] = useState<Modes | null>(null);
  const [modesError, setModesError] = useState<ErrorPayload | null>(null);
  const [chosen, setChosen] = useState<CaptureMode | null>(null);
  // Off, the card is one line until the user asks to set capture up: it sits above the backups
  // list, and a card that grew while the server was asked moved the list's buttons under the
  // pointer (a click meant for Verify landed elsewhere). The server is asked only then, too.
  const [open, setOpen] = useState(false);

  const refresh = useCallback(async () => {
    const r = await call(() => commands.pitrStatus(project));
    if (r.ok) {
      setStatus(r.data);
      setLoadError(null);
    } else setLoadError(r.error);
  }, [project]);

  useEffect(() => {
    void refresh();
  }, [refresh]);
  // The engine's status connects to the database: it is asked again every few seconds only while
  // capture is on (the lag moves), not for a project that never turned it on.
  const polling = status?.enabled === true;
  const off = status !== null && !status.enabled;
  useEffect(() => {
    if (!off || !open) return;
    let live = true;
    void call(() => commands.pitrModes(project)).then((r) => {
      if (!live) return;
      if (r.ok) {
        setModes(r.data);
        setModesError(null);
      } else setModesError(r.error);
    });
    return () => {
      live = false;
    };
  }, [off, open, project]);
  // The engine's recommendation until the user picks; logical when the server was not asked.
  const mode: CaptureMode = chosen ?? modes?.recommended ?? "logical";
  useEffect(() => {
    if (!polling) return;
    const t = setInterval(() => {
      if (typeof document === "undefined" || document.visibilityState !== "hidden") void refresh();
    }, REFRESH_MS);
    return () => clearInterval(t);
  }, [polling, refresh]);

  const act = async (kind: Exclude<Busy, null>) => {
    setBusy(kind);
    setActionError(null);
    setSaid(null);
    const r =
      kind === "enable"
        ? await call(() => commands.pitrEnable(project, mode))
        : kind === "disable"
          ? await call(() => commands.pitrDisable(project))
          : await call(() => commands.pitrCaptureNow(project));
    setBusy(null);
    setConfirmOff(false);
    if (!r.ok) {
      setActionError(r.error);
      return;
    }
    if (kind === "capture") {
      const pass = r.data as { commits: number; segments: number; new_base_why: string | null; dropped: string | null };
      setSaid(
        (pass.commits === 0
          ? "Up to date: nothing changed since the last capture."
          : `Captured ${countOf(pass.commits, "transaction")} made since the last capture.`) +
          (pass.new_base_why ? ` A new window started: ${pass.new_base_why}.` : "") +
          (pass.dropped ? ` Capture stopped: ${pass.dropped}.` : ""),
      );
    }
    await refresh();
  };

  // A table without a replica identity: REPLICA IDENTITY FULL set on it (the engine checks the
  // name against the database's tables), then a new window starts with it.
  const captureTable = async (table: string) => {
    setBusy("identity");
    setActionError(null);
    setSaid(null);
    const r = await call(() => commands.pitrReplicaIdentityFull(project, [table]));
    setBusy(null);
    if (!r.ok) {
      setActionError(r.error);
      return;
    }
    setSaid(`${table} is captured now: a new window started with it at ${r.data.base_at}.`);
    await refresh();
  };

  return (
    <section className="panel pitr-card" aria-label="Point in time" data-testid="pitr-card">
      <h2 className="panel-title">Point in time</h2>
      {loadError && !status && <ErrorNotice error={loadError} testId="pitr-load-error" onRetry={() => void refresh()} />}
      {!status && !loadError && (
        <p className="muted small pitr-line" data-testid="pitr-loading">
          Loading…
        </p>
      )}
      {status && !status.enabled && (
        <div data-testid="pitr-off">
          <p className="sentence pitr-line">
            <span>Off. Capture this project’s changes as they happen, to restore to any second, not only to the last backup.</span>
            {!open && (
              <button type="button" className="btn btn-small" onClick={() => setOpen(true)} data-testid="pitr-setup">
                Set up…
              </button>
            )}
          </p>
          {open && <PitrSetup modes={modes} modesError={modesError} mode={mode} busy={busy} onChoose={setChosen} onEnable={() => void act("enable")} onClose={() => setOpen(false)} />}
        </div>
      )}
      {status && status.enabled && (
        <div data-testid="pitr-on">
          <Lag seconds={status.rpo_seconds} />
          <WindowsBar project={project} status={status} nowMs={now()} backups={backups} actions={actions} />
          <Retained status={status} />
          <Coverage status={status} busy={busy} onCapture={(table) => void captureTable(table)} />
          {confirmOff ? (
            <div className="notice notice-warn small" role="alert" data-testid="pitr-off-confirm">
              <p>
                Stop capturing? The times already captured stay restorable, but nothing new is captured after now.
              </p>
              <div className="form-actions">
                <button
                  type="button"
                  className="btn btn-small btn-danger"
                  disabled={busy !== null}
                  onClick={() => void act("disable")}
                  data-testid="pitr-off-yes"
                >
                  {busy === "disable" ? "Turning off…" : "Turn off"}
                </button>
                <button type="button" className="btn btn-small btn-quiet" onClick={() => setConfirmOff(false)} data-testid="pitr-off-no">
                  Keep capturing
                </button>
              </div>
            </div>
          ) : (
            <div className="form-actions">
              <button
                type="button"
                className="btn"
                disabled={busy !== null}
                onClick={() => void act("capture")}
                data-testid="pitr-capture-now"
              >
                {busy === "capture" ? "Capturing…" : "Capture now"}
              </button>
              <button
                type="button"
                className="btn btn-quiet"
                disabled={busy !== null}
                onClick={() => setConfirmOff(true)}
                data-testid="pitr-disable"
              >
                Turn off…
              </button>
            </div>
          )}
        </div>
      )}
      {status && status.stray_slots.length > 0 && (
        <div className="notice notice-warn small" role="status" data-testid="pitr-stray">
          <p className="notice-title">
            {status.stray_slots.length === 1
              ? "A capture no project owns holds the server’s disk"
              : `${status.stray_slots.length} captures no project owns hold the server’s disk`}
          </p>
          <p>
            Left by a removed backup server or a deleted project, it keeps{" "}
            {formatBytes(status.stray_slots.reduce((sum, x) => sum + x.retained_bytes, 0))} of changes on the server until it is
            dropped (pg_drop_replication_slot).
          </p>
          <Details testId="pitr-stray-names">
            <ul>
              {status.stray_slots.map((x) => (
                <li key={x.slot} className="mono">
                  {x.slot}: {formatBytes(x.retained_bytes)}
                  {x.active ? " (in use)" : ""}
                </li>
              ))}
            </ul>
          </Details>
        </div>
      )}
      {said && (
        <p className="small" role="status" data-testid="pitr-said">
          {said}
        </p>
      )}
      {actionError && <ErrorNotice error={actionError} testId="pitr-error" reveal />}
    </section>
  );
}

/** Setting capture up (opened by "Set up…"): what it needs, which capture the server allows, Turn on. */
function PitrSetup({
  modes,
  modesError,
  mode,
  busy,
  onChoose,
  onEnable,
  onClose,
}: {
  modes: Modes | null;
  modesError: ErrorPayload | null;
  mode: CaptureMode;
  busy: Busy;
  onChoose: (m: CaptureMode) => void;
  onEnable: () => void;
  onClose: () => void;
}) {
  return (
    <div data-testid="pitr-setup-panel">
      <p className="muted small">
        It needs a database role with the REPLICATION attribute: one that owns the tables (as Supabase’s postgres role) on a
        server with wal_level = logical, or one the server allows a replication connection (a self-hosted server). Turning it on
        takes a backup first, which may take minutes.
      </p>
      <CaptureChoice modes={modes} error={modesError} mode={mode} busy={busy} onChoose={onChoose} />
      <div className="form-actions">
        <button
          type="button"
          className="btn btn-primary"
          disabled={busy !== null || (modes !== null && modes.recommended === null)}
          onClick={onEnable}
          data-testid="pitr-enable"
        >
          {busy === "enable" ? "Turning on — taking the first backup…" : "Turn on"}
        </button>
        <button type="button" className="btn btn-quiet" disabled={busy !== null} onClick={onClose} data-testid="pitr-setup-close">
          Not now
        </button>
      </div>
    </div>
  );
}

/**
 * How to capture: a choice when the server allows both (the engine's recommendation first
 * chosen), else the one it allows and why not the other, or why neither.
 */
function CaptureChoice({
  modes,
  error,
  mode,
  busy,
  onChoose,
}: {
  modes: Modes | null;
  error: ErrorPayload | null;
  mode: CaptureMode;
  busy: Busy;
  onChoose: (m: CaptureMode) => void;
}) {
  if (error)
    return (
      <p className="muted small" data-testid="pitr-modes-unknown">
        Could not ask the server which capture it allows ({error.message}); Turn on tries{" "}
        {MODE_WORDS.logical.name.toLowerCase()}.
      </p>
    );
  if (!modes)
    return (
      <p className="muted small" data-testid="pitr-modes-loading">
        Asking the server which capture it allows…
      </p>
    );
  const why: Record<CaptureMode, string | null> = { logical: modes.logical, physical: modes.physical };
  if (modes.recommended === null)
    return (
      <div className="notice notice-warn small" role="status" data-testid="pitr-modes-none">
        <p className="notice-title">This server allows no capture yet</p>
        <ul>
          {(["logical", "physical"] as const).map((m) => (
            <li key={m}>
              {MODE_WORDS[m].name}: {why[m]}
            </li>
          ))}
        </ul>
      </div>
    );
  const only = why.logical === null && why.physical === null ? null : modes.recommended;
  if (only !== null) {
    const other = OTHER[only];
    return (
      <div className="small" data-testid="pitr-modes-one" data-mode={only}>
        <p>
          Captures {MODE_WORDS[only].name.toLowerCase()}: {MODE_WORDS[only].what}
        </p>
        <p className="muted" data-testid="pitr-modes-why-not">
          {MODE_WORDS[other].name} is not possible here: {why[other]}
        </p>
      </div>
    );
  }
  return (
    <fieldset className="pitr-modes small" data-testid="pitr-modes" data-mode={mode}>
      <legend>What to capture</legend>
      {(["logical", "physical"] as const).map((m) => (
        <label key={m} className="pitr-mode">
          <input
            type="radio"
            name="pitr-mode"
            checked={mode === m}
            disabled={busy !== null}
            onChange={() => onChoose(m)}
            data-testid={`pitr-mode-${m}`}
          />
          <span>
            <strong>{MODE_WORDS[m].name}</strong>
            {modes.recommended === m ? " (recommended)" : ""}
            <br />
            <span className="muted">{MODE_WORDS[m].what}</span>
          </span>
        </label>
      ))}
    </fieldset>
  );
}

function Lag({ seconds }: { seconds: number | null }) {
  if (seconds === null)
    return (
      <p className="text-warn" data-testid="pitr-lag" data-late="true">
        Capture is not running now.
      </p>
    );
  const late = seconds > LAG_WARN_SECONDS;
  return (
    <p className={late ? "text-warn" : undefined} data-testid="pitr-lag" data-late={late ? "true" : "false"}>
      Changes read {seconds < 1 ? "just now" : `${formatDuration(seconds)} ago`}
    </p>
  );
}

/** The band of the windows up to now (a moment chosen on it), then the windows in words. */
function WindowsBar({
  project,
  status,
  nowMs,
  backups,
  actions,
}: {
  project: string;
  status: PitrStatus;
  nowMs: number;
  backups: readonly BandBackup[];
  actions: MomentActions;
}) {
  const windows = [...status.windows].sort((a, b) => a.from - b.from);
  if (windows.length === 0)
    return (
      <p className="muted small" data-testid="pitr-no-windows">
        No time can be restored yet: the first window starts when the first backup of the capture is done.
      </p>
    );
  const last = windows[windows.length - 1]!;
  const behind = status.rpo_seconds === null || status.rpo_seconds > LAG_WARN_SECONDS;
  const breaks: { after: Window; why: string }[] = windows
    .slice(0, -1)
    .map((w) => ({ after: w, why: w.broken_by ?? "capture stopped here" }));
  return (
    <div data-testid="pitr-timeline">
      <PitrMoment project={project} windows={windows} backups={backups} nowMs={nowMs} {...actions} />
      <ul className="pitr-windows small" data-testid="pitr-window-list">
        {windows.map((w, i) => (
          <li key={`${w.chain_id}-${w.from}`}>
            Restorable from {windowText(w, "from")} to {windowText(w, "to")}
            {i < breaks.length && (
              <span className="text-warn" data-testid="pitr-break">
                {" "}
                — then a break: {breaks[i]!.why}
              </span>
            )}
          </li>
        ))}
        {behind && (
          <li className="text-warn" data-testid="pitr-behind">
            From {windowText(last, "to")} to now nothing is restorable yet.
          </li>
        )}
      </ul>
      {status.ended.length > 0 && (
        <Details testId="pitr-ended" summary={`Why earlier capture ended (${status.ended.length})`}>
          <ul>
            {status.ended.map((why, i) => (
              <li key={i}>{why}</li>
            ))}
          </ul>
        </Details>
      )}
    </div>
  );
}

function Retained({ status }: { status: PitrStatus }) {
  const held = status.slot?.retained_bytes ?? null;
  if (held === null) return null;
  const limit = status.effective_max_retained ?? status.max_retained;
  const lowered =
    status.max_retained !== null && status.effective_max_retained !== null && status.free_bytes !== null && status.effective_max_retained < status.max_retained;
  return (
    <p className="small" data-testid="pitr-retained">
      The server keeps {formatBytes(held)} of changes for it
      {limit !== null ? ` (limit ${formatBytes(limit)}; past it capture stops to protect the server’s disk)` : ""}.
      {lowered && status.free_bytes !== null
        ? ` The limit is lower than the ${formatBytes(status.max_retained ?? 0)} set: the server’s disk has ${formatBytes(status.free_bytes)} free, and capture may hold a quarter of it.`
        : ""}
    </p>
  );
}

function Coverage({ status, busy, onCapture }: { status: PitrStatus; busy: Busy; onCapture: (table: string) => void }) {
  const c = status.coverage;
  if (!c) return null;
  const offered = new Set(c.no_replica_identity ?? []);
  return (
    <Details testId="pitr-coverage" summary={`Tables: ${c.covered.length} captured, ${c.not_covered.length} not captured`}>
      {c.not_covered.length > 0 && (
        <>
          <p>Not captured (restored as they were in the backup the window starts from):</p>
          <ul data-testid="pitr-not-covered">
            {c.not_covered.map(([table, why]) => (
              <li key={table}>
                <span className="mono">{table}</span>: {why}
                {offered.has(table) && (
                  <>
                    {" "}
                    <button
                      type="button"
                      className="btn btn-small"
                      disabled={busy !== null}
                      onClick={() => onCapture(table)}
                      data-testid="pitr-identity-full"
                      title="The server then logs whole rows of this table's updates and deletes (what capture needs for a table without a primary key), and a new window starts with a new backup."
                    >
                      {busy === "identity" ? "Turning on…" : "Capture it too"}
                    </button>
                  </>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
      {c.covered.length > 0 && (
        <>
          <p>Captured:</p>
          <ul data-testid="pitr-covered">
            {c.covered.map((t) => (
              <li key={t} className="mono">
                {t}
              </li>
            ))}
          </ul>
        </>
      )}
    </Details>
  );
}
