import { describe, expect, it } from "vitest";
import type { ConfigPlan, ErrorKind, ErrorPayload, StoragePlan, StorageRestoreReport, VerifyReport } from "../bindings";
import { ARCHIVE, corruptReport, fullPlan, onePlan, oneReport, plan, restoreReport, verifyReport } from "./fixtures";
import {
  type Action,
  blockers,
  canBack,
  canNext,
  canRestore,
  createsDatabase,
  EVERYTHING,
  failureAdvice,
  initialState,
  needsMirrorConsent,
  NEW_SERVER_TARGET,
  planChoices,
  reducer,
  restoreDisabledReasons,
  restoreRequest,
  restoreTo,
  runChoices,
  safetyBackupOf,
  succeeded,
  tableArg,
  type WizardState,
} from "./steps";

const run = (s: WizardState, ...actions: Action[]) => actions.reduce(reducer, s);

/** A wizard on the review step with `p` as its plan. */
function atReview(p = plan()): WizardState {
  const s0 = run(
    initialState("shop"),
    { type: "chooseBackup", backupId: "b-1", path: ARCHIVE },
    { type: "next" },
    { type: "verifyStarted" },
    { type: "verifyDone", report: verifyReport() },
    { type: "next" },
    { type: "chooseTarget", target: { kind: "url", url: "postgres://postgres@localhost/shop_copy", password: "pw" } },
    { type: "planStarted" },
  );
  return run(s0, { type: "planLoaded", seq: s0.planSeq, plan: onePlan(p) }, { type: "next" });
}

const err = (code: ErrorKind): ErrorPayload => ({ code, message: `${code} happened`, hint: "do this", retryable: false });

