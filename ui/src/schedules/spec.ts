// The schedule editor's form, the engine's typed spec (`ScheduleWhen`, sent and read over IPC:
// no spec text is parsed here) and the spec in words. The engine checks every value (and says
// what is wrong, with a hint); nothing here validates beyond shaping input.
import type { ScheduleWhen } from "../bindings";

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Day = (typeof DAYS)[number];

export const DAY_NAMES: Record<Day, string> = {
  mon: "Monday",
  tue: "Tuesday",
  wed: "Wednesday",
  thu: "Thursday",
  fri: "Friday",
  sat: "Saturday",
  sun: "Sunday",
};

export type WhenKind = ScheduleWhen["kind"];

/** What the editor's fields hold (all of them, whatever kind is chosen). */
export type ScheduleForm = {
  kind: WhenKind;
  hours: string;
  time: string;
  days: Day[];
  day: string;
  cron: string;
  paused: boolean;
  /** Verify schedules: check only the newest N backups ("" = all). */
  newest: string;
  /** Backup schedules: the tenant whose per-tenant archives follow each backup ("" = none). */
  tenant: string;
};

export const DEFAULT_FORM: ScheduleForm = {
  kind: "daily",
  hours: "6",
  time: "02:30",
  days: ["mon"],
  day: "1",
  cron: "30 2 * * *",
  paused: false,
  newest: "",
  tenant: "",
};

/** A drill schedule starts monthly (the 1st, 04:00): a restore drill proves a backup restores. */
export const DRILL_DEFAULT_FORM: ScheduleForm = { ...DEFAULT_FORM, kind: "monthly", day: "1", time: "04:00" };

/** What the editor starts from when the kind has no saved schedule. */
export function defaultForm(kind: "backup" | "verify" | "drill"): ScheduleForm {
  return kind === "drill" ? DRILL_DEFAULT_FORM : DEFAULT_FORM;
}

/** A number typed into a field; NaN-free (a bad number is sent as given, for the engine to refuse). */
function int(s: string): number {
  const n = Number.parseInt(s.trim(), 10);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/** The command's argument for the form's kind. */
export function whenOf(f: ScheduleForm): ScheduleWhen {
  switch (f.kind) {
    case "every":
      return { kind: "every", hours: int(f.hours) };
    case "daily":
      return { kind: "daily", time: f.time };
    case "weekly":
      return { kind: "weekly", days: DAYS.filter((d) => f.days.includes(d)), time: f.time };
    case "monthly":
      return { kind: "monthly", day: int(f.day), time: f.time };
    case "cron":
      return { kind: "cron", expr: f.cron };
  }
}

/** The form for a saved spec (the engine's typed value). */
export function formOf(when: ScheduleWhen, paused: boolean, newest: number | null, tenant: string | null = null): ScheduleForm {
  const base: ScheduleForm = { ...DEFAULT_FORM, paused, newest: newest === null ? "" : String(newest), tenant: tenant ?? "" };
  switch (when.kind) {
    case "every":
      return { ...base, kind: "every", hours: String(when.hours) };
    case "daily":
      return { ...base, kind: "daily", time: when.time };
    case "weekly":
      return {
        ...base,
        kind: "weekly",
        days: when.days.filter((d): d is Day => (DAYS as readonly string[]).includes(d)),
        time: when.time,
      };
    case "monthly":
      return { ...base, kind: "monthly", day: String(when.day), time: when.time };
    case "cron":
      return { ...base, kind: "cron", cron: when.expr };
  }
}

function list(words: string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${s}`;
}

/** A saved spec in words: "Every day at 02:30", "Mondays and Thursdays at 02:30". `words`: the
 * engine's words for the same schedule (`ScheduleView.words`), used for a cron expression. */
export function describeSpec(when: ScheduleWhen, words?: string): string {
  switch (when.kind) {
    case "every": {
      const n = when.hours;
      return n === 1 ? "Every hour" : n === 24 ? "Every day at 00:00" : `Every ${n} hours from midnight`;
    }
    case "daily":
      return `Every day at ${when.time}`;
    case "weekly": {
      const days = when.days.map((d) => `${DAY_NAMES[d as Day] ?? d}s`);
      return `${list(days)} at ${when.time}`;
    }
    case "monthly": {
      const d = when.day;
      return `Monthly on the ${ordinal(d)} at ${when.time}${d > 28 ? " (shorter months: their last day)" : ""}`;
    }
    case "cron":
      return words ? words.charAt(0).toUpperCase() + words.slice(1) : `Cron “${when.expr}”`;
  }
}
