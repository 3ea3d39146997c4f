import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { HealthOverview } from "../bindings";
import { healthWith, overview, protectedHealth } from "../dashboard/fixtures";
import { StoreProvider } from "../store";
import { summary } from "./fixtures";
import { ProjectsHome } from "./ProjectsHome";

function renderHome(props: Partial<Parameters<typeof ProjectsHome>[0]> = {}) {
  const onAdd = vi.fn();
  const onOpen = vi.fn();
  render(
    <StoreProvider>
      <ProjectsHome onAdd={onAdd} onOpen={onOpen} {...props} />
    </StoreProvider>,
  );
  return { onAdd, onOpen };
}

function mockHome(health: () => HealthOverview | Error, projects = () => [summary("shop", null)]) {
  mockIPC(
    (cmd) => {
      if (cmd === "health") {
        const h = health();
        if (h instanceof Error) throw { code: "catalog", message: h.message, hint: "close other copies of Offsite", retryable: true };
        return h;
      }
      if (cmd === "list_projects") return projects();
      if (cmd === "get_project") return projects()[0];
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
}

describe("ProjectsHome", () => {
  it("invites to add the first project when there is none", async () => {
    mockHome(() => overview([]), () => []);
    const { onAdd } = renderHome();
    const empty = await screen.findByTestId("empty-state");
    expect(empty).toHaveTextContent("No projects yet");
    expect(empty).toHaveTextContent("Start by adding a PostgreSQL or Supabase database");
    fireEvent.click(within(empty).getByTestId("add-project"));
    expect(onAdd).toHaveBeenCalledOnce();
  });

  it("shows the dashboard worst first under the summary line, with Add project, History and Settings", async () => {
    mockHome(() => overview([healthWith("blog", "never_backed_up"), protectedHealth("shop")]));
    const onHistory = vi.fn();
    const onSettings = vi.fn();
    const { onAdd } = renderHome({ onHistory, onSettings });
    expect(await screen.findByTestId("health-summary")).toHaveTextContent("1 of 2 protected");
    expect(screen.getAllByTestId("project-card").map((c) => c.dataset.project)).toEqual(["blog", "shop"]);
    fireEvent.click(screen.getByTestId("add-project"));
    fireEvent.click(screen.getByTestId("open-history"));
    fireEvent.click(screen.getByTestId("open-settings"));
    expect(onAdd).toHaveBeenCalledOnce();
    expect(onHistory).toHaveBeenCalledOnce();
    expect(onSettings).toHaveBeenCalledOnce();
  });

  it("says on each row whether the restore is proven, from the engine's checklist (never a rule of its own)", async () => {
    mockHome(() => overview([protectedHealth("shop"), healthWith("blog", "drill_failed"), healthWith("wiki", "never_proven")]));
    renderHome();
    await waitFor(() => expect(screen.getAllByTestId("project-card")).toHaveLength(3));
    const card = (name: string) => screen.getAllByTestId("project-card").find((c) => c.dataset.project === name)!;
    const item = (name: string) => within(card(name)).queryAllByTestId("check-item").find((i) => i.dataset.item === "restore_proven");
    // Proven: done, in the done line, not listed as open.
    expect(item("shop")).toBeUndefined();
    expect(within(card("shop")).getByTestId("project-checklist-done")).toHaveTextContent("Restore proven");
    // A failed drill and never proven: open items, with the engine's words and Fix.
    expect(item("blog")).toHaveAttribute("data-state", "gap");
    // The engine's words, once: the item says them as its sentence, no reason line repeats them.
    expect(item("blog")).toHaveTextContent(/^!Restore proven reason of drill_failed/i);
    expect((card("blog").textContent ?? "").match(/reason of drill_failed/gi)).toHaveLength(1);
    expect(within(card("blog")).queryByTestId("project-reason")).toBeNull();
    expect(within(card("blog")).getByTestId("fix-blog")).toHaveTextContent("Open the drill report");
    expect(item("wiki")).toHaveAttribute("data-state", "gap");
    expect(within(card("wiki")).getByTestId("fix-wiki")).toHaveTextContent("Run a drill");
  });

  it("opens a project from its row", async () => {
    mockHome(() => overview([protectedHealth("shop")]));
    const { onOpen } = renderHome();
    fireEvent.click(await screen.findByTestId("project-open-shop"));
    expect(onOpen).toHaveBeenCalledWith("shop");
  });

  it("without onNavigate, a Fix that opens a project tab opens the project and Free space opens Settings", async () => {
    mockHome(() => overview([healthWith("shop", "no_schedule"), healthWith("blog", "space_low")]));
    const onSettings = vi.fn();
    const { onOpen } = renderHome({ onSettings });
    fireEvent.click(await screen.findByTestId("fix-shop"));
    expect(onOpen).toHaveBeenCalledWith("shop");
    fireEvent.click(screen.getByTestId("fix-blog"));
    expect(onSettings).toHaveBeenCalledOnce();
  });

  it("shows the list error with its hint", async () => {
    mockHome(() => new Error("the catalog is locked"));
    renderHome({ onSettings: vi.fn() });
    const error = await screen.findByTestId("projects-error");
    expect(error).toHaveAttribute("data-code", "catalog");
    expect(error).toHaveTextContent("close other copies");
    expect(screen.getByTestId("projects-error-retry")).toBeInTheDocument();
    expect(screen.getByTestId("open-settings")).toBeInTheDocument();
  });

  it("offers Settings in the toolbar and in the empty state", async () => {
    mockHome(() => overview([]), () => []);
    const onSettings = vi.fn();
    renderHome({ onSettings });
    await screen.findByTestId("empty-state");
    fireEvent.click(screen.getByTestId("open-settings"));
    expect(onSettings).toHaveBeenCalledOnce();
  });

  it("follows the catalog: a schedule set elsewhere (the CLI) reaches the row", async () => {
    let scheduled = false;
    mockHome(() =>
      overview([
        scheduled
          ? protectedHealth("shop", { next_run: "2026-11-22T01:30:00Z" })
          : healthWith("shop", "no_schedule", { schedule: null, next_run: null }),
      ]),
    );
    renderHome();
    const state = await screen.findByTestId("project-schedule-state");
    expect(state).toHaveAttribute("data-state", "none");
    expect(screen.getByTestId("project-card")).toHaveAttribute("data-health", "at_risk");
    scheduled = true;
    await emit("catalog-changed", {
      changes: [{ seq: 9, entity: "project", id: "p-shop", project_id: "p-shop", op: "upsert" }],
      reload_all: false,
    });
    await waitFor(() => expect(screen.getByTestId("project-schedule-state")).toHaveAttribute("data-state", "on"));
    expect(screen.getByTestId("project-card")).toHaveAttribute("data-health", "protected");
    expect(screen.getByTestId("project-next-run").textContent).toMatch(/^2026-11-2[12] \d\d:30$/);
    expect(screen.getByTestId("health-summary")).toHaveTextContent(/^Protected · last /);
  });
});