describe("restore wizard steps", () => {
  it("cannot go Next without choosing a backup", () => {
    const s = initialState("shop");
    expect(canNext(s)).toBe(false);
    expect(reducer(s, { type: "next" })).toBe(s);
    expect(canNext(reducer(s, { type: "typePath", path: "   " }))).toBe(false);
    const typed = reducer(s, { type: "typePath", path: " /tmp/x.tar.gz " });
    expect(typed.source).toEqual({ kind: "path", path: "/tmp/x.tar.gz" });
    expect(canNext(typed)).toBe(true);
    expect(reducer(typed, { type: "next" }).step).toBe("verify");
  });

  it("needs an intact archive to leave the check", () => {
    let s = run(initialState("shop"), { type: "chooseBackup", backupId: "b-1", path: ARCHIVE }, { type: "next" });
    expect(canNext(s)).toBe(false);
    s = reducer(s, { type: "verifyStarted" });
    s = reducer(s, { type: "verifyJob", jobId: "j1" });
    expect(s.verify).toMatchObject({ status: "running", jobId: "j1" });
    expect(canNext(s)).toBe(false);
    const corrupt = reducer(s, { type: "verifyDone", report: corruptReport() });
    expect(canNext(corrupt)).toBe(false);
    expect(reducer(corrupt, { type: "next" }).step).toBe("verify");
    const failed = reducer(s, { type: "verifyFailed", error: err("unsupported_format") });
    expect(failed.verify.status).toBe("error");
    expect(canNext(failed)).toBe(false);
    const ok = reducer(s, { type: "verifyDone", report: verifyReport() });
    expect(canNext(ok)).toBe(true);
    expect(reducer(ok, { type: "next" }).step).toBe("target");
  });

  it("needs a complete target and its plan to leave the target step", () => {
    let s = atReview();
    s = reducer(s, { type: "back" });
    expect(s.step).toBe("target");
    expect(canNext(s)).toBe(true); // the choice and its plan are kept
    s = reducer(s, { type: "chooseTarget", target: { kind: "url", url: " ", password: "" } });
    expect(restoreTo(s)).toBeNull();
    expect(canNext(s)).toBe(false);
    s = reducer(s, { type: "chooseTarget", target: { kind: "this" } });
    expect(restoreTo(s)).toEqual({ project: "shop" });
    expect(canNext(s)).toBe(false); // no plan for this target yet
    s = run(s, { type: "planStarted" }, { type: "planLoaded", seq: s.planSeq + 1, plan: onePlan(plan()) });
    expect(canNext(s)).toBe(true);
  });

  it("builds the command arguments for every kind of target", () => {
    let s = run(initialState("shop"), { type: "goto", step: "source" });
    s = { ...s, step: "target" };
    s = reducer(s, { type: "chooseTarget", target: { kind: "project", name: "staging" } });
    expect(restoreTo(s)).toEqual({ project: "staging" });
    s = reducer(s, { type: "chooseTarget", target: { kind: "url", url: "postgres://u@h/db", password: "" } });
    expect(restoreTo(s)).toEqual({ connection: { connection: { url: "postgres://u@h/db" }, tls: null, password: null } });
    s = reducer(s, { type: "chooseTarget", target: { kind: "url", url: "postgres://u@h/db", password: "s3cret" } });
    expect(restoreTo(s)).toMatchObject({ connection: { password: "s3cret" } });    const server = { ...NEW_SERVER_TARGET, host: " db.example.com ", user: "admin", database: "shop_new" };
    s = reducer(s, { type: "chooseTarget", target: server });
    expect(restoreTo(s)).toEqual({
      connection: {
        connection: { fields: { host: "db.example.com", port: 5432, user: "admin", database: "shop_new" } },
        tls: "prefer",
        password: null,
      },
    });
    expect(restoreTo(reducer(s, { type: "chooseTarget", target: { ...server, port: "" } }))).toMatchObject({
      connection: { connection: { fields: { port: null } } },
    });
    for (const bad of [{ port: "0" }, { port: "70000" }, { port: "54x" }, { host: " " }, { user: "" }, { database: "" }])
      expect(restoreTo(reducer(s, { type: "chooseTarget", target: { ...server, ...bad } }))).toBeNull();
  });

  it("plans a typed target when checked, and again at once when only its create box changes", () => {
    let s: WizardState = { ...initialState("shop"), step: "target" };
    const server = { ...NEW_SERVER_TARGET, host: "h", user: "u", database: "d" };
    s = reducer(s, { type: "chooseTarget", target: server });
    expect(s.targetChecked).toBe(false);
    s = reducer(s, { type: "checkTarget" });
    expect(s.targetChecked).toBe(true);
    expect(planChoices(s).create_database).toBe(false);
    s = run(s, { type: "planStarted" }, { type: "planLoaded", seq: s.planSeq + 1, plan: onePlan(plan()) });
    s = reducer(s, { type: "chooseTarget", target: { ...server, create: true } });
    expect(s.targetChecked).toBe(true); // still checked: the plan is asked for again at once
    expect(s.plan.status).toBe("idle");
    expect(createsDatabase(s)).toBe(true);
    expect(planChoices(s).create_database).toBe(true);
    expect(runChoices(s).create_database).toBe(true);
    s = reducer(s, { type: "chooseTarget", target: { ...server, create: true, database: "other" } });
    expect(s.targetChecked).toBe(false); // another database: checked again only when asked
    s = reducer(s, { type: "chooseTarget", target: { kind: "this" } });
    expect(createsDatabase(s)).toBe(false);
  });

  it("ignores the answer to an older plan request", () => {
    let s = atReview();
    s = reducer(s, { type: "back" });
    s = reducer(s, { type: "planStarted" });
    const older = s.planSeq;
    s = reducer(s, { type: "planStarted" });
    const stale = reducer(s, { type: "planLoaded", seq: older, plan: onePlan(fullPlan()) });
    expect(stale.plan.status).toBe("loading");
    const fresh = reducer(s, { type: "planLoaded", seq: s.planSeq, plan: onePlan(fullPlan()) });
    expect(fresh.plan.status).toBe("ready");
    expect(reducer(s, { type: "planFailed", seq: older, error: err("connection") }).plan.status).toBe("loading");
  });

  it("ignores a plan that arrives after the target changed", () => {
    let s = reducer(atReview(), { type: "back" });
    s = reducer(s, { type: "chooseTarget", target: { kind: "url", url: "postgres://u@h/a", password: "" } });
    s = reducer(s, { type: "planStarted" });
    const asked = s.planSeq;
    s = reducer(s, { type: "chooseTarget", target: { kind: "url", url: "postgres://u@h/b", password: "" } });
    s = reducer(s, { type: "planLoaded", seq: asked, plan: onePlan(plan({ target_database: "a" })) });
    expect(s.plan.status).toBe("idle");
    expect(canNext(s)).toBe(false);
  });

  it("restores into an empty database without typed consent", () => {
    const s = atReview(plan());
    expect(s.step).toBe("review");
    expect(canRestore(s)).toBe(true);
    expect(runChoices(s)).toEqual({ replace: false, no_safety_backup: false, create_roles: false, create_database: false, no_owner: false, selection: EVERYTHING, allow_arbitrary_sql: false });
    expect(canNext(s)).toBe(false); // review moves on with "Restore" only
    const running = reducer(s, { type: "confirm", now: 1000 });
    expect(running.step).toBe("run");
    expect(running.run).toMatchObject({ status: "running", startedAt: 1000 });
  });

  it("needs the database name typed to replace a non-empty database", () => {
    let s = atReview(fullPlan());
    expect(canRestore(s)).toBe(false);
    expect(restoreDisabledReasons(s).join(" ")).toContain("shop_copy");
    expect(reducer(s, { type: "confirm", now: 1 }).step).toBe("review");
    s = reducer(s, { type: "typeConsent", text: "shop_cop" });
    expect(canRestore(s)).toBe(false);
    s = reducer(s, { type: "typeConsent", text: "SHOP_COPY" });
    expect(canRestore(s)).toBe(false);
    s = reducer(s, { type: "typeConsent", text: "shop_copy" });
    expect(canRestore(s)).toBe(true);
    expect(runChoices(s)).toEqual({ replace: true, no_safety_backup: false, create_roles: false, create_database: false, no_owner: false, selection: EVERYTHING, allow_arbitrary_sql: false });
    s = reducer(s, { type: "setSafetyBackup", on: false });
    expect(runChoices(s).no_safety_backup).toBe(true);
    expect(s.plan.status).toBe("idle"); // made again with the new choice
    expect(s.consent).toBe("shop_copy"); // same target: the consent stays
    expect(canRestore(s)).toBe(false);
    expect(planChoices(s)).toEqual({ replace: true, no_safety_backup: true, create_roles: false, create_database: false, no_owner: false, selection: EVERYTHING, allow_arbitrary_sql: true });
  });

  it("keeps Restore disabled while there are blockers, even with consent", () => {
    let s = atReview(
      plan({ target_empty: false, missing_roles: ["app_user"], blockers: ["the target server lacks roles: app_user"] }),
    );
    s = reducer(s, { type: "typeConsent", text: "shop_copy" });
    expect(canRestore(s)).toBe(false);
    expect(restoreDisabledReasons(s)).toEqual(["the target server lacks roles: app_user"]);
    // Asking for the roles to be created re-plans; the new plan has no blocker.
    s = run(s, { type: "setCreateRoles", on: true }, { type: "planStarted" });
    expect(canRestore(s)).toBe(false); // while the plan is being made
    s = reducer(s, { type: "planLoaded", seq: s.planSeq, plan: onePlan(plan({ target_empty: false, create_roles: true })) });
    expect(canRestore(s)).toBe(true);
    expect(runChoices(s).create_roles).toBe(true);
  });

  it("keeps every choice when going Back, and drops what depends on a changed choice", () => {
    let s = atReview(fullPlan());
    s = reducer(s, { type: "typeConsent", text: "shop_copy" });
    s = run(s, { type: "back" }, { type: "back" }, { type: "back" });
    expect(s.step).toBe("source");
    expect(canBack(s)).toBe(false);
    expect(s.source).toEqual({ kind: "backup", backupId: "b-1", path: ARCHIVE });
    expect(s.verify.status).toBe("done");
    expect(s.target).toMatchObject({ kind: "url" });
    expect(s.plan.status).toBe("ready");
    expect(s.consent).toBe("shop_copy");

    // Choosing the same backup again keeps the check; another one drops the check and the plan.
    expect(reducer(s, { type: "chooseBackup", backupId: "b-1", path: ARCHIVE }).verify.status).toBe("done");
    const other = reducer(s, { type: "chooseBackup", backupId: "b-2", path: "/tmp/other.tar.gz" });
    expect(other.verify.status).toBe("idle");
    expect(other.plan.status).toBe("idle");
    expect(other.consent).toBe("");
    expect(other.target).toMatchObject({ kind: "url" }); // the target choice stays
  });

  it("changing the target drops the plan and the typed consent", () => {
    let s = atReview(fullPlan());
    s = run(s, { type: "typeConsent", text: "shop_copy" }, { type: "back" });
    s = reducer(s, { type: "chooseTarget", target: { kind: "this" } });
    expect(s.plan.status).toBe("idle");
    expect(s.consent).toBe("");
  });

  it("runs, shows progress, and reports success", () => {
    let s = reducer(atReview(), { type: "confirm", now: 1000 });
    expect(canBack(s)).toBe(false);
    expect(reducer(s, { type: "back" })).toBe(s);
    expect(reducer(s, { type: "goto", step: "source" })).toBe(s);
    s = run(
      s,
      { type: "runJob", jobId: "r1" },
      {
        type: "runProgress",
        progress: { job_id: "r1", phase: "restoring", bytes_done: 10, bytes_total: 100, bytes_per_sec: 5, finished: false },
      },
    );
    expect(s.run).toMatchObject({ status: "running", jobId: "r1", progress: { phase: "restoring" } });
    s = reducer(s, { type: "runFinished", now: 3000, report: oneReport(restoreReport()), error: null });
    expect(s.step).toBe("report");
    expect(succeeded(s)).toBe(true);
    expect(canBack(s)).toBe(false);
  });

  it("puts back the safety backup: the same target, the safety backup as the source, checked and planned again (issue 64 item 2)", () => {
    const done = (safety: string | null) =>
      run(
        { ...atReview(), noOwner: true },
        { type: "confirm", now: 1000 },
        { type: "runJob", jobId: "r1" },
        { type: "runFinished", now: 3000, report: oneReport(restoreReport({ safety_backup: safety })), error: null },
      );
    // No safety backup taken: nothing to put back.
    const without = done(null);
    expect(safetyBackupOf(without)).toBeNull();
    expect(reducer(without, { type: "putBack" })).toBe(without);
    // Only from the report.
    expect(reducer(atReview(), { type: "putBack" }).step).toBe("review");

    const safety = "/home/me/.local/share/offsite/safety/safety-shop-20261129.tar.zst";
    const finished = done(safety);
    expect(safetyBackupOf(finished)).toBe(safety);
    const s = reducer(finished, { type: "putBack" });
    expect(s.step).toBe("verify");
    expect(s.source).toEqual({ kind: "path", path: safety });
    expect(s.target).toEqual({ kind: "url", url: "postgres://postgres@localhost/shop_copy", password: "pw", create: false });
    // A typed target was checked already: planned as soon as the review needs it.
    expect(s.targetChecked).toBe(true);
    expect(s).toMatchObject({ noOwner: true, consent: "", safetyBackup: true, run: { status: "idle" }, verify: { status: "idle" }, plan: { status: "idle" } });
    expect(s.components).toEqual({ database: true, storage: null, config: null });
  });

  it("cancelling marks the run, and a refusal clears the mark", () => {
    let s = run(atReview(), { type: "confirm", now: 0 }, { type: "runJob", jobId: "r1" }, { type: "cancelRequested" });
    expect(s.run).toMatchObject({ cancelling: true });
    s = reducer(s, { type: "cancelRefused" });
    expect(s.run).toMatchObject({ cancelling: false });
  });

  it("goes from a failed run back to the plan, to try again", () => {
    let s = run(atReview(fullPlan()), { type: "typeConsent", text: "shop_copy" }, { type: "confirm", now: 0 });
    s = reducer(s, { type: "runFinished", now: 500, report: null, error: err("needs_consent") });
    expect(s.step).toBe("report");
    expect(succeeded(s)).toBe(false);
    expect(canBack(s)).toBe(true);
    const back = reducer(s, { type: "back" });
    expect(back.step).toBe("review");
    expect(back.run.status).toBe("idle");
    expect(back.consent).toBe(""); // consent is given again, on purpose
    expect(back.plan.status).toBe("idle"); // and the plan made again
    const toTarget = reducer(s, { type: "goto", step: "target" });
    expect(toTarget.step).toBe("target");
  });

  it("a restore whose row counts differ is not a success", () => {
    const s = run(atReview(), { type: "confirm", now: 0 }, {
      type: "runFinished",
      now: 1,
      report: oneReport(restoreReport({ ok: false })),
      error: null,
    });
    expect(succeeded(s)).toBe(false);
  });

  it("advises by error code", () => {
    expect(failureAdvice("cancelled").goto).toBe("review");
    expect(failureAdvice("needs_consent").goto).toBe("review");
    expect(failureAdvice("auth").goto).toBe("target");
    expect(failureAdvice("integrity").goto).toBe("source");
    expect(failureAdvice("validation_failed").goto).toBeNull();
    expect(failureAdvice("something_new").text).toMatch(/failed/);
    // A cancelled parallel restore (the plan's one_transaction false) is not promised a rollback.
    expect(failureAdvice("cancelled").text).toContain("left as it was");
    expect(failureAdvice("cancelled", false).text).toContain("dropped again");
    expect(failureAdvice("cancelled", false).text).not.toContain("left as it was");
    expect(failureAdvice("cancelled", false).goto).toBe("review");
  });
});

