import { mockIPC } from "@tauri-apps/api/mocks";
import { render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { App } from "./App";
import type { AppInfo, DesktopSettings, ErrorPayload } from "./bindings";

const info: AppInfo = {
  name: "Offsite",
  version: "0.1.0",
  engine: "offsite 0.1.0",
  data_dir: "/home/ada/.local/share/offsite",
  versions: { version: "0.1.0", archive_format: 1, archive_formats_read: [1], catalog_schema: 7 },
};

describe("App", () => {
  it("reads the app info at startup but shows no footer: version and data folder live in Settings → About", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "app_info") return info;
      throw new Error(`unexpected command ${cmd}`);
    });

    render(<App />);

    expect(screen.getByTestId("app-title")).toHaveTextContent("Offsite");
    await waitFor(() => expect(calls).toContain("app_info"));
    expect(screen.queryByTestId("app-info")).not.toBeInTheDocument();
    expect(document.body.textContent).not.toContain(info.data_dir);
  });

  it("shows the error message and hint when the command fails", async () => {
    const error: ErrorPayload = {
      code: "io",
      message: "cannot determine the data directory",
      hint: "set XDG_DATA_HOME",
      retryable: false,
    };
    mockIPC(() => Promise.reject(error));

    render(<App />);

    const alert = await screen.findByTestId("app-info-error");
    expect(alert).toHaveAttribute("data-code", "io");
    expect(alert).toHaveTextContent("cannot determine the data directory");
    expect(alert).toHaveTextContent("set XDG_DATA_HOME");
    expect(screen.queryByTestId("app-info")).not.toBeInTheDocument();
  });

  it("applies the saved theme at startup", async () => {
    const settings: DesktopSettings = {
      notifications: true,
      start_minimised: false,
      schedule_notifications: "always",
      schedule_concurrency: 1,
      theme: "dark",
      default_backup_dir: null,
      pg_bin: null,
    };
    mockIPC(
      (cmd) => {
        switch (cmd) {
          case "app_info":
            return info;
          case "get_desktop_settings":
            return settings;
          case "list_projects":
          case "list_jobs":
            return [];
          case "health":
            return { summary: "no projects yet", worst: "protected", projects: [] };
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    render(<App />);
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe("dark"));
  });
});

afterEach(() => {
  delete document.documentElement.dataset.theme;
});
