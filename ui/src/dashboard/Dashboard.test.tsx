// The dashboard shows what the engine decided: each state, each Fix action, the summary line.
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { FixAction, HealthOverview } from "../bindings";
import type { Route } from "../screens/Main";
import { StoreProvider } from "../store";
import { Dashboard, type OpenSupabase } from "./Dashboard";
import { fixTarget } from "./fix";
import { healthWith, overview, protectedHealth, RULES } from "./fixtures";
import { clickDisabled } from "../test/clicks";

function mock(extra: (cmd: string, args: unknown) => unknown = () => undefined) {
  const calls: { cmd: string; args: unknown }[] = [];
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args });
      const r = extra(cmd, args);
      if (r !== undefined) return r;
      switch (cmd) {
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
  return calls;
}

async function renderDashboard(o: HealthOverview, openDashboard: OpenSupabase = vi.fn()) {
  const onNavigate = vi.fn<(r: Route) => void>();
  render(
    <StoreProvider>
      <Dashboard overview={o} onNavigate={onNavigate} openDashboard={openDashboard} />
    </StoreProvider>,
  );
  // The store's event subscriptions settle (so the cleanup after the test can end them).
  await act(() => new Promise((r) => setTimeout(r, 0)));
  return { onNavigate, openDashboard };
}

const row = (name: string) => screen.getAllByTestId("project-card").find((r) => r.dataset.project === name)!;