describe("choosing what to restore", () => {
  it("quotes table names so any name reads back exactly, and a changed choice re-plans", () => {
    expect(tableArg("MixedCase", 'We"ird t')).toBe('"MixedCase"."We""ird t"');
    let s: WizardState = { ...initialState("shop"), step: "review" };
    s = reducer(s, { type: "planLoaded", seq: s.planSeq, plan: onePlan(plan()) });
    const chosen = { ...EVERYTHING, tables: [tableArg("public", "orders")], into_schema: "yesterday" };
    s = reducer(s, { type: "setSelection", selection: chosen });
    expect(s.plan.status).toBe("idle");
    expect(planChoices(s).selection).toEqual(chosen);
    expect(runChoices(s).selection).toEqual(chosen);
    // The same choice again changes nothing.
    const again = reducer({ ...s, plan: { status: "ready", seq: s.planSeq, plan: onePlan(plan()) } } as WizardState, {
      type: "setSelection",
      selection: { ...chosen },
    });
    expect(again.plan.status).toBe("ready");
  });
});

describe("one request, one plan, one report", () => {
  const storage = {
    project: "shop",
    toFolder: false,
    folder: "",
    allBuckets: false,
    buckets: "avatars, docs",
    mirror: true,
    overwrite: false,
  };
  const storagePlan = (blockers: string[] = [], mirror = true) =>
    ({ mirror, blockers, buckets: [], warnings: [] }) as unknown as StoragePlan;
  const configPlan = (blockers: string[] = []) =>
    ({ project: "shop", project_ref: "r", diffs: [], redacted: [], will_write: [], functions: [], will_deploy: [], vault: { state: "same", will_set: false, note: "" }, blockers }) as ConfigPlan;

  it("builds ONE request with the database and every chosen component", () => {
    let s = atReview();
    s = reducer(s, { type: "setStorage", choice: storage });
    s = reducer(s, { type: "setConfig", choice: { project: "shop", settings: ["supabase/auth.json:site_url"] } });
    expect(s.plan.status).toBe("idle"); // a changed choice makes the plan again
    expect(restoreRequest(s, planChoices(s))).toEqual({
      archive: ARCHIVE,
      database: { to: restoreTo(s), options: planChoices(s) },
      storage: {
        to: { kind: "project", value: "shop" },
        buckets: { kind: "only", names: ["avatars", "docs"] },
        bucket_map: {},
        mirror: true,
        overwrite: false,
      },
      config: { project: "shop", settings: ["supabase/auth.json:site_url"], functions: [], vault_key: false },
    });
    // The Vault box ticked: the request asks to set the key.
    const vault = reducer(s, { type: "setConfig", choice: { project: "shop", settings: [], vaultKey: true } });
    expect(restoreRequest(vault, planChoices(vault))?.config).toEqual({ project: "shop", settings: [], functions: [], vault_key: true });
    // A folder not yet typed: no request, no plan, no Next.
    const folder = reducer(s, { type: "setStorage", choice: { ...storage, toFolder: true } });
    expect(restoreRequest(folder, planChoices(folder))).toBeNull();
  });

  it("reviews every section: one list of blockers, and a mirror waits for the typed word", () => {
    let s = reducer(atReview(), { type: "setStorage", choice: storage });
    s = reducer(s, { type: "setConfig", choice: { project: "shop", settings: [] } });
    s = run(s, { type: "planStarted" });
    const whole = { ...onePlan(plan()), storage: storagePlan(["bucket avatars: access denied"]), config: configPlan(["no token"]) };
    s = reducer(s, { type: "planLoaded", seq: s.planSeq, plan: whole });
    expect(blockers(s)).toEqual(["bucket avatars: access denied", "no token"]);
    expect(canRestore(s)).toBe(false);
    s = reducer(s, { type: "planStarted" });
    s = reducer(s, { type: "planLoaded", seq: s.planSeq, plan: { ...whole, storage: storagePlan(), config: configPlan() } });
    expect(needsMirrorConsent(s)).toBe(true);
    expect(restoreDisabledReasons(s)).toEqual([expect.stringContaining("mirror")]);
    s = reducer(s, { type: "typeMirrorConsent", text: "mirro" });
    expect(canRestore(s)).toBe(false);
    s = reducer(s, { type: "typeMirrorConsent", text: " mirror " });
    expect(canRestore(s)).toBe(true);
  });

  it("the run's report is the one report: a success only when it is ok", () => {
    const s = run(reducer(atReview(), { type: "setStorage", choice: { ...storage, mirror: false } }), { type: "planStarted" });
    const ready = reducer(s, { type: "planLoaded", seq: s.planSeq, plan: { ...onePlan(plan()), storage: storagePlan([], false) } });
    const storageReport = { plan: storagePlan([], false), buckets: [] } as unknown as StorageRestoreReport;
    const done = run(ready, { type: "confirm", now: 0 }, {
      type: "runFinished",
      now: 1,
      report: { ...oneReport(restoreReport()), storage: storageReport },
      error: null,
    });
    expect(done.run).toMatchObject({ status: "finished", report: { storage: storageReport } });
    expect(succeeded(done)).toBe(true);
  });
});

