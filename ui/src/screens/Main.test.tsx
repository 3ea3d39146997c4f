import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { ProjectSummary } from "../bindings";
import type { HealthOverview } from "../bindings";
import { healthWith, overview, overviewOf } from "../dashboard/fixtures";
import { summary } from "./fixtures";
import { type ListenOpenProject, Main } from "./Main";

describe("Main", () => {
  it("goes from the empty state through the form to the new project's page, and back with Escape", async () => {
    const projects: ProjectSummary[] = [];
    mockIPC(
      (cmd, args) => {
        switch (cmd) {
          case "list_projects":
            return projects;
          case "health":
            return overviewOf(projects);
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
    // The header names the database, not a socket address; the Sources tab says where it is.
    expect(await screen.findByTestId("project-subtitle")).toHaveTextContent("database postgres");
    fireEvent.click(screen.getByTestId("project-tab-sources"));
    expect(await screen.findByTestId("project-page-host")).toHaveTextContent("postgres on db.shop.example.com:5432");

    fireEvent.keyDown(window, { key: "Escape" });
    expect(await screen.findByTestId("project-card")).toHaveAttribute("data-project", "shop");
  });

  function mockScreens(health: HealthOverview = overviewOf([summary("shop", null)])) {
    mockIPC(
      (cmd) => {
        switch (cmd) {
          case "list_projects":
            return [summary("shop", null)];
          case "health":
            return health;
          case "list_jobs":
          case "list_backups":
            return [];
          case "get_project":
            return summary("shop", null);
          case "get_desktop_settings":
            return {
              notifications: true,
              start_minimised: false,
              theme: "system",
              default_backup_dir: null,
              pg_bin: null,
            };
          case "detect_tools":
            return { configured: null, configured_outside: false, found: [] };
          case "app_info":
            return {
              name: "Offsite",
              version: "0.1.0",
              engine: "offsite 0.1.0",
              data_dir: "/data",
              versions: { version: "0.1.0", archive_format: 1, archive_formats_read: [1], catalog_schema: 7 },
            };
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
  }

  it("opens the project named by an open-project event, and stops listening when unmounted", async () => {
    mockScreens();
    let emit: (project: string) => void = () => {};
    const unlisten = vi.fn();
    const listen: ListenOpenProject = (onOpen) => {
      emit = onOpen;
      return Promise.resolve(unlisten);
    };
    const { unmount } = render(<Main listenOpen={listen} />);
    await screen.findByTestId("project-card");
    act(() => emit("shop"));
    expect(await screen.findByTestId("project-page")).toHaveAttribute("data-project", "shop");
    unmount();
    expect(unlisten).toHaveBeenCalledOnce();
  });

  it("an open-project event does not take the user away from a form being filled in", async () => {
    mockScreens();
    let emit: (project: string) => void = () => {};
    const listen: ListenOpenProject = (onOpen) => {
      emit = onOpen;
      return Promise.resolve(() => {});
    };
    render(<Main listenOpen={listen} initial={{ screen: "edit", name: "shop" }} />);
    const name = await screen.findByTestId("field-name");
    await waitFor(() => expect(name).toHaveValue("shop"));
    fireEvent.change(name, { target: { value: "shop-renamed" } });
    act(() => emit("other"));
    expect(screen.getByTestId("screen-edit")).toBeInTheDocument();
    expect(screen.getByTestId("field-name")).toHaveValue("shop-renamed");
    expect(screen.queryByTestId("project-page")).not.toBeInTheDocument();
  });

  it("works without the event (outside Tauri the listener rejects)", async () => {
    mockScreens();
    const listen: ListenOpenProject = () => Promise.reject(new Error("not in Tauri"));
    render(<Main listenOpen={listen} />);
    expect(await screen.findByTestId("project-card")).toBeInTheDocument();
  });

  it("listens to the open-project event by default", async () => {
    mockScreens();
    render(<Main />);
    await screen.findByTestId("project-card");
    const { emit } = await import("@tauri-apps/api/event");
    await act(() => emit("open-project", { project: "shop" }));
    expect(await screen.findByTestId("project-page")).toHaveAttribute("data-project", "shop");
  });

  it("opens Settings from the projects toolbar, and back", async () => {
    mockScreens();
    render(<Main />);
    fireEvent.click(await screen.findByTestId("open-settings"));
    expect(screen.getByTestId("screen-settings")).toBeInTheDocument();
    expect(await screen.findByTestId("settings-form")).toBeInTheDocument();
    fireEvent.click(screen.getByTestId("settings-back"));
    expect(await screen.findByTestId("project-card")).toBeInTheDocument();
  });

  it("edits a project and returns to its page; cancel goes back to it too", async () => {
    mockScreens();
    render(<Main initial={{ screen: "edit", name: "shop" }} />);
    expect(await screen.findByTestId("edit-project-form")).toBeInTheDocument();
    fireEvent.click(screen.getByTestId("edit-cancel"));
    await waitFor(() => expect(screen.getByTestId("project-page")).toHaveAttribute("data-project", "shop"));
  });

  it("removes a project from the edit screen and goes home; Escape in the dialog only closes it", async () => {
    const projects = [summary("shop", null)];
    mockIPC(
      (cmd) => {
        switch (cmd) {
          case "list_projects":
            return projects;
          case "health":
            return overviewOf(projects);
          case "list_jobs":
            return [];
          case "get_project":
            return summary("shop", null);
          case "remove_project":
            projects.pop();
            return null;
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    render(<Main initial={{ screen: "edit", name: "shop" }} />);
    fireEvent.click(await screen.findByTestId("project-remove"));
    const cancel = screen.getByTestId("project-remove-cancel");
    cancel.focus();
    fireEvent.keyDown(cancel, { key: "Escape" });
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(screen.getByTestId("screen-edit")).toBeInTheDocument();

    fireEvent.click(screen.getByTestId("project-remove"));
    fireEvent.change(screen.getByTestId("project-remove-name"), { target: { value: "shop" } });
    fireEvent.click(screen.getByTestId("project-remove-confirm"));
    expect(await screen.findByTestId("empty-state")).toBeInTheDocument();
  });

  it("Notifications are a screen of their own, not a part of Settings (issue 44)", async () => {
    mockScreens();
    render(<Main />);
    fireEvent.click(await screen.findByTestId("open-notifications"));
    expect(await screen.findByTestId("notifications-screen")).toBeInTheDocument();
    expect(screen.getByTestId("notifications")).toBeInTheDocument();
    // Its title on the back button's line, as on every other screen, said once.
    const title = screen.getByRole("heading", { name: "Notifications" });
    expect(title).toHaveClass("screen-title");
    expect(title.closest(".toolbar")).toContainElement(screen.getByTestId("notifications-back"));
    expect(screen.getAllByRole("heading", { name: "Notifications" })).toHaveLength(1);
    expect(screen.getByRole("region", { name: "Notifications" })).toBe(screen.getByTestId("notifications"));
    fireEvent.click(screen.getByTestId("notifications-back"));
    fireEvent.click(await screen.findByTestId("open-settings"));
    expect(await screen.findByTestId("settings-form")).toBeInTheDocument();
    expect(screen.queryByTestId("notifications")).toBeNull();
  });

  it("opens the edit screen from the project page's Edit button", async () => {
    mockScreens();
    render(<Main initial={{ screen: "project", name: "shop" }} />);
    fireEvent.click(await screen.findByTestId("project-edit"));
    expect(await screen.findByTestId("edit-project-form")).toBeInTheDocument();
    expect(screen.getByTestId("field-name")).toHaveValue("shop");
  });

  it("a Fix button goes where the engine's fix is made: rejected credentials → the edit form", async () => {
    mockScreens(overview([healthWith("shop", "credentials_rejected")]));
    render(<Main />);
    const fix = await screen.findByTestId("fix-shop");
    expect(fix).toHaveTextContent("Edit credentials");
    fireEvent.click(fix);
    expect(await screen.findByTestId("edit-project-form")).toBeInTheDocument();
    expect(screen.getByTestId("screen-edit")).toBeInTheDocument();
  });

  it("a Fix button that needs a schedule opens the project's page", async () => {
    mockScreens(overview([healthWith("shop", "no_schedule")]));
    render(<Main />);
    fireEvent.click(await screen.findByTestId("fix-shop"));
    expect(await screen.findByTestId("project-page")).toHaveAttribute("data-project", "shop");
  });
});
