// The saved desktop settings the whole window depends on: the theme (applied to <html>). App loads
// them once; the settings screen hands back what it saved. (What counts as overdue is the engine's
// health rule, not a window preference: docs/health.md.)
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { commands, type DesktopSettings, type Theme } from "../bindings";

/** `data-theme="light"|"dark"` on <html> overrides the system preference; absent follows it. */
export function applyTheme(theme: Theme, root: HTMLElement = document.documentElement) {
  if (theme === "light" || theme === "dark") root.dataset.theme = theme;
  else delete root.dataset.theme;
}

type Ctx = {
  /** The saved settings; null until loaded (or when they cannot be loaded). */
  settings: DesktopSettings | null;
  /** Tell the window about newly saved settings (applies the theme at once). */
  saved: (settings: DesktopSettings) => void;
};

const SettingsContext = createContext<Ctx>({
  settings: null,
  saved: (s) => applyTheme(s.theme),
});

type LoadSettings = () => ReturnType<typeof commands.getDesktopSettings>;

export function AppSettingsProvider({
  children,
  load = commands.getDesktopSettings,
}: {
  children: ReactNode;
  /** Where the saved settings come from (tests pass their own). */
  load?: LoadSettings;
}) {
  const [settings, setSettings] = useState<DesktopSettings | null>(null);

  useEffect(() => {
    let active = true;
    load().then(
      (result) => {
        if (!active || result.status !== "ok") return;
        setSettings(result.data);
        applyTheme(result.data.theme);
      },
      () => {
        // Not inside Tauri, or the settings cannot be read: keep the defaults (system theme).
      },
    );
    return () => {
      active = false;
    };
  }, [load]);

  const saved = useCallback((s: DesktopSettings) => {
    setSettings(s);
    applyTheme(s.theme);
  }, []);

  const value = useMemo(() => ({ settings, saved }), [settings, saved]);
  return <SettingsContext.Provider value={value}>{children}</SettingsContext.Provider>;
}

export function useAppSettings(): Ctx {
  return useContext(SettingsContext);
}
