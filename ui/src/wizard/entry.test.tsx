import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { backup, summary } from "../screens/fixtures";
import { Main } from "../screens/Main";

describe("restore wizard entry point", () => {
  it("opens from the project page and goes back to it", async () => {
    mockIPC(
      (cmd) => {
        switch (cmd) {
          case "get_project":
            return summary("shop", backup(0));
          case "list_backups":
            return [backup(0)];
          case "list_projects":
            return [summary("shop", backup(0))];
          case "list_jobs":
            return [];
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    render(<Main initial={{ screen: "project", name: "shop" }} />);
    fireEvent.click(await screen.findByTestId("restore-open"));
    expect(await screen.findByTestId("restore-wizard")).toHaveAttribute("data-step", "source");
    expect(await screen.findAllByTestId("wizard-backup-option")).toHaveLength(1);
    fireEvent.click(screen.getByTestId("wizard-close"));
    expect(await screen.findByTestId("project-page")).toHaveAttribute("data-project", "shop");
  });
});
