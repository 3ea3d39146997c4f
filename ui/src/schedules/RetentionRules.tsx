// A retention policy's rules as the editor holds them: the presets (the recommended 7 daily ·
// 4 weekly · 12 monthly, keep everything, my own) and the fields of each rule. The project's
// Retention section and a named schedule's own retention use these same parts; the engine checks
// every value when the policy is saved.
import type { RetentionPolicy } from "../bindings";

export type CountRule = "keep_last" | "keep_hourly" | "keep_daily" | "keep_weekly" | "keep_monthly" | "keep_yearly";

const COUNT_RULES: [CountRule, string][] = [
  ["keep_last", "Keep last"],
  ["keep_hourly", "Hourly"],
  ["keep_daily", "Daily"],
  ["keep_weekly", "Weekly (ISO weeks)"],
  ["keep_monthly", "Monthly"],
  ["keep_yearly", "Yearly"],
];

export type Fields = Record<CountRule | "keep_within", string>;

export const EMPTY: Fields = {
  keep_last: "",
  keep_hourly: "",
  keep_daily: "",
  keep_weekly: "",
  keep_monthly: "",
  keep_yearly: "",
  keep_within: "",
};

export function fieldsOf(p: RetentionPolicy): Fields {
  const s = (n: number | null | undefined) => (n === null || n === undefined ? "" : String(n));
  return {
    keep_last: s(p.keep_last),
    keep_hourly: s(p.keep_hourly),
    keep_daily: s(p.keep_daily),
    keep_weekly: s(p.keep_weekly),
    keep_monthly: s(p.keep_monthly),
    keep_yearly: s(p.keep_yearly),
    keep_within: p.keep_within ?? "",
  };
}

/** The recommended preset (issue 44): a week of dailies, a month of weeklies, a year of monthlies. */
export const RECOMMENDED: Fields = { ...EMPTY, keep_daily: "7", keep_weekly: "4", keep_monthly: "12" };

export type Preset = "recommended" | "everything" | "custom";

/** Which preset the fields are: the recommended one, none (keep everything), or the user's own. */
export function presetOf(f: Fields): Preset {
  const same = (a: Fields, b: Fields) => (Object.keys(a) as (keyof Fields)[]).every((k) => a[k].trim() === b[k].trim());
  if (same(f, RECOMMENDED)) return "recommended";
  if (same(f, EMPTY)) return "everything";
  return "custom";
}

const PRESET_WORDS: Record<Preset, string> = {
  recommended: "7 daily · 4 weekly · 12 monthly (recommended)",
  everything: "Keep everything (never remove a backup)",
  custom: "My own rules",
};

/** The policy the fields say (an empty field: the rule is off; a bad number goes to the engine as 0). */
export function policyOf(f: Fields): RetentionPolicy {
  const n = (s: string) => {
    if (s.trim() === "") return null;
    const v = Number.parseInt(s, 10);
    return Number.isFinite(v) && v >= 0 ? v : 0;
  };
  return {
    keep_last: n(f.keep_last),
    keep_hourly: n(f.keep_hourly),
    keep_daily: n(f.keep_daily),
    keep_weekly: n(f.keep_weekly),
    keep_monthly: n(f.keep_monthly),
    keep_yearly: n(f.keep_yearly),
    keep_within: f.keep_within.trim() === "" ? null : f.keep_within.trim(),
  };
}


/** The presets (recommended, keep everything, my own rules) as one radio group. */
export function RetentionPresets({
  fields,
  group,
  onSetAll,
  testId = "retention-presets",
}: {
  fields: Fields;
  /** The radio group's name (unique on the page). */
  group: string;
  onSetAll: (f: Fields) => void;
  testId?: string;
}) {
  const preset = presetOf(fields);
  return (
    <fieldset className="segmented" data-testid={testId} data-preset={preset}>
      <legend>Keep</legend>
      {(["recommended", "everything", "custom"] as const).map((p) => (
        <label key={p}>
          <input
            type="radio"
            name={group}
            checked={preset === p}
            onChange={() => {
              if (p === "recommended") onSetAll(RECOMMENDED);
              else if (p === "everything") onSetAll(EMPTY);
            }}
            data-testid={`${testId.replace(/-presets$/, "")}-preset-${p}`}
          />
          {PRESET_WORDS[p]}
        </label>
      ))}
    </fieldset>
  );
}

/** The rules' fields (keep last, hourly … yearly, keep within); an empty field is off. */
export function RetentionFields({
  fields,
  onEdit,
  testPrefix = "retention",
}: {
  fields: Fields;
  onEdit: (name: keyof Fields, value: string) => void;
  testPrefix?: string;
}) {
  return (
    <div className="field-grid">
      {COUNT_RULES.map(([name, label]) => (
        <label key={name} className="field">
          <span>{label}</span>
          <input
            type="number"
            min={1}
            placeholder="off"
            value={fields[name]}
            onChange={(e) => onEdit(name, e.target.value)}
            data-testid={`${testPrefix}-${name.replace("keep_", "")}`}
          />
        </label>
      ))}
      <label className="field">
        <span>Keep within (36h, 30d, 8w, 6m, 1y)</span>
        <input
          type="text"
          placeholder="off"
          value={fields.keep_within}
          onChange={(e) => onEdit("keep_within", e.target.value)}
          data-testid={`${testPrefix}-within`}
        />
      </label>
    </div>
  );
}
