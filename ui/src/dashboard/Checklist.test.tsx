// The home card and the project's header both show the engine's checklist (issue 44): the same
// items in the same order, "N of M done", every open item listed next step first in amber, the
// top line "N things need you", and paused backups said with the button that opens the field.
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { CheckItem, HealthOverview, ProjectHealth } from "../bindings";
import { ProjectChecklist } from "../project/ProjectChecklist";
import type { Route } from "../screens/Main";
import { StoreProvider } from "../store";
import { formatTime } from "../components/format";
import { busyWhileBackingUp, ChecklistItems, checkWhy } from "./Checklist";
import { Dashboard } from "./Dashboard";
import { checklistWith, gapOf, overview, problem, protectedHealth } from "./fixtures";
import { clickDisabled } from "../test/clicks";

/** A project with three gaps: no schedule, one copy, never proven (next step first). */
function threeGaps(name: string): ProjectHealth {
  const problems = [problem("no_schedule", "no schedule: backups are only made by hand"), problem("one_copy", "the newest good backup is only on this computer"), problem("never_proven", "no restore was tried yet")];
  return protectedHealth(name, {
    health: "at_risk",
    health_label: "At risk",
    reason: problems[0]!.reason,
    problems,
    checklist: checklistWith(problems.map(gapOf)),
  });
}

/** Never backed up, encryption on and the recovery key not confirmed: backups paused. */
function paused(name: string): ProjectHealth {
  const pause = problem("recovery_key_unconfirmed", "backups paused: confirm your recovery key");
  const never = { ...problem("never_backed_up", "never backed up"), fix: pause.fix, fix_label: pause.fix_label };
  const backedUp: CheckItem = { ...gapOf(never), state: "paused", why: "Never backed up. Backing up waits for the recovery key." };
  const waiting = (id: CheckItem["id"], label: string): CheckItem => ({ id, label, state: "waiting", why: "Waits for a first good backup.", fix: null, fix_label: null, at: null, why_at: null });
  const key: CheckItem = { ...gapOf(pause), why: "The recovery key is not confirmed yet: without it nobody can read the backups." };
  const checklist = checklistWith([key, backedUp, waiting("verified", "Verified"), waiting("copies", "Copies"), waiting("restore_proven", "Restore proven")], true);
  return protectedHealth(name, {
    health: "unprotected",
    health_label: "Unprotected",
    reason: pause.reason,
    problems: [pause, never],
    last_good: null,
    last_run: { succeeded: false, finished_at: "2026-11-24T02:30:00Z", error_code: "needs_consent", error_message: "project \"vault\" is encrypted, but its recovery key is not confirmed" },
    copies: [],
    checklist,
  });
}

