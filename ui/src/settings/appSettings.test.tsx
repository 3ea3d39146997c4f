import { render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { DesktopSettings } from "../bindings";
import { AppSettingsProvider, applyTheme, useStaleAfterDays } from "./appSettings";

const base: DesktopSettings = {
  notifications: true,
  start_minimised: false,
  schedule_notifications: "always",
  schedule_concurrency: 1,
  theme: "system",
  stale_after_days: 2,
  default_backup_dir: null,
  pg_bin: null,
};

function StaleDays() {
  return <span data-testid="days">{useStaleAfterDays()}</span>;
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

  it("applies the saved theme and stale days at startup", async () => {
    const load = () => Promise.resolve({ status: "ok" as const, data: { ...base, theme: "light" as const, stale_after_days: 9 } });
    render(
      <AppSettingsProvider load={load}>
        <StaleDays />
      </AppSettingsProvider>,
    );
    expect(screen.getByTestId("days")).toHaveTextContent("2");
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe("light"));
    expect(screen.getByTestId("days")).toHaveTextContent("9");
  });

  it("keeps the defaults when the settings cannot be loaded (outside Tauri)", async () => {
    const load = () => Promise.reject(new Error("no Tauri"));
    render(
      <AppSettingsProvider load={load}>
        <StaleDays />
      </AppSettingsProvider>,
    );
    await Promise.resolve();
    expect(screen.getByTestId("days")).toHaveTextContent("2");
    expect(document.documentElement.hasAttribute("data-theme")).toBe(false);
  });
});