describe("Dashboard", () => {
  it("shows each state with its own word and icon, the reason and the subtitle, in the engine's order", async () => {
    mock();
    const list = [
      healthWith("blog", "never_backed_up", { reason: "never backed up", last_good: null, copies: [] }),
      healthWith("shop", "credentials_rejected", { reason: "the last backup was refused: password authentication failed" }),
      protectedHealth("wiki", { subtitle: "Supabase abcdefghijklmnopqrst" }),
    ];
    await renderDashboard(overview(list));
    const rows = screen.getAllByTestId("project-card");
    expect(rows.map((r) => r.dataset.project)).toEqual(["blog", "shop", "wiki"]);
    const badge = (name: string) => within(row(name)).getByTestId("project-health");
    expect(badge("blog")).toHaveAttribute("data-health", "unprotected");
    expect(badge("blog")).toHaveTextContent("✕Unprotected");
    expect(badge("shop")).toHaveAttribute("data-health", "at_risk");
    expect(badge("shop")).toHaveTextContent("!At risk");
    expect(badge("wiki")).toHaveAttribute("data-health", "protected");
    expect(badge("wiki")).toHaveTextContent("✓Protected");
    expect(badge("blog").className).not.toBe(badge("wiki").className);
    expect(within(row("shop")).getByTestId("project-reason")).toHaveTextContent("The last backup was refused: password authentication failed");
    expect(within(row("wiki")).getByTestId("project-subtitle")).toHaveTextContent("Supabase abcdefghijklmnopqrst");
    expect(within(row("blog")).getByTestId("project-last-backup")).toHaveTextContent("Never");
    expect(within(row("blog")).getByTestId("project-copies")).toHaveTextContent("No good backup yet");
    // Protected: nothing to fix.
    expect(within(row("wiki")).queryByRole("button", { name: /back up|edit|add|verify/i })).toBeNull();
    expect(row("wiki")).toHaveAttribute("data-problem", "none");
  });

  it("sums up in the worst state's colour, with the word for it", async () => {
    mock();
    await renderDashboard(overview([healthWith("shop", "overdue"), protectedHealth("wiki")]));
    const line = screen.getByTestId("health-summary");
    expect(line).toHaveTextContent("1 of 2 protected");
    expect(line).toHaveAttribute("data-worst", "at_risk");
    expect(line).toHaveClass("dash-summary-at_risk");
    expect(line).toHaveTextContent("(worst: at risk)");
  });

  it("says the engine's verdict: its headline state and tone, its one count over every project (issue 64 item 1)", async () => {
    mock();
    // The engine decided these; the screen words them and never re-decides (a failed run said
    // plain here only because the engine said so: the UI has no rule of its own left).
    const shop = healthWith("shop", "last_run_failed", {
      verdict: { state: "failed", tone: "plain", failed_at: new Date(Date.now() - 60_000).toISOString(), next: "overdue" },
    });
    const wiki = protectedHealth("wiki");
    const o = overview([shop, wiki]);
    await renderDashboard({ ...o, verdict: { ...o.verdict, needs_you: 7, protected: 1, running: 0 } });
    const line = within(row("shop")).getByTestId("project-headline");
    expect(line).toHaveTextContent(/^Last good backup 2 hours ago · the last backup failed 1 minute ago · overdue$/);
    expect(line).toHaveAttribute("data-tone", "plain");
    expect(within(row("wiki")).getByTestId("project-headline")).toHaveAttribute("data-tone", "ok");
    const summary = screen.getByTestId("health-summary");
    expect(summary).toHaveTextContent("1 of 2 protected · 7 things need you");
    expect(summary).toHaveAttribute("data-count", "7");
    expect(summary).toHaveAttribute("data-tone", o.verdict.tone);
  });

  it("all protected: one line with the newest backup's time, in the engine's tone", async () => {
    mock();
    const o = overview([protectedHealth("a"), protectedHealth("b"), protectedHealth("c")]);
    await renderDashboard(o);
    const summary = screen.getByTestId("health-summary");
    expect(summary.textContent).toMatch(/^All 3 protected · last (\d\d:\d\d|yesterday \d\d:\d\d)/);
    expect(summary).toHaveAttribute("data-tone", "ok");
    expect(summary).toHaveAttribute("data-count", "0");
  });

  it("while the engine says a backup runs (a schedule's, not started here), Back up now waits and says why (issue 64 item 6)", async () => {
    const calls = mock();
    const shop = healthWith("shop", "overdue", { verdict: { state: "running", backup_running: true }, running: ["backup"] });
    await renderDashboard(overview([shop]));
    const fix = within(row("shop")).getByTestId("fix-shop");
    expect(fix).toBeDisabled();
    expect(fix).toHaveTextContent("Backing up…");
    expect(fix).toHaveAttribute("title", "A backup is running");
    expect(within(row("shop")).getByTestId("project-running")).toHaveTextContent(/^A backup is running$/);
    expect(within(row("shop")).getByTestId("project-headline")).toHaveTextContent(/^Backing up now · /);
    clickDisabled(fix);
    expect(calls.some((c) => c.cmd === "start_backup")).toBe(false);
  });

  it("the checklist's Back up now waits too while the engine says a backup runs", async () => {
    mock();
    // "Back up now" is the second open item's Fix here (the first is the card's Fix button).
    const shop = healthWith("shop", "no_schedule", {
      schedule: null,
      next_run: null,
      verdict: { state: "running", backup_running: true },
    });
    const never = { id: "backed_up" as const, label: "Backed up recently", state: "gap" as const, why: "Overdue.", fix: "back_up_now" as const, fix_label: "Back up now", at: null, why_at: null };
    shop.checklist = { ...shop.checklist, items: [shop.checklist.items[0]!, never, ...shop.checklist.items.slice(1).filter((i) => i.id !== "backed_up")] };
    await renderDashboard(overview([shop]));
    const button = within(row("shop")).getByTestId("check-fix-backed_up");
    expect(button).toBeDisabled();
    expect(button).toHaveAttribute("title", "A backup is running.");
    expect(within(row("shop")).getByTestId("check-busy-backed_up")).toHaveTextContent("A backup is running.");
  });

  it("shows times relative with the exact local time on hover, and the next run in the one format", async () => {
    mock();
    const h = protectedHealth("shop", { next_run: "2026-11-25T02:30:00Z" });
    await renderDashboard(overview([h]));
    const last = within(row("shop")).getByTestId("project-last-backup");
    expect(last).toHaveTextContent("2 hours ago");
    expect(last.getAttribute("title")).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
    // Local time as every screen writes it; the zone is named once, not beside each time.
    expect(within(row("shop")).getByTestId("project-next-run").textContent).toMatch(/^2026-11-2[45] \d\d:30$/);
    expect(within(row("shop")).getByTestId("project-schedule-state")).toHaveAttribute("data-state", "on");
    expect(within(row("shop")).getByTestId("project-last-run")).toHaveAttribute("data-ok", "true");
  });

  it("says the recovery point under the last good backup only when point-in-time capture is later", async () => {
    mock();
    const base = new Date(Date.now() - 3 * 3600_000).toISOString();
    const captured = new Date(Date.now() - 20_000).toISOString();
    await renderDashboard(
      overview([
        protectedHealth("shop", { last_good: base, recovery_point: captured }),
        protectedHealth("blog", { last_good: base, recovery_point: base }),
      ]),
    );
    expect(within(row("shop")).getByTestId("project-last-backup")).toHaveTextContent("3 hours ago");
    expect(within(row("shop")).getByTestId("project-recovery-point")).toHaveTextContent(/^Restorable to .*(seconds?|just now)/);
    expect(within(row("blog")).queryByTestId("project-recovery-point")).toBeNull();
  });

  it("does not say the last good backup as fine while Backed up recently is open: amber, its why said once above", async () => {
    mock();
    const failed = healthWith("shop", "last_run_failed", { last_good: new Date().toISOString() });
    const fine = protectedHealth("blog");
    await renderDashboard(overview([failed, fine]));
    const open = within(row("shop")).getByTestId("project-last-backup").closest("dd")!;
    expect(open).toHaveClass("dash-fact-open");
    expect(open).toHaveAttribute("data-state", "gap");
    expect(within(open).queryByTestId("project-last-backup-why")).toBeNull();
    expect((row("shop").textContent ?? "").split("Reason of last_run_failed").length - 1).toBeLessThanOrEqual(1);
    const done = within(row("blog")).getByTestId("project-last-backup").closest("dd")!;
    expect(done).toHaveAttribute("data-state", "done");
    expect(done).not.toHaveClass("dash-fact-open");
    expect(within(done).queryByTestId("project-last-backup-why")).toBeNull();
  });

  it("marks the copies and schedule facts amber while their items are open, calm when done (drill-02)", async () => {
    mock();
    await renderDashboard(overview([healthWith("shop", "no_schedule", { schedule: null, next_run: null }), healthWith("blog", "one_copy"), protectedHealth("docs")]));
    expect(within(row("shop")).getByTestId("project-fact-scheduled")).toHaveClass("dash-fact-open");
    expect(within(row("shop")).getByTestId("project-fact-copies")).not.toHaveClass("dash-fact-open");
    expect(within(row("blog")).getByTestId("project-fact-copies")).toHaveClass("dash-fact-open");
    expect(within(row("blog")).getByTestId("project-fact-scheduled")).not.toHaveClass("dash-fact-open");
    for (const id of ["backed_up", "copies", "scheduled"]) {
      expect(within(row("docs")).getByTestId(`project-fact-${id}`)).not.toHaveClass("dash-fact-open");
    }
  });

  it("says a never backed up project's 'Never' amber while its item is open, not calm grey (overdue-later-01)", async () => {
    mock();
    await renderDashboard(overview([healthWith("lagging", "credentials_rejected", { last_good: null })]));
    const last = within(row("lagging")).getByTestId("project-last-backup");
    expect(last).toHaveTextContent("Never");
    expect(last.closest("dd")).toHaveClass("dash-fact-open");
    // The item above says why; "Never" is not followed by it again.
    expect(within(row("lagging")).queryByTestId("project-last-backup-why")).toBeNull();
  });

  it("marks every place the newest good backup is kept, a missing one hollow", async () => {
    mock();
    const h = healthWith("shop", "one_copy", {
      copies: [
        { place: "This computer", kind: "local", ok: true, offsite: false },
        { place: "nas", kind: "destination", ok: false, offsite: false },
        { place: "offsite-s3", kind: "destination", ok: false, offsite: false },
      ],
    });
    await renderDashboard(overview([h]));
    const marks = within(row("shop")).getAllByTestId("copy-mark");
    expect(marks.map((m) => [m.textContent, m.dataset.ok])).toEqual([
      ["This computer", "true"],
      ["nas (missing)", "false"],
      ["offsite-s3 (missing)", "false"],
    ]);
    expect(marks[1]).toHaveClass("copy-missing");
    expect(within(row("shop")).getByTestId("project-copies")).toHaveAttribute("aria-label", "Kept in 1 of 3 places");
  });

  it("counts the backup server's own copy of a backup it made as a place, named by the server", async () => {
    mock();
    const h = protectedHealth("shop", {
      copies: [
        { place: "This computer", kind: "local", ok: true, offsite: false },
        { place: "Backup server db.example.com:8443", kind: "server", ok: true, offsite: false },
      ],
    });
    await renderDashboard(overview([h]));
    const marks = within(row("shop")).getAllByTestId("copy-mark");
    expect(marks.map((m) => [m.textContent, m.dataset.kind])).toEqual([
      ["This computer", "local"],
      ["Backup server db.example.com:8443", "server"],
    ]);
    expect(within(row("shop")).getByTestId("project-copies")).toHaveAttribute("aria-label", "Kept in 2 of 2 places");
  });

  it("says a paused schedule, an overdue project and a failed last run", async () => {
    mock();
    await renderDashboard(
      overview([
        healthWith("shop", "credentials_rejected", {
          overdue: true,
          last_run: { finished_at: new Date().toISOString(), succeeded: false, error_code: "auth", error_message: "password authentication failed" },
        }),
        healthWith("blog", "schedule_paused", { paused: true, schedule: "every 6h" }),
        healthWith("docs", "no_schedule", { schedule: null, next_run: null }),
      ]),
    );
    expect(within(row("shop")).getByTestId("project-overdue")).toHaveTextContent("Overdue");
    expect(within(row("shop")).getByTestId("project-last-run")).toHaveAttribute("data-ok", "false");
    expect(within(row("shop")).getByTestId("project-last-run")).toHaveTextContent(/^Last run failed just now$/);
    // The refusal is said once on the card (dashboard-02: "refused" in the reason, again under the
    // last good backup, "rejected" beside the schedule); its title only on hover here.
    expect((row("shop").textContent ?? "").match(/refused|rejected/gi)?.length ?? 0).toBeLessThanOrEqual(1);
    expect(within(row("shop")).getByTestId("project-last-run").getAttribute("title")).toMatch(/rejected the credentials/);
    expect(within(row("blog")).getByTestId("project-schedule-state")).toHaveAttribute("data-state", "paused");
    expect(within(row("blog")).queryByTestId("project-next-run")).toBeNull();
    expect(within(row("blog")).queryByTestId("project-overdue")).toBeNull();
    expect(within(row("docs")).getByTestId("project-schedule-state")).toHaveTextContent("No schedule");
  });

  it("opens the project on a click on its row or its name (the keyboard's way), not on Fix", async () => {
    mock();
    const { onNavigate } = await renderDashboard(overview([healthWith("shop", "no_schedule")]));
    fireEvent.click(within(row("shop")).getAllByTestId("check-item")[0]!);
    expect(onNavigate).toHaveBeenLastCalledWith({ screen: "project", name: "shop" });
    const name = within(row("shop")).getByTestId("project-open-shop");
    expect(name.tagName).toBe("BUTTON");
    fireEvent.click(name);
    expect(onNavigate).toHaveBeenCalledTimes(2);
    fireEvent.click(within(row("shop")).getByTestId("fix-shop"));
    expect(onNavigate).toHaveBeenLastCalledWith({ screen: "project", name: "shop", tab: "schedules" });
    expect(onNavigate).toHaveBeenCalledTimes(3);
  });

  // Every fix the engine can choose leads somewhere; the button says the engine's label.
  const WHERE: Record<FixAction, Route | "backup" | "supabase"> = {
    back_up_now: "backup",
    edit_credentials: { screen: "edit", name: "shop" },
    verify_previous: { screen: "project", name: "shop", tab: "backups" },
    add_schedule: { screen: "project", name: "shop", tab: "schedules" },
    resume_schedule: { screen: "project", name: "shop", tab: "schedules" },
    add_destination: { screen: "project", name: "shop", tab: "protection" },
    retry_copies: { screen: "project", name: "shop", tab: "protection" },
    capture_now: { screen: "project", name: "shop", tab: "backups" },
    restart_capture: { screen: "project", name: "shop", tab: "backups" },
    check_server: { screen: "project", name: "shop", tab: "sources" },
    review_server_certificate: { screen: "project", name: "shop", tab: "sources" },
    open_drill: { screen: "drills", name: "shop" },
    open_supabase: "supabase",
    free_space: { screen: "settings" },
    verify_now: { screen: "project", name: "shop", tab: "backups" },
    run_drill: { screen: "drills", name: "shop" },
    confirm_recovery_key: { screen: "project", name: "shop", tab: "protection", confirmKey: true },
    set_up_encryption: { screen: "project", name: "shop", tab: "protection" },
  };

  for (const r of RULES) {
    it(`Fix for ${r.kind}: "${r.fix_label}" → ${r.fix}`, async () => {
      const calls = mock();
      const openDashboard = vi.fn<OpenSupabase>(async () => ({ ok: true }));
      const { onNavigate } = await renderDashboard(overview([healthWith("shop", r.kind)]), openDashboard);
      const fix = within(row("shop")).getByTestId("fix-shop");
      expect(fix).toHaveTextContent(r.fix_label);
      expect(fix).toHaveAttribute("data-fix", r.fix);
      expect(within(row("shop")).getByTestId("project-health")).toHaveAttribute("data-health", r.health);
      fireEvent.click(fix);
      const where = WHERE[r.fix];
      if (where === "backup") {
        await waitFor(() => expect(calls.some((c) => c.cmd === "start_backup")).toBe(true));
        expect(calls.find((c) => c.cmd === "start_backup")?.args).toMatchObject({ project: "shop" });
        // Shown running: the button cannot start a second one.
        await waitFor(() => expect(within(row("shop")).getByTestId("fix-shop")).toHaveTextContent("Backing up…"));
        expect(within(row("shop")).getByTestId("fix-shop")).toBeDisabled();
        // The running indicator names the backup's step (issue 64 item 6).
        expect(within(row("shop")).getByTestId("project-running")).toHaveTextContent(/^Backing up · Step 1 of 3: Dump$/);
        expect(onNavigate).not.toHaveBeenCalled();
      } else if (where === "supabase") {
        await waitFor(() => expect(openDashboard).toHaveBeenCalledWith("shop"));
        expect(onNavigate).not.toHaveBeenCalled();
      } else {
        expect(onNavigate).toHaveBeenCalledOnce();
        expect(onNavigate).toHaveBeenCalledWith(where);
        expect(fixTarget(r.fix, "shop")).toEqual({ kind: "route", route: where });
      }
    });
  }

  it("capture behind: At risk with its reason, and Capture now opens the project's Backups (the Point in time card)", async () => {
    mock();
    const reason = "capture last read the changes 5 min ago (over 1 min)";
    const p = healthWith("shop", "capture_behind");
    const behind = { ...p, reason, problems: [{ ...p.problems[0]!, reason }] };
    const { onNavigate } = await renderDashboard(overview([behind]));
    expect(within(row("shop")).getByTestId("project-health")).toHaveAttribute("data-health", "at_risk");
    expect(within(row("shop")).getByTestId("project-reason").textContent?.toLowerCase()).toContain("capture last read the changes 5 min ago");
    const fix = within(row("shop")).getByTestId("fix-shop");
    expect(fix).toHaveTextContent("Capture now");
    fireEvent.click(fix);
    expect(onNavigate).toHaveBeenCalledWith({ screen: "project", name: "shop", tab: "backups" });
  });

  it("shows why a fix could not start (a backup refused, a browser that did not open)", async () => {
    mock((cmd) => {
      if (cmd === "start_backup") throw { code: "busy", message: "a backup of shop is already running", hint: null, retryable: true };
      return undefined;
    });
    const openDashboard = vi.fn<OpenSupabase>(async () => ({
      ok: false,
      error: { code: "not_found", message: "blog has no Supabase project", hint: null, retryable: false },
    }));
    await renderDashboard(overview([healthWith("shop", "overdue"), healthWith("blog", "platform_backup_missing")]), openDashboard);
    fireEvent.click(within(row("shop")).getByTestId("fix-shop"));
    expect(await screen.findByTestId("project-error-shop")).toHaveTextContent("a backup of shop is already running");
    fireEvent.click(within(row("blog")).getByTestId("fix-blog"));
    expect(await screen.findByTestId("project-error-blog")).toHaveTextContent("blog has no Supabase project");
  });
});
