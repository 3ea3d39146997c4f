import { type FormEvent, useCallback, useEffect, useId, useState } from "react";
import {
  type AppInfo,
  commands,
  type DesktopSettings,
  type EncryptionMode,
  type ErrorPayload,
  type ScheduleNotifications,
  type Theme,
  type PgTools,
  type ToolsReport,
} from "../bindings";
import { toErrorPayload } from "../ipc/errors";
import { call } from "../ipc/call";
import { autostartChanged } from "../schedules/AutostartOffer";
import { Details } from "../components/Details";
import { ErrorNotice } from "../components/ErrorNotice";
import { useAppSettings } from "../settings/appSettings";
import { UpdateSection } from "../updates/UpdateSection";
import { About } from "../settings/About";
import { DefaultEncryption } from "../protection/DefaultEncryption";

/** `<base>/<child>` with the separator the base already uses (Windows paths use `\`). */
export function joinPath(base: string, ...parts: string[]): string {
  const sep = base.includes("\\") && !base.includes("/") ? "\\" : "/";
  return [base.replace(/[\\/]+$/, ""), ...parts].join(sep);
}

/** The form as typed: numbers stay text until saved, so a half-typed value is not lost. */
type Draft = {
  notifications: boolean;
  start_minimised: boolean;
  schedule_notifications: ScheduleNotifications;
  schedule_concurrency: number;
  theme: Theme;
  default_backup_dir: string;
  /** "auto" (search), "custom", or the folder of one detected pair. */
  pg_choice: string;
  pg_custom: string;
  check_for_updates: boolean;
};

function toDraft(s: DesktopSettings, tools: ToolsReport | null): Draft {
  const detected = tools?.found.some((t) => t.dir === s.pg_bin) ?? false;
  return {
    notifications: s.notifications,
    start_minimised: s.start_minimised,
    schedule_notifications: s.schedule_notifications,
    schedule_concurrency: s.schedule_concurrency,
    theme: s.theme,
    default_backup_dir: s.default_backup_dir ?? "",
    pg_choice: s.pg_bin === null ? "auto" : detected ? s.pg_bin : "custom",
    pg_custom: s.pg_bin !== null && !detected ? s.pg_bin : "",
    check_for_updates: s.check_for_updates ?? true,
  };
}

/** The settings to save. */
export function fromDraft(d: Draft): { settings: DesktopSettings } {
  const pg_bin = d.pg_choice === "auto" ? null : d.pg_choice === "custom" ? d.pg_custom.trim() || null : d.pg_choice;
  return {
    settings: {
      notifications: d.notifications,
      start_minimised: d.start_minimised,
      schedule_notifications: d.schedule_notifications,
      schedule_concurrency: d.schedule_concurrency,
      theme: d.theme,
      default_backup_dir: d.default_backup_dir.trim() || null,
      pg_bin,
      check_for_updates: d.check_for_updates,
    },
  };
}

type Load =
  | { status: "loading" }
  | { status: "ready"; tools: ToolsReport | null; toolsError: ErrorPayload | null; info: AppInfo | null }
  | { status: "error"; error: ErrorPayload };

type Props = { onBack: () => void };

