// Issue 44: "Start Offsite when I log in" was off while a schedule said ✓ Scheduled. Wherever a
// schedule is shown or saved and Offsite does not start at login, the app says schedules run
// only while it runs, with the one-click turn-on.
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { Dashboard } from "../dashboard/Dashboard";
import { overview, protectedHealth } from "../dashboard/fixtures";
import { StoreProvider } from "../store";
import { ProjectChecklist } from "../project/ProjectChecklist";
import { checklistWith } from "../dashboard/fixtures";
import { AutostartNote, AutostartOffer, autostartChanged, resetAutostartOffer } from "./AutostartOffer";

function mock(autostart: boolean, extra: Record<string, (a: Record<string, unknown>) => unknown> = {}) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (extra[cmd]) return extra[cmd]!(a);
    if (cmd === "get_autostart") return autostart;
    if (cmd === "set_autostart") return a.on;
    throw new Error(`unexpected command ${cmd}`);
  });
  return calls;
}

afterEach(() => resetAutostartOffer());

describe("AutostartOffer", () => {
  it("a schedule on and Offsite not started at login: says so, and turns it on in one click", async () => {
    const calls = mock(false);
    render(<AutostartOffer active testId="x" />);
    expect(await screen.findByTestId("x-offer")).toHaveTextContent("Schedules run only while Offsite runs");
    fireEvent.click(screen.getByTestId("x-on"));
    expect(await screen.findByTestId("x-done")).toHaveTextContent("start at login");
    expect(calls.filter((c) => c.cmd === "set_autostart").map((c) => c.args)).toEqual([{ on: true }]);
  });

  it("nothing when it starts at login already, or when no schedule is on", async () => {
    const calls = mock(true);
    const { rerender } = render(<AutostartOffer active testId="x" />);
    await waitFor(() => expect(calls.some((c) => c.cmd === "get_autostart")).toBe(true));
    expect(screen.queryByTestId("x-offer")).toBeNull();
    rerender(<AutostartOffer active={false} testId="y" />);
    expect(screen.queryByTestId("y-offer")).toBeNull();
  });

  it("Not now hides it everywhere for the session", async () => {
    mock(false);
    const { unmount } = render(<AutostartOffer active testId="x" />);
    fireEvent.click(await screen.findByTestId("x-later"));
    expect(screen.queryByTestId("x-offer")).toBeNull();
    unmount();
    render(<AutostartOffer active testId="z" />);
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("z-offer")).toBeNull();
  });

  it("the home screen does not ask it above the projects (issue 64: a 90 px notice on every visit)", async () => {
    const calls = mock(false);
    render(
      <StoreProvider>
        <Dashboard overview={overview([protectedHealth("shop", { schedule: "daily 02:30", paused: false })])} onNavigate={() => {}} />
      </StoreProvider>,
    );
    await screen.findByTestId("project-card");
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("home-autostart-offer")).toBeNull();
    expect(calls.some((c) => c.cmd === "get_autostart")).toBe(false);
  });

  it("the project page's ✓ Scheduled says it runs only while Offsite runs, with the turn-on", async () => {
    const calls = mock(false, { health: () => overview([protectedHealth("shop", { schedule: "daily 02:30", paused: false, checklist: checklistWith([]) })]) });
    render(
      <StoreProvider>
        <ProjectChecklist project="shop" onFix={() => {}} />
      </StoreProvider>,
    );
    const note = await screen.findByTestId("project-autostart-offer");
    expect(note.closest("[data-item]")).toHaveAttribute("data-item", "scheduled");
    expect(note).toHaveTextContent("Runs only while Offsite runs; it does not start at login.");
    fireEvent.click(screen.getByTestId("project-autostart-on"));
    expect(await screen.findByTestId("project-autostart-done")).toBeInTheDocument();
    expect(calls.filter((c) => c.cmd === "set_autostart").map((c) => c.args)).toEqual([{ on: true }]);
  });

  it("turned on in one place, every place says so (the Schedules tab's offer and the checklist's note)", async () => {
    mock(false);
    render(
      <>
        <AutostartOffer active testId="a" />
        <AutostartNote active testId="b" />
      </>,
    );
    await screen.findByTestId("a-offer");
    await screen.findByTestId("b-offer");
    fireEvent.click(screen.getByTestId("b-on"));
    expect(await screen.findByTestId("a-done")).toBeInTheDocument();
    expect(screen.getByTestId("b-done")).toBeInTheDocument();
    expect(screen.queryByTestId("a-offer")).toBeNull();
  });

  it("ticked in Settings: the offers go", async () => {
    mock(false);
    render(<AutostartOffer active testId="a" />);
    await screen.findByTestId("a-offer");
    act(() => autostartChanged(true));
    expect(screen.queryByTestId("a-offer")).toBeNull();
  });
});
