import { render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { DesktopSettings } from "../bindings";
import { AppSettingsProvider, applyTheme, useAppSettings } from "./appSettings";

const base: DesktopSettings = {
  notifications: true,
  start_minimised: false,
  schedule_notifications: "always",
  schedule_concurrency: 1,
  theme: "system",
  default_backup_dir: null,
  pg_bin: null,
};

function Shown() {
  return <span data-testid="theme">{useAppSettings().settings?.theme ?? "none"}</span>;
}

afterEach(() => {
  delete document.documentElement.dataset.theme;
});

describe("theme", () => {
  it("sets data-theme for light and dark, and removes it for system", () => {
    const root = document.documentElement;
    applyTheme("dark");
    expect(root.dataset.theme).toBe("dark");
    applyTheme("light");
    expect(root.dataset.theme).toBe("light");
    applyTheme("system");
    expect(root.hasAttribute("data-theme")).toBe(false);
  });

  it("applies the saved theme at startup", async () => {
    const load = () => Promise.resolve({ status: "ok" as const, data: { ...base, theme: "light" as const } });
    render(
      <AppSettingsProvider load={load}>
        <Shown />
      </AppSettingsProvider>,
    );
    expect(screen.getByTestId("theme")).toHaveTextContent("none");
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe("light"));
    expect(screen.getByTestId("theme")).toHaveTextContent("light");
  });

  it("keeps the defaults when the settings cannot be loaded (outside Tauri)", async () => {
    const load = () => Promise.reject(new Error("no Tauri"));
    render(
      <AppSettingsProvider load={load}>
        <Shown />
      </AppSettingsProvider>,
    );
    await Promise.resolve();
    expect(screen.getByTestId("theme")).toHaveTextContent("none");
    expect(document.documentElement.hasAttribute("data-theme")).toBe(false);
  });
});
