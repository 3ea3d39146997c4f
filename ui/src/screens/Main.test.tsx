import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ProjectSummary } from "../bindings";
import { summary } from "./fixtures";
import { Main } from "./Main";

describe("Main", () => {
  it("goes from the empty state through the form to the new project's page, and back with Escape", async () => {
    const projects: ProjectSummary[] = [];
    mockIPC(
      (cmd, args) => {
        switch (cmd) {
          case "list_projects":
            return projects;
          case "list_jobs":
            return [];
          case "add_project": {
            const name = (args as { request: { name: string } }).request.name;
            const s = summary(name, null);
            projects.push(s);
            return s;
          }
          case "get_project":
            return projects[0];
          case "list_backups":
            return [];
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    render(<Main />);
    fireEvent.click(await screen.findByTestId("add-project"));
    expect(screen.getByTestId("screen-add")).toBeInTheDocument();
    expect(screen.getByTestId("field-name")).toHaveFocus();

    fireEvent.change(screen.getByTestId("field-name"), { target: { value: "shop" } });
    fireEvent.change(screen.getByTestId("field-url"), { target: { value: "postgres://postgres@db.shop.example.com/postgres" } });
    fireEvent.click(screen.getByTestId("add-save"));

    expect(await screen.findByTestId("project-page")).toHaveAttribute("data-project", "shop");
    expect(await screen.findByTestId("project-page-host")).toHaveTextContent("db.shop.example.com:5432 / postgres");

    fireEvent.keyDown(window, { key: "Escape" });
    expect(await screen.findByTestId("project-card")).toHaveAttribute("data-project", "shop");
  });
});