function mock(o: HealthOverview) {
  mockIPC(
    (cmd) => {
      switch (cmd) {
        case "health":
          return o;
        case "list_projects":
          return [];
        case "start_backup":
          return "job-1";
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
}

async function settle() {
  await act(() => new Promise((r) => setTimeout(r, 0)));
}

const items = (root: HTMLElement) =>
  within(root)
    .queryAllByTestId("check-item")
    .map((i) => [i.dataset.item, i.dataset.state]);

describe("the checklist on the home card and the project header", () => {
  it("lists every open item next step first, in amber, under 'N to do' and 'N things need you', one count", async () => {
    const o = overview([threeGaps("shop"), protectedHealth("wiki")]);
    mock(o);
    render(
      <StoreProvider>
        <Dashboard overview={o} onNavigate={vi.fn()} />
      </StoreProvider>,
    );
    await settle();
    expect(screen.getByTestId("needs-you")).toHaveTextContent("3 things need you");
    const card = screen.getAllByTestId("project-card").find((r) => r.dataset.project === "shop")!;
    // One count (issue 64): the badge says what the summary adds up, "N of M done" on hover.
    expect(within(card).getByTestId("checklist-badge")).toHaveTextContent("3 to do");
    expect(within(card).getByTestId("checklist-badge")).toHaveAttribute("title", "2 of 5 done");
    expect(within(card).getByTestId("checklist-badge")).toHaveClass("check-badge-open");
    // Every row is a sentence (issue 44: "Scheduled: needs you" was a state, not a sentence); the
    // card's reason is the first row's sentence, so no line of its own repeats it.
    expect(within(card).queryByTestId("project-reason")).toBeNull();
    expect(card.textContent!.split("backups are only made by hand").length - 1).toBe(1);
    const scheduled = within(card).getAllByTestId("check-item").find((li) => li.dataset["item"] === "scheduled")!;
    expect(scheduled.textContent).toBe("!Scheduled no schedule: backups are only made by hand");
    for (const li of within(card).getAllByTestId("check-item")) expect(li.textContent).not.toMatch(/needs you|not yet$/);
    const copies = within(card).getAllByTestId("check-item").find((li) => li.dataset["item"] === "copies")!;
    expect(copies).toHaveTextContent("the newest good backup is only on this computer");
    expect(items(card)).toEqual([
      ["scheduled", "gap"],
      ["copies", "gap"],
      ["restore_proven", "gap"],
    ]);
    for (const i of within(card).getAllByTestId("check-item")) expect(i).toHaveClass("check-gap");
    expect(within(card).getByTestId("project-checklist-done")).toHaveTextContent("Done: Backed up recently · Verified");
    // The first item's Fix is the card's one Fix button; the others have their own.
    expect(within(card).getByTestId("fix-shop")).toHaveTextContent("Add a schedule");
    expect(within(card).queryByTestId("check-fix-scheduled")).toBeNull();
    expect(within(card).getByTestId("check-fix-copies")).toHaveTextContent("Add a destination");
    expect(within(card).getByTestId("check-fix-restore_proven")).toHaveTextContent("Run a drill");
    // Protected: every item done, nothing listed as open, the badge green.
    const wiki = screen.getAllByTestId("project-card").find((r) => r.dataset.project === "wiki")!;
    expect(within(wiki).getByTestId("checklist-badge")).toHaveTextContent("All done");
    expect(within(wiki).getByTestId("checklist-badge")).toHaveClass("check-badge-done");
    expect(within(wiki).getByTestId("checklist-not-counted")).toHaveTextContent("Encryption off: not counted");
    expect(items(wiki)).toEqual([]);
  });

  it("shows the same items in the project header as on the home card", async () => {
    const h = threeGaps("shop");
    const o = overview([h]);
    mock(o);
    const onFix = vi.fn<(i: CheckItem) => void>();
    render(
      <StoreProvider>
        <Dashboard overview={o} onNavigate={vi.fn()} />
        <ProjectChecklist project="shop" onFix={onFix} />
      </StoreProvider>,
    );
    const header = await screen.findByTestId("project-status");
    const card = screen.getByTestId("project-card");
    // The header lists all six items; its open ones are the card's, in the same order.
    expect(items(header)).toEqual(h.checklist.items.map((i) => [i.id, i.state]));
    expect(items(header).filter(([, s]) => s === "gap")).toEqual(items(card));
    expect(within(header).getByTestId("checklist-badge")).toHaveTextContent("3 to do");
    // Six rows under "3 to do": the one not counted is named, and why (issue 44).
    expect(items(header)).toHaveLength(6);
    expect(within(header).getByTestId("checklist-not-counted")).toHaveTextContent("Encryption off: not counted");
    expect(within(card).getByTestId("checklist-not-counted")).toHaveTextContent("Encryption off: not counted");
    // It breaks only between its halves in the card's narrow column ("not / counted" before).
    expect([...within(card).getByTestId("checklist-not-counted").children].map((c) => c.textContent)).toEqual([
      "Encryption off:",
      "not counted",
    ]);
    expect(within(header).getByTestId("project-health")).toHaveAttribute("data-health", "at_risk");
    fireEvent.click(within(header).getByTestId("check-fix-scheduled"));
    expect(onFix).toHaveBeenCalledWith(expect.objectContaining({ id: "scheduled", fix: "add_schedule" }));
  });

  it("says backups are paused on the card and the header, and never offers 'Back up now'", async () => {
    const o = overview([paused("vault")]);
    mock(o);
    const onNavigate = vi.fn<(r: Route) => void>();
    render(
      <StoreProvider>
        <Dashboard overview={o} onNavigate={onNavigate} />
        <ProjectChecklist project="vault" onFix={vi.fn()} />
      </StoreProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("project-paused")).toBeInTheDocument());
    const card = screen.getByTestId("project-card");
    // One sentence and one button on the card (issue 44: the pause was said in three items).
    const banner = within(card).getByTestId("project-paused-vault");
    expect(banner.querySelectorAll("p")).toHaveLength(1);
    expect(banner).toHaveTextContent(/^Backups are paused until you confirm your recovery key: without it nobody could read them\./);
    expect(screen.getByTestId("project-paused")).toHaveTextContent("Backups are paused until you confirm your recovery key");
    expect(within(card).getAllByRole("button").filter((b) => !b.classList.contains("link"))).toEqual([within(card).getByTestId("fix-vault")]);
    expect(within(banner).getByTestId("fix-vault")).toHaveTextContent("Confirm your recovery key");
    // The project header's banner has the one "Confirm your recovery key" button; its items none
    // (checklist-04 showed three).
    const header = screen.getByTestId("project-status");
    expect(within(header).getAllByRole("button", { name: /confirm your recovery key/i })).toHaveLength(1);
    // The rows the banner answers are not listed again on the card; the header lists them.
    expect(items(card).map(([id]) => id)).not.toContain("encryption");
    expect(items(card).map(([id]) => id)).not.toContain("backed_up");
    expect(items(header).slice(0, 2)).toEqual([
      ["encryption", "gap"],
      ["backed_up", "paused"],
    ]);
    expect(screen.queryByText("Back up now")).toBeNull();
    // Said once on the card: the banner (no reason line repeating it), in sentence case.
    expect(within(card).queryByTestId("project-reason")).toBeNull();
    expect((card.textContent ?? "").match(/backups (are )?paused/gi)).toHaveLength(1);
    // The paused item's mark is drawn, not a glyph the font may lack.
    const pausedItem = within(header).getAllByTestId("check-item").find((i) => i.dataset["state"] === "paused")!;
    expect(within(pausedItem).getByTestId("check-mark").querySelector("svg")).not.toBeNull();
    expect(pausedItem.textContent).not.toContain("⏸");
    // The refused run waited (amber, with what resumes it), it did not fail (red).
    const lastRun = within(card).getByTestId("project-last-run");
    expect(lastRun).toHaveAttribute("data-waited", "true");
    expect(lastRun).toHaveClass("text-warn");
    expect(lastRun).not.toHaveClass("text-danger");
    // Said once by the banner; the run's line only says when, what resumes it on hover.
    expect(lastRun).toHaveTextContent(/^Last run waited [^:]+$/);
    expect(lastRun.getAttribute("title")).toMatch(/confirm your recovery key to resume backups/);
    const fix = within(card).getByTestId("fix-vault");
    expect(fix).toHaveTextContent("Confirm your recovery key");
    fireEvent.click(fix);
    // The Fix opens the project's encryption card at the recovery key's field.
    expect(onNavigate).toHaveBeenCalledWith({ screen: "project", name: "vault", tab: "protection", confirmKey: true });
  });
});

describe("checklist times (issue 44: one time format, local time)", () => {
  it("does not offer 'Back up now' while a backup runs: the button waits and says why (issue 64 item 6, projects-04)", () => {
    const never = gapOf(problem("never_backed_up", "Never backed up."));
    const onFix = vi.fn();
    const { rerender } = render(<ChecklistItems checklist={checklistWith([never])} show="all" onFix={onFix} busy={busyWhileBackingUp(true)} />);
    const button = screen.getByTestId("check-fix-backed_up");
    expect(button).toBeDisabled();
    expect(button).toHaveTextContent("Backing up…");
    expect(button).toHaveAttribute("title", "A backup is running.");
    expect(screen.getByTestId("check-busy-backed_up")).toHaveTextContent("A backup is running.");
    clickDisabled(button);
    expect(onFix).not.toHaveBeenCalled();
    // Other fixes are not held up.
    rerender(<ChecklistItems checklist={checklistWith([never])} show="all" onFix={onFix} busy={busyWhileBackingUp(false)} />);
    expect(screen.getByTestId("check-fix-backed_up")).toBeEnabled();
    expect(screen.getByTestId("check-fix-backed_up")).toHaveTextContent("Back up now");
    expect(screen.queryByTestId("check-busy-backed_up")).toBeNull();
  });

  it("takes no second button for a fix the page offers above, and points to it (issue 64 item 7, projects-03)", async () => {
    const problems = [problem("never_backed_up", "never backed up"), problem("no_schedule", "no schedule: backups are only made by hand")];
    const h = protectedHealth("shop", {
      health: "unprotected",
      health_label: "Unprotected",
      reason: problems[0]!.reason,
      problems,
      checklist: checklistWith(problems.map(gapOf)),
    });
    const o = overview([h]);
    mock(o);
    const onFix = vi.fn<(i: CheckItem) => void>();
    const { rerender } = render(
      <StoreProvider>
        <ProjectChecklist project="shop" onFix={onFix} />
      </StoreProvider>,
    );
    const header = await screen.findByTestId("project-status");
    const backedUp = within(header)
      .getAllByTestId("check-item")
      .find((li) => li.dataset["item"] === "backed_up")!;
    expect(backedUp).toHaveAttribute("data-state", "gap");
    expect(within(backedUp).queryByRole("button")).toBeNull();
    expect(within(backedUp).getByTestId("check-above-backed_up")).toHaveTextContent("“Back up now” is at the top of the page.");
    // The other items keep their own Fix.
    expect(within(header).getByTestId("check-fix-scheduled")).toHaveTextContent("Add a schedule");
    // While a backup runs, the row says so instead.
    rerender(
      <StoreProvider>
        <ProjectChecklist project="shop" onFix={onFix} backingUp />
      </StoreProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("check-busy-backed_up")).toHaveTextContent("A backup is running."));
    expect(screen.queryByTestId("check-above-backed_up")).toBeNull();
  });

  it("an item's time is the app's one format in this computer's time, not the engine's words", () => {
    render(<ChecklistItems checklist={checklistWith([])} show="all" />);
    const backedUp = screen.getAllByTestId("check-item").find((li) => li.dataset["item"] === "backed_up")!;
    expect(backedUp).toHaveTextContent(`The newest good backup is from ${formatTime("2026-11-24T02:30:00Z")}.`);
    for (const li of screen.getAllByTestId("check-item")) {
      expect(li.textContent).not.toMatch(/UTC|\{at\}/);
    }
  });

  it("a sentence without a time is shown as the engine wrote it", () => {
    expect(checkWhy({ why: "Backs up daily at 02:30.", at: null, why_at: null })).toBe("Backs up daily at 02:30.");
    expect(checkWhy({ why: "Checksums checked 2026-11-24 03:31 CET.", at: "2026-11-24T02:31:00Z", why_at: "Checksums checked {at}." })).toBe(
      `Checksums checked ${formatTime("2026-11-24T02:31:00Z")}.`,
    );
  });
});

describe("the card's reason", () => {
  it("is said in the app's time format when it is an item's why (dashboard-01 said '… UTC')", async () => {
    const { reasonWords } = await import("./DashboardRow");
    const { formatTime } = await import("../components/format");
    const at = "2026-11-23T09:27:00Z";
    const why = "Overdue: the newest good backup is from 2026-11-23 09:27 UTC";
    const item = { id: "backed_up", label: "Backed up recently", state: "gap", why, why_at: "Overdue: the newest good backup is from {at}", at, fix: null, fix_label: null };
    const h = { reason: why, checklist: { items: [item] } } as unknown as Parameters<typeof reasonWords>[0];
    expect(reasonWords(h)).toBe(`Overdue: the newest good backup is from ${formatTime(at)}`);
    expect(reasonWords({ ...h, reason: "Something else" })).toBe("Something else");
  });
});