describe("an archive without a database", () => {
  it("restores what it holds: no database section, no database target, no typed name", () => {
    const storageOnly = {
      ...verifyReport(),
      manifest: { counts: { storage: { items: 4, bytes: 3000 } } },
    } as unknown as VerifyReport;
    let s = run(
      initialState("shop"),
      { type: "chooseBackup", backupId: "b-1", path: ARCHIVE },
      { type: "next" },
      { type: "verifyStarted" },
      { type: "verifyDone", report: storageOnly },
    );
    expect(s.components.database).toBe(false);
    expect(restoreRequest(s, planChoices(s))).toBeNull(); // nothing chosen yet
    expect(canNext(s)).toBe(false);
    const choice = { project: "shop", toFolder: true, folder: "/tmp/out", allBuckets: true, buckets: "", mirror: false, overwrite: false };
    s = run(s, { type: "setStorage", choice }, { type: "next" });
    expect(s.step).toBe("target");
    expect(restoreRequest(s, planChoices(s))).toEqual({
      archive: ARCHIVE,
      database: null,
      storage: { to: { kind: "folder", value: "/tmp/out" }, buckets: { kind: "all" }, bucket_map: {}, mirror: false, overwrite: false },
      config: null,
    });
    s = reducer(s, { type: "planStarted" });
    const storage = { mirror: false, blockers: [], buckets: [], warnings: [] } as unknown as StoragePlan;
    s = run(s, { type: "planLoaded", seq: s.planSeq, plan: { archive: ARCHIVE, database: null, storage, config: null } }, { type: "next" });
    expect(s.step).toBe("review");
    expect(restoreDisabledReasons(s)).toEqual([]);
    expect(canRestore(s)).toBe(true);
  });
});
