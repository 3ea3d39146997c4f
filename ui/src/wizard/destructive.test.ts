import { describe, expect, it } from "vitest";
import { destructiveWarning, replacedWords, restoreButtonLabel } from "./destructive";
import { fullPlan, onePlan, plan, storagePlan } from "./fixtures";

describe("the destructive step, from the plan (issue 44)", () => {
  it("an empty target: no banner, a plain Restore", () => {
    expect(destructiveWarning(onePlan(plan()))).toBeNull();
    expect(restoreButtonLabel(onePlan(plan()))).toBe("Restore");
  });

  it("counts the tables the engine counted, not the list's lines", () => {
    const p = plan({
      target_empty: false,
      existing: ["public.a", "public.b", "view public.v"],
      will_replace: ["public.a", "public.b", "view public.v"],
      will_replace_tables: 2,
      safety_backup: true,
      target: "postgres://postgres@127.0.0.1:5432/restore_src",
      target_database: "restore_src",
    });
    expect(replacedWords(p)).toBe("2 tables and 1 other object");
    expect(destructiveWarning(onePlan(p))).toEqual([
      "Replaces 2 tables and 1 other object in restore_src on 127.0.0.1. A safety backup is taken first.",
    ]);
    expect(restoreButtonLabel(onePlan(p))).toBe("Replace 2 tables and 1 other object in restore_src");
    const tablesOnly = { ...p, will_replace: ["public.a", "public.b"] };
    expect(destructiveWarning(onePlan(tablesOnly))?.[0]).toBe(
      "Replaces 2 tables in restore_src on 127.0.0.1. A safety backup is taken first.",
    );
  });

  it("says when no safety backup is taken, and what the replace drops along", () => {
    const p = { ...fullPlan(), safety_backup: false, will_drop: ["view public.recent"] };
    const [line] = destructiveWarning(onePlan(p))!;
    expect(line).toContain("Also drops 1 object that depends on them.");
    expect(line).toContain("No safety backup is taken");
    expect(line).not.toContain("A safety backup is taken first");
  });

  it("a storage mirror that deletes objects is named too", () => {
    const whole = { ...onePlan(plan()), storage: storagePlan(true) };
    expect(destructiveWarning(whole)).toEqual([
      "Deletes 4 objects (0 B) from object store that the backup does not have.",
    ]);
    expect(restoreButtonLabel(whole)).toBe("Restore and delete 4 objects");
    expect(destructiveWarning({ ...whole, storage: storagePlan(false) })).toBeNull();
  });

  it("a storage part that overwrites objects is named in the banner and the button, beside the database's (storage-05)", () => {
    const storage = { ...storagePlan(true), overwrite: true, overwrite_count: 1, delete: 1 };
    const p = fullPlan();
    const both = { ...onePlan(p), storage };
    const lines = destructiveWarning(both)!;
    expect(lines).toContain("Overwrites 1 object in object store with the backup's version.");
    expect(lines.some((l) => l.startsWith("Deletes 1 object"))).toBe(true);
    expect(restoreButtonLabel(both)).toMatch(/^Replace .* in .*, overwrite 1 object and delete 1 object in storage$/);
    expect(restoreButtonLabel({ ...both, storage: { ...storage, overwrite_count: 0 } })).toMatch(/, delete 1 object in storage$/);
    // An object store replaces differing objects whatever `overwrite` (a folders' switch) says.
    expect(restoreButtonLabel({ ...both, storage: { ...storage, overwrite: false } })).toMatch(/overwrite 1 object and delete 1 object in storage$/);
  });

  it("a plan that would refuse (replace off) promises no replacement", () => {
    const p = { ...fullPlan(), replace: false };
    expect(destructiveWarning(onePlan(p))).toBeNull();
  });
});
