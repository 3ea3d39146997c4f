import { mockIPC } from "@tauri-apps/api/mocks";
import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import type { AppInfo } from "./bindings";

const info: AppInfo = {
  name: "Offsite",
  version: "0.1.0",
  engine: "offsite 0.1.0",
  data_dir: "/home/ada/.local/share/offsite",
  versions: { version: "0.1.0", archive_format: 1, archive_formats_read: [1], catalog_schema: 7 },
};

describe("App with the screens", () => {
  it("shows the projects home (empty state), the zone named once, and no footer", async () => {
    mockIPC(
      (cmd) => {
        switch (cmd) {
          case "app_info":
            return info;
          case "list_projects":
          case "list_jobs":
            return [];
          case "health":
            return { summary: "no projects yet", worst: "protected", projects: [] };
          case "get_default_encryption":
            return { mode: "off", chosen: false };
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    render(<App />);
    expect(screen.getByTestId("app-title")).toHaveTextContent("Offsite");
    expect(await screen.findByTestId("empty-state")).toBeInTheDocument();
    expect(screen.getByTestId("add-project")).toBeInTheDocument();
    expect(screen.getAllByTestId("zone-note")).toHaveLength(1);
    // A new user is asked once, before the first project, whether new projects are encrypted.
    expect(await screen.findByTestId("welcome")).toHaveTextContent("should new projects encrypt their backups?");
    expect(screen.queryByTestId("app-info")).not.toBeInTheDocument();
  });
});