export function Settings({ onBack }: Props) {
  const id = useId();
  const { saved: announceSaved } = useAppSettings();
  const [load, setLoad] = useState<Load>({ status: "loading" });
  const [draft, setDraft] = useState<Draft | null>(null);
  const [saving, setSaving] = useState(false);
  const [savedState, setSavedState] = useState<"clean" | "dirty" | "saved">("clean");
  const [saveError, setSaveError] = useState<ErrorPayload | null>(null);
  const [pickError, setPickError] = useState<ErrorPayload | null>(null);
  /** Starting at login and the encryption of new projects: kept elsewhere (the desktop's login
   * items; the engine's setting) but saved with the one Save like every field here. `saved*` is
   * what is in effect, the other what the form shows. */
  const [savedAutostart, setSavedAutostart] = useState<boolean | null>(null);
  const [autostart, setAutostartDraft] = useState<boolean | null>(null);
  const [autostartError, setAutostartError] = useState<ErrorPayload | null>(null);
  const [savedEncryption, setSavedEncryption] = useState<EncryptionMode | null>(null);
  const [encryption, setEncryptionDraft] = useState<EncryptionMode | null>(null);

  const refresh = useCallback(async () => {
    setLoad({ status: "loading" });
    try {
      const gotAutostart = (on: boolean) => {
        setSavedAutostart(on);
        setAutostartDraft(on);
      };
      void commands
        .getAutostart()
        .then((r) => gotAutostart(r.status === "ok" ? r.data : false))
        .catch(() => gotAutostart(false));
      void commands
        .getDefaultEncryption()
        .then((r) => {
          if (r.status !== "ok") return;
          setSavedEncryption(r.data.mode);
          setEncryptionDraft(r.data.mode);
        })
        .catch(() => {});
      const [settings, tools, info] = await Promise.all([
        commands.getDesktopSettings(),
        commands.detectTools().catch((e: unknown) => ({ status: "error" as const, error: toErrorPayload(e) })),
        commands.appInfo().catch(() => null),
      ]);
      if (settings.status === "error") return setLoad({ status: "error", error: toErrorPayload(settings.error) });
      const report = tools.status === "ok" ? tools.data : null;
      setDraft(toDraft(settings.data, report));
      setLoad({
        status: "ready",
        tools: report,
        toolsError: tools.status === "error" ? toErrorPayload(tools.error) : null,
        info: info?.status === "ok" ? info.data : null,
      });
    } catch (e) {
      setLoad({ status: "error", error: toErrorPayload(e) });
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => {
    setDraft((old) => (old ? { ...old, [key]: value } : old));
    setSavedState("dirty");
  };

  const choose = async (key: "default_backup_dir" | "pg_custom", title: string) => {
    setPickError(null);
    try {
      const result = await commands.pickPath("folder", title);
      if (result.status === "error") return setPickError(toErrorPayload(result.error));
      if (result.data === null) return; // cancelled: keep what is there
      set(key, result.data);
      if (key === "pg_custom") set("pg_choice", "custom");
    } catch (e) {
      setPickError(toErrorPayload(e));
    }
  };

  /** Applies the fields kept outside the desktop settings when they changed; false when one
   * was refused (its error is shown, the form keeps the user's choice). */
  const saveElsewhere = async (): Promise<boolean> => {
    let ok = true;
    setAutostartError(null);
    if (autostart !== null && autostart !== savedAutostart) {
      try {
        const r = await commands.setAutostart(autostart);
        if (r.status === "ok") {
          setSavedAutostart(r.data);
          setAutostartDraft(r.data);
          autostartChanged(r.data); // the offers elsewhere follow
        } else {
          setAutostartError(toErrorPayload(r.error));
          ok = false;
        }
      } catch (err) {
        setAutostartError(toErrorPayload(err));
        ok = false;
      }
    }
    if (encryption !== null && encryption !== savedEncryption) {
      const r = await commands.setDefaultEncryption(encryption).catch((err: unknown) => ({ status: "error" as const, error: toErrorPayload(err) }));
      if (r.status === "ok") {
        setSavedEncryption(r.data);
        setEncryptionDraft(r.data);
      } else {
        setSaveError(toErrorPayload(r.error));
        ok = false;
      }
    }
    return ok;
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!draft) return;
    setSaveError(null);
    const out = fromDraft(draft);
    setSaving(true);
    try {
      const result = await commands.setDesktopSettings(out.settings);
      if (result.status === "ok") {
        const tools = load.status === "ready" ? load.tools : null;
        setDraft(toDraft(result.data, tools));
        announceSaved(result.data);
        setSavedState((await saveElsewhere()) ? "saved" : "dirty");
      } else {
        setSaveError(toErrorPayload(result.error));
      }
    } catch (err) {
      setSaveError(toErrorPayload(err));
    } finally {
      setSaving(false);
    }
  };

  const header = (
    <div className="toolbar">
      <button type="button" className="btn btn-quiet" onClick={onBack} data-testid="settings-back">
        ← Projects
      </button>
      <h2 id={`${id}-title`} className="screen-title">
        Settings
      </h2>
    </div>
  );

  if (load.status === "loading" || (load.status === "ready" && !draft)) {
    return (
      <section aria-labelledby={`${id}-title`} className="form-screen">
        {header}
        <p className="muted" data-testid="settings-loading">
          Loading settings…
        </p>
      </section>
    );
  }
  if (load.status === "error" || !draft) {
    return (
      <section aria-labelledby={`${id}-title`} className="form-screen">
        {header}
        {load.status === "error" && (
          <ErrorNotice error={load.error} testId="settings-load-error" onRetry={() => void refresh()} />
        )}
      </section>
    );
  }

  const { tools, toolsError, info } = load;
  const defaultRoot = info ? joinPath(info.data_dir, "backups") : null;
  const effectiveRoot = draft.default_backup_dir.trim() || defaultRoot;

  return (
    <section aria-labelledby={`${id}-title`} className="form-screen" data-testid="settings">
      {header}
      <form className="panel form" onSubmit={save} noValidate data-testid="settings-form">
        <div className="field">
          <label htmlFor={`${id}-backup-dir`}>Default backup folder</label>
          <div className="path-row">
            <input
              id={`${id}-backup-dir`}
              type="text"
              value={draft.default_backup_dir}
              onChange={(e) => set("default_backup_dir", e.target.value)}
              placeholder={defaultRoot ?? "the data folder's backups/"}
              autoComplete="off"
              spellCheck={false}
              aria-describedby={`${id}-backup-dir-help`}
              data-testid="settings-backup-dir"
            />
            <button
              type="button"
              className="btn"
              onClick={() => void choose("default_backup_dir", "Default backup folder")}
              data-testid="settings-backup-dir-choose"
            >
              Choose…
            </button>
            <button
              type="button"
              className="btn btn-quiet"
              onClick={() => set("default_backup_dir", "")}
              disabled={!draft.default_backup_dir}
              data-testid="settings-backup-dir-default"
            >
              Use default
            </button>
          </div>
          <p className="field-help" id={`${id}-backup-dir-help`} data-testid="settings-backup-dir-effective">
            {effectiveRoot ? (
              <>
                Projects without their own folder back up to{" "}
                <span className="mono">{joinPath(effectiveRoot, "<project>")}</span>
                {!draft.default_backup_dir.trim() && " (the default)"}.
              </>
            ) : (
              "Empty: the data folder's backups/<project>."
            )}
          </p>
        </div>

        <fieldset className="choice-list" data-testid="settings-pg-bin">
          <legend>PostgreSQL tools for backups and restores</legend>
          {tools?.configured_outside && (
            // Not a problem, so not amber (issue 64 item 7: a warning above every Settings screenshot
            // read as if something were wrong, and the ticked choice below seemed to contradict it).
            <div className="notice notice-neutral small" role="note" data-testid="settings-pg-outside">
              <p>
                In use now: the PostgreSQL tools in <span className="mono">{tools.configured}</span>, the folder Offsite was
                started with. The choice below is saved, and is used whenever Offsite starts without a folder of its own.
              </p>
              <Details testId="settings-pg-outside-detail">
                <p>Set on the command line (--pg-bin) or in the environment (OFFSITE_PG_BIN).</p>
              </Details>
            </div>
          )}
          {toolsError && <ErrorNotice error={toolsError} testId="settings-tools-error" />}
          <label className="choice">
            <input
              type="radio"
              name={`${id}-pg`}
              checked={draft.pg_choice === "auto"}
              onChange={() => set("pg_choice", "auto")}
              data-testid="settings-pg-auto"
            />
            <span>
              Search automatically
              <span className="choice-detail muted small">the newest version found on this computer</span>
            </span>
          </label>
          {tools && toolChoices(tools.found, draft.pg_choice).map(({ tools: t, also }) => (
            <label className="choice" key={t.dir} data-testid="settings-pg-found">
              <input
                type="radio"
                name={`${id}-pg`}
                value={t.dir}
                checked={draft.pg_choice === t.dir}
                onChange={() => set("pg_choice", t.dir)}
                data-testid={`settings-pg-option-${t.major}`}
              />
              <span title={t.version_line}>
                PostgreSQL {t.major}.{t.minor}
                <span className="choice-detail muted small mono">{t.dir}</span>
                {also.length > 0 && (
                  <span className="choice-detail muted small" data-testid="settings-pg-also">
                    the same version is also in <span className="mono">{also.join(", ")}</span>
                  </span>
                )}
              </span>
            </label>
          ))}
          {tools && tools.found.length === 0 && (
            <p className="muted small" data-testid="settings-pg-none">
              No PostgreSQL tools found on this computer. Install the PostgreSQL client tools or choose their folder.
            </p>
          )}
          <div className="choice">
            <input
              id={`${id}-pg-custom-radio`}
              type="radio"
              name={`${id}-pg`}
              checked={draft.pg_choice === "custom"}
              onChange={() => set("pg_choice", "custom")}
              data-testid="settings-pg-custom-radio"
            />
            <span className="choice-grow">
              <label htmlFor={`${id}-pg-custom-radio`}>Another folder</label>
              <span className="path-row">
                <input
                  type="text"
                  aria-label="Folder of the PostgreSQL tools"
                  value={draft.pg_custom}
                  onChange={(e) => {
                    set("pg_custom", e.target.value);
                    set("pg_choice", "custom");
                  }}
                  placeholder="/usr/lib/postgresql/17/bin"
                  autoComplete="off"
                  spellCheck={false}
                  data-testid="settings-pg-custom"
                />
                <button
                  type="button"
                  className="btn"
                  onClick={() => void choose("pg_custom", "Folder of the PostgreSQL tools")}
                  data-testid="settings-pg-choose"
                >
                  Choose…
                </button>
              </span>
            </span>
          </div>
        </fieldset>

        <div className="field-grid">
          <div className="field">
            <label htmlFor={`${id}-theme`}>Theme</label>
            <select
              id={`${id}-theme`}
              value={draft.theme}
              onChange={(e) => set("theme", e.target.value as Theme)}
              data-testid="settings-theme"
            >
              <option value="system">Follow the system</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </div>
        </div>

        <fieldset className="checks">
          <legend>Window</legend>
          <label>
            <input
              type="checkbox"
              checked={draft.notifications}
              onChange={(e) => set("notifications", e.target.checked)}
              data-testid="settings-notifications"
            />
            Notify when a job finishes while the window is hidden or in the background
          </label>
          <label>
            <input
              type="checkbox"
              checked={draft.start_minimised}
              onChange={(e) => set("start_minimised", e.target.checked)}
              data-testid="settings-start-minimised"
            />
            Start minimised to the tray
          </label>
          <label>
            <input
              type="checkbox"
              checked={autostart === true}
              disabled={autostart === null}
              onChange={(e) => {
                setAutostartDraft(e.target.checked);
                setSavedState("dirty");
              }}
              data-testid="settings-autostart"
            />
            Start Offsite when I log in (in the tray), so scheduled backups run
          </label>
          {autostart === false && <ScheduledWithoutLogin />}
          {autostartError && <ErrorNotice error={autostartError} testId="settings-autostart-error" />}
          <label className="inline-select">
            Notify about scheduled backups and verifications
            <select
              value={draft.schedule_notifications}
              onChange={(e) => set("schedule_notifications", e.target.value as ScheduleNotifications)}
              data-testid="settings-schedule-notifications"
            >
              <option value="always">always</option>
              <option value="failures">only when one fails</option>
              <option value="never">never</option>
            </select>
          </label>
          <label className="inline-select">
            Scheduled runs at once
            <select
              value={String(draft.schedule_concurrency)}
              onChange={(e) => set("schedule_concurrency", Number(e.target.value))}
              data-testid="settings-schedule-concurrency"
            >
              <option value="1">1 (one after the other)</option>
              <option value="2">2</option>
              <option value="3">3</option>
              <option value="4">4</option>
            </select>
            <span className="muted small">never two on one project</span>
          </label>
        </fieldset>

        <UpdateSection checked={draft.check_for_updates} onChange={(on) => set("check_for_updates", on)} />

        <DefaultEncryption
          mode={encryption}
          onChange={(m) => {
            setEncryptionDraft(m);
            setSavedState("dirty");
          }}
        />

        <div className="form-actions">
          <span className="spacer" />
          {savedState === "saved" && (
            <span className="small saved-note" role="status" data-testid="settings-saved">
              Saved
            </span>
          )}
          <button type="button" className="btn btn-quiet" onClick={onBack} data-testid="settings-cancel">
            Close
          </button>
          <button type="submit" className="btn btn-primary" disabled={saving} data-testid="settings-save">
            {saving ? "Saving…" : "Save"}
          </button>
        </div>

        {pickError && <ErrorNotice error={pickError} testId="settings-pick-error" />}
        {saveError && <ErrorNotice error={saveError} testId="settings-error" />}
      </form>
      <About info={info} />
    </section>
  );
}

/**
 * Under "Start Offsite when I log in", unticked: which projects have a schedule on, which then runs
 * only while Offsite runs (issue 44: this box was off while the checklist said ✓ Scheduled).
 */
function ScheduledWithoutLogin() {
  const [names, setNames] = useState<string[]>([]);
  useEffect(() => {
    let stale = false;
    void call(commands.health()).then((r) => {
      if (!stale && r.ok) setNames(r.data.projects.filter((h) => h.schedule !== null && !h.paused).map((h) => h.project));
    });
    return () => {
      stale = true;
    };
  }, []);
  if (names.length === 0) return null;
  const which = names.length === 1 ? `${names[0]} has a schedule` : `${names.length} projects have schedules (${names.join(", ")})`;
  return (
    <p className="notice notice-warn small" data-testid="settings-autostart-schedules">
      {which}: schedules run only while Offsite runs. With this off, nothing runs after a restart until you open
      Offsite.
    </p>
  );
}

/**
 * The found tools as choices: one per version (issue 44: "PostgreSQL 15.18" twice, the versioned
 * folder and /usr/bin, which on Debian runs the same tools), the first folder found for it, the
 * others named under it; a folder that is the saved choice stays a choice of its own.
 */
export function toolChoices(found: PgTools[], chosen: string): { tools: PgTools; also: string[] }[] {
  const out: { tools: PgTools; also: string[] }[] = [];
  for (const t of found) {
    const same = out.find((c) => c.tools.version_line === t.version_line);
    if (!same) out.push({ tools: t, also: [] });
    else if (t.dir === chosen) {
      // The saved choice takes the place; the first one found is named under it.
      same.also.push(same.tools.dir);
      same.tools = t;
    } else same.also.push(t.dir);
  }
  return out;
}
