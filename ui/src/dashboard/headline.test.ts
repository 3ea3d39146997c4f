// One headline per project, one line for all, one count (issue 64, item 1: dashboard-01-light,
// projects-07-home and checklist-01-home-light contradicted themselves). The state, the tone and
// the count are the engine's verdict (health::verdict, its table tested there): these tests give
// a verdict and check only the words and that the tone is carried, never re-decided.
import { describe, expect, it } from "vitest";
import type { ProjectVerdict } from "../bindings";
import { overviewVerdict, protectedHealth } from "./fixtures";
import { overviewLine, pastWords, projectHeadline, upcomingWords } from "./headline";

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

const verdict = (v: Partial<ProjectVerdict>): ProjectVerdict => ({
  state: "protected",
  tone: "ok",
  last_good: null,
  failed_at: null,
  next: "nothing",
  next_run: null,
  needs_you: 0,
  backup_running: false,
  ...v,
});

describe("a project's headline: the engine's verdict in words", () => {
  it("protected: when the last good backup was and when the next one comes, in the engine's tone", () => {
    const v = verdict({ last_good: iso(at(28, 12, 0)), next: "at", next_run: iso(at(29, 2, 30)) });
    expect(projectHeadline(v, NOW)).toEqual({ text: "Last good backup 2 hours ago · next tonight 02:30", tone: "ok" });
  });

  it("failed with a good one before: never said calmly beside it (dashboard-01-light)", () => {
    const v = verdict({ state: "failed", tone: "warn", last_good: iso(at(27, 14, 0)), failed_at: iso(at(28, 13, 59)), next: "no_schedule" });
    expect(projectHeadline(v, NOW)).toEqual({ text: "Last good backup 1 day ago · the last backup failed 1 minute ago · no schedule", tone: "warn" });
  });

  it("credentials refused: says the refusal, amber", () => {
    const v = verdict({ state: "credentials_refused", tone: "warn", last_good: iso(at(28, 13, 59)), failed_at: iso(at(28, 13, 59)), next: "no_schedule" });
    expect(projectHeadline(v, NOW)).toEqual({ text: "Last good backup 1 minute ago · the last backup was refused 1 minute ago · no schedule", tone: "warn" });
  });

  it("never backed up, overdue, a paused schedule, paused backups", () => {
    expect(projectHeadline(verdict({ state: "never_backed_up", tone: "warn", next: "at", next_run: iso(at(29, 9, 0)) }), NOW)).toEqual({
      text: "No good backup yet · next tomorrow 09:00",
      tone: "warn",
    });
    const good = iso(at(25, 14, 0));
    expect(projectHeadline(verdict({ state: "overdue", tone: "warn", last_good: good, next: "overdue" }), NOW)).toEqual({ text: "Last good backup 3 days ago · overdue", tone: "warn" });
    expect(projectHeadline(verdict({ state: "at_risk", tone: "plain", last_good: good, next: "schedule_paused" }), NOW).text).toBe("Last good backup 3 days ago · schedule paused");
    // The banner says what resumes paused backups: nothing after the last good backup.
    expect(projectHeadline(verdict({ state: "paused", tone: "warn", last_good: good, next: "nothing" }), NOW).text).toBe("Last good backup 3 days ago");
  });

  it("running: the news first, in the tone the engine gave (not green for a first backup)", () => {
    expect(projectHeadline(verdict({ state: "running", tone: "warn", backup_running: true, next: "at", next_run: iso(at(29, 2, 30)) }), NOW)).toEqual({
      text: "Backing up now · no good backup yet · next tonight 02:30",
      tone: "warn",
    });
    expect(projectHeadline(verdict({ state: "running", tone: "ok", backup_running: true, last_good: iso(at(28, 12, 0)) }), NOW).text).toBe(
      "Backing up now · last good backup 2 hours ago",
    );
  });

  it("takes the tone as given: it never decides one from the words", () => {
    // A verdict the UI would once have called amber (a failed run) keeps the engine's tone.
    expect(projectHeadline(verdict({ state: "failed", tone: "plain", failed_at: iso(at(28, 13, 0)) }), NOW).tone).toBe("plain");
  });
});

describe("one line for all, one count: the engine's", () => {
  it("says the engine's count, not one of its own (projects-07-home: 0 of 6 done beside 2 things need you)", () => {
    const v = overviewVerdict([], { projects: 1, protected: 0, needs_you: 2, tone: "warn" });
    expect(overviewLine(v, NOW)).toBe("0 of 1 protected · 2 things need you");
    expect(overviewLine({ ...v, needs_you: 1 }, NOW)).toBe("0 of 1 protected · 1 thing needs you");
    expect(overviewLine({ ...v, needs_you: 0, running: 1 }, NOW)).toBe("0 of 1 protected · 1 backup running");
  });

  it("says all protected with the newest backup's time", () => {
    const a = protectedHealth("a", { last_good: iso(at(28, 2, 30)) });
    const b = protectedHealth("b", { last_good: iso(at(27, 2, 30)) });
    const c = protectedHealth("c", { last_good: iso(at(28, 1, 0)) });
    const d = protectedHealth("d", { last_good: iso(at(26, 1, 0)) });
    expect(overviewLine(overviewVerdict([a, b, c, d]), NOW)).toBe("All 4 protected · last 02:30");
    expect(overviewLine(overviewVerdict([a]), NOW)).toBe("Protected · last 02:30");
    expect(overviewLine(overviewVerdict([a, b]), NOW)).toBe("Both protected · last 02:30");
    expect(overviewLine(overviewVerdict([]), NOW)).toBe("No projects yet");
  });

  it("all protected is the engine's word: projects protected by health but not so by the verdict are not 'All'", () => {
    const a = protectedHealth("a", { last_good: iso(at(28, 2, 30)) });
    expect(overviewLine(overviewVerdict([a, a], { all_protected: false, protected: 1, needs_you: 1 }), NOW)).toBe("1 of 2 protected · 1 thing needs you");
  });
});
