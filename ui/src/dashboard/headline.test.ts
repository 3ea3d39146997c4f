// One headline per project, one line for all, one count (issue 64, item 1: dashboard-01-light,
// projects-07-home and checklist-01-home-light contradicted themselves).
import { describe, expect, it } from "vitest";
import type { CheckItem } from "../bindings";
import { checklistWith, gapOf, healthWith, overview, problem, protectedHealth } from "./fixtures";
import { openItems, overviewLine, pastWords, projectHeadline, upcomingWords } from "./headline";

// Local times: the words are this computer's.
const at = (d: number, h: number, m = 0) => new Date(2026, 10, d, h, m);
const NOW = at(28, 14, 0);
const iso = (d: Date) => d.toISOString();

describe("the coming run in words", () => {
  it("says today, tonight, tomorrow, a weekday, else the date", () => {
    expect(upcomingWords(iso(at(28, 16, 30)), NOW)).toBe("today 16:30");
    expect(upcomingWords(iso(at(28, 22, 0)), NOW)).toBe("tonight 22:00");
    expect(upcomingWords(iso(at(29, 2, 30)), NOW)).toBe("tonight 02:30");
    expect(upcomingWords(iso(at(29, 9, 0)), NOW)).toBe("tomorrow 09:00");
    expect(upcomingWords(iso(at(30, 2, 30)), NOW)).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) 02:30$/);
    expect(upcomingWords(iso(new Date(2026, 11, 20, 2, 30)), NOW)).toBe("2026-12-20 02:30");
  });

  it("says a past moment of today by its time, yesterday's as yesterday", () => {
    expect(pastWords(iso(at(28, 2, 30)), NOW)).toBe("02:30");
    expect(pastWords(iso(at(27, 2, 30)), NOW)).toBe("yesterday 02:30");
    expect(pastWords(iso(at(20, 2, 30)), NOW)).toBe("2026-11-20 02:30");
  });
});

describe("a project's headline", () => {
  it("says when the last good backup was and when the next one comes, in green when protected", () => {
    const h = protectedHealth("shop", { last_good: iso(at(28, 12, 0)), next_run: iso(at(29, 2, 30)) });
    expect(projectHeadline(h, NOW)).toEqual({ text: "Last good backup 2 hours ago · next tonight 02:30", tone: "ok" });
  });

  it("never says a good backup calmly beside a failed one (dashboard-01-light)", () => {
    const p = problem("last_run_failed", "The server refused the credentials of the last backup.");
    const h = healthWith("locked", "last_run_failed", {
      last_good: iso(at(28, 13, 59)),
      schedule: null,
      next_run: null,
      last_run: { finished_at: iso(at(28, 13, 59)), succeeded: false, error_code: "auth_failed", error_message: null },
      checklist: checklistWith([{ ...gapOf(p), id: "backed_up" }]),
    });
    const line = projectHeadline(h, NOW);
    expect(line.text).toBe("Last good backup 1 minute ago · the last backup failed 1 minute ago · no schedule");
    expect(line.tone).toBe("warn");
  });

  it("says no good backup yet, a paused schedule and an overdue one", () => {
    const fresh = healthWith("new", "never_backed_up", { last_good: null, last_run: null, next_run: iso(at(29, 9, 0)) });
    expect(projectHeadline(fresh, NOW).text).toBe("No good backup yet · next tomorrow 09:00");
    expect(projectHeadline(protectedHealth("p", { paused: true }), NOW).text).toMatch(/· schedule paused$/);
    expect(projectHeadline(healthWith("o", "overdue", { overdue: true }), NOW)).toMatchObject({ tone: "warn" });
    expect(projectHeadline(healthWith("o", "overdue", { overdue: true }), NOW).text).toMatch(/· overdue$/);
  });
});

describe("one count: the checklist's", () => {
  const waiting: CheckItem = { id: "verified", label: "Verified", state: "waiting", why: "Waits for a first good backup.", fix: null, fix_label: null, at: null, why_at: null };

  it("counts only what needs the user, as the summary does (projects-07-home: 0 of 6 done beside 2 things need you)", () => {
    const p1 = problem("no_schedule");
    const h = healthWith("vault", "never_backed_up", { checklist: checklistWith([gapOf(problem("never_backed_up")), gapOf(p1), waiting]) });
    expect(openItems(h)).toBe(2);
    expect(overviewLine(overview([h]), NOW)).toBe("0 of 1 protected · 2 things need you");
  });

  it("says all protected with the newest backup's time", () => {
    const a = protectedHealth("a", { last_good: iso(at(28, 2, 30)) });
    const b = protectedHealth("b", { last_good: iso(at(27, 2, 30)) });
    const c = protectedHealth("c", { last_good: iso(at(28, 1, 0)) });
    const d = protectedHealth("d", { last_good: iso(at(26, 1, 0)) });
    expect(overviewLine(overview([a, b, c, d]), NOW)).toBe("All 4 protected · last 02:30");
    expect(overviewLine(overview([a]), NOW)).toBe("Protected · last 02:30");
    expect(overviewLine(overview([]), NOW)).toBe("No projects yet");
  });
});
