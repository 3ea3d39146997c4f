// e2e: needs postgres
// The protection dashboard (issue 29) with the real app: four projects in four situations, set up
// with the `offsite` command line before the app starts —
//   manual   backed up once, no schedule                              → At risk, "Add a schedule"
//   lagging  a daily schedule and one backup, both three days old (OFFSITE_TEST_NOW); the
//            schedule's catch-up ran (`run-due`) while the database was gone, so the app does
//            not catch up again                                      → At risk (overdue), "Back up now"
//   locked   backed up, then its password changed on the server and a backup was refused
//                                                                     → At risk, "Edit credentials"
//   safe     a daily schedule, a fresh verified backup copied to two folder destinations on
//            another disk (one kept offsite: 3 copies, 2 media, 1 offsite), a passing drill
//                                                                     → Protected, no Fix
// — shown worst first as the engine ranks them (crates/core/src/health: rejected credentials,
// then overdue, then no schedule), with the summary line; Fix on the overdue one starts a backup.
// Screenshots in light and dark mode.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { pg, psql, requirePg, until } from "../lib/steps.js";

const DAY = 86400_000;
const DBS = ["dash_manual", "dash_lagging", "dash_locked", "dash_safe"];

describe("the protection dashboard", () => {
  let app;
  let $;
  let dataDir;
  let destDir;
  let vaultDir;
  /** `offsite --json status` once everything is set up: what the engine decided. */
  let engine;

  /** Runs the CLI on this spec's data folder; `now` fixes its clock. Returns { status, stdout, stderr }. */
  const cli = (args, { now, mayFail = false } = {}) => {
    const r = spawnSync(process.env.OFFSITE_E2E_CLI, ["--data-dir", dataDir, ...args], {
      env: { ...process.env, OFFSITE_PG_BIN: pg.bin, ...(now ? { OFFSITE_TEST_NOW: now } : {}) },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (!mayFail && r.status !== 0) {
      throw new Error(`offsite ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    }
    return r;
  };
  const url = (db, user = pg.user, password = pg.password) =>
    `postgres://${user}:${encodeURIComponent(password)}@${pg.host}:${pg.port}/${db}?sslmode=disable`;

  const dropAll = () => {
    for (const db of DBS) psql("postgres", `DROP DATABASE IF EXISTS ${db}`);
    psql("postgres", "DROP ROLE IF EXISTS dash_locked_user");
  };

  before(async () => {
    requirePg();
    assert.ok(process.env.OFFSITE_E2E_CLI, "OFFSITE_E2E_CLI is set (run.sh builds the offsite binary)");
    dropAll();
    psql("postgres", "CREATE ROLE dash_locked_user LOGIN PASSWORD 'first-pw'");
    for (const db of DBS) {
      psql("postgres", `CREATE DATABASE ${db}${db === "dash_locked" ? " OWNER dash_locked_user" : ""}`);
      psql(db, "CREATE TABLE t (id int primary key); INSERT INTO t SELECT generate_series(1, 100)");
    }
    psql("dash_locked", "ALTER TABLE t OWNER TO dash_locked_user");
    const root = fs.mkdtempSync(path.join(process.env.OFFSITE_E2E_TMP, "dashboard-setup-"));
    dataDir = path.join(root, "offsite-data");
    // The NAS is another disk: a folder on the local backups' own filesystem is the same medium
    // as the local copy (3-2-1), so "safe" would not be protected. /dev/shm is another filesystem.
    destDir = fs.mkdtempSync("/dev/shm/offsite-e2e-nas-");
    assert.notEqual(fs.statSync(destDir).dev, fs.statSync(root).dev, "the NAS folder is on another filesystem");
    vaultDir = fs.mkdtempSync("/dev/shm/offsite-e2e-vault-");
    // The disk this runs on may be nearly full: the space watcher would then (rightly) put every
    // project at risk. Not this spec's subject: its thresholds off.
    cli(["notify", "settings", "--space-free-mib", "0", "--space-days", "0"]);

    // manual: one backup, no schedule.
    cli(["project", "add", "manual", "--db", url("dash_manual")]);
    cli(["backup", "manual"]);

    // lagging: everything three days ago; the catch-up of the missed slot fails (the database is
    // gone, not a temporary error: no retry), so the app finds the slot done and the project overdue.
    const then = new Date(Date.now() - 3 * DAY - 10 * 60_000);
    const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
    cli(["project", "add", "lagging", "--db", url("dash_lagging")], { now: iso(then) });
    cli(["schedule", "set", "lagging", "--daily", "02:30", "--tz", "UTC"], { now: iso(then) });
    cli(["backup", "lagging"], { now: iso(new Date(then.getTime() + 60_000)) });
    psql("postgres", "DROP DATABASE dash_lagging");
    const due = cli(["run-due"], { mayFail: true });
    assert.match(due.stdout + due.stderr, /lagging/, "run-due tried the lagging project's missed slot");
    psql("postgres", "CREATE DATABASE dash_lagging");
    psql("dash_lagging", "CREATE TABLE t (id int primary key); INSERT INTO t SELECT generate_series(1, 100)");

    // locked: a good backup, then the server refuses its password.
    cli(["project", "add", "locked", "--db", url("dash_locked", "dash_locked_user", "first-pw")]);
    cli(["backup", "locked"]);
    psql("postgres", "ALTER ROLE dash_locked_user PASSWORD 'second-pw'");
    const refused = cli(["backup", "locked"], { mayFail: true });
    assert.notEqual(refused.status, 0, "the backup with the old password is refused");

    // safe: schedule, two destinations (a drive kept elsewhere counts as offsite), a fresh backup
    // copied to both and verified, and a passing restore drill: every checklist item done.
    cli(["project", "add", "safe", "--db", url("dash_safe")]);
    cli(["schedule", "set", "safe", "--daily", "02:30"]);
    cli(["destination", "add", "safe", "nas", "--folder", destDir]);
    cli(["destination", "add", "safe", "vault", "--folder", vaultDir, "--offsite"]);
    cli(["backup", "safe"]);
    cli(["sync", "safe"]);
    cli(["verify", "safe:latest"]);
    cli(["drill", "safe", "--throwaway"]);

    // What the engine says, to compare the window with.
    // (`status` exits 6 when a project is overdue.)
    engine = JSON.parse(cli(["--json", "status"], { mayFail: true }).stdout);
  });

  after(async () => {
    await app?.close();
    dropAll();
    if (destDir) fs.rmSync(destDir, { recursive: true, force: true });
    if (vaultDir) fs.rmSync(vaultDir, { recursive: true, force: true });
  });

  const rows = async () => {
    const out = [];
    for (const r of await app.browser.$$(byTestId("project-card"))) {
      const name = await r.getAttribute("data-project");
      const fix = await r.$(byTestId(`fix-${name}`));
      out.push({
        name,
        health: await r.getAttribute("data-health"),
        problem: await r.getAttribute("data-problem"),
        fix: (await fix.isExisting()) ? await fix.getText() : null,
      });
    }
    return out;
  };

  it("lists the four projects worst first, as the engine ranks them, each with its Fix", async () => {
    assert.equal(engine.summary, "1 of 4 protected", JSON.stringify(engine, null, 1));
    app = await launchApp({ name: "dashboard", dataDir, env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
    const summary = await $("health-summary");
    await summary.waitForDisplayed({ timeout: 30_000 });
    // One line (issue 64): the engine's "1 of 4 protected" and the checklists' count.
    assert.equal(await summary.getText(), `1 of 4 protected · ${engine.needs_you_line}`);
    assert.equal(await summary.getAttribute("data-worst"), "at_risk");
    const shown = await until(app.browser, "four rows", async () => {
      const r = await rows();
      return r.length === 4 && r;
    });
    assert.deepEqual(shown, [
      { name: "locked", health: "at_risk", problem: "credentials_rejected", fix: "Edit credentials" },
      { name: "lagging", health: "at_risk", problem: "overdue", fix: "Back up now" },
      { name: "manual", health: "at_risk", problem: "no_schedule", fix: "Add a schedule" },
      { name: "safe", health: "protected", problem: "none", fix: null },
    ]);
    // The CLI's `status` says the same (the one set of rules). The order is the engine's
    // (health::worst_first: rejected credentials rank above overdue, overdue above no schedule).
    const byName = Object.fromEntries(engine.projects.map((p) => [p.name, p.health]));
    for (const row of shown) {
      assert.equal(byName[row.name].health, row.health, row.name);
      assert.equal(byName[row.name].problems[0]?.fix_label ?? null, row.fix, row.name);
    }
    const safe = await app.browser.$(`${byTestId("project-card")}[data-project="safe"]`);
    const marks = await safe.$$(byTestId("copy-mark"));
    const places = [];
    for (const m of marks) places.push([await m.getText(), await m.getAttribute("data-ok")]);
    assert.deepEqual(places, [
      ["This computer", "true"],
      ["nas", "true"],
      ["vault", "true"],
    ]);
    assert.match(await safe.$(byTestId("project-subtitle")).getText(), /^database dash_safe$/);
    // Every checklist item done (encryption left off): nothing listed as open.
    const safeChecklist = engine.projects.find((p) => p.name === "safe").health.checklist;
    assert.equal(await safe.$(byTestId("checklist-badge")).getText(), "All done");
    assert.equal(await safe.$(byTestId("checklist-badge")).getAttribute("title"), safeChecklist.line);
    assert.equal(safeChecklist.done, safeChecklist.total, JSON.stringify(safeChecklist));
    assert.equal((await safe.$$(byTestId("check-item"))).length, 0);
    // One headline per card (issue 64), in the colour its words call for: green only when fine.
    const safeLine = await safe.$(byTestId("project-headline"));
    assert.match(await safeLine.getText(), /^Last good backup .+ · next (today|tonight|tomorrow|\w{3}) \d\d:\d\d$/);
    assert.equal(await safeLine.getAttribute("data-tone"), "ok");
    const locked = await app.browser.$(`${byTestId("project-card")}[data-project="locked"]`);
    const lockedLine = await locked.$(byTestId("project-headline"));
    assert.match(await lockedLine.getText(), / · the last backup was refused .+ · no schedule$/);
    // The engine's verdict, said as it is: its state and tone (health::verdict).
    assert.equal(engine.projects.find((p) => p.name === "locked").health.verdict.state, "credentials_refused");
    assert.equal(await lockedLine.getAttribute("data-tone"), "warn");
    const lagging = await app.browser.$(`${byTestId("project-card")}[data-project="lagging"]`);
    assert.match(await lagging.$(byTestId("project-overdue")).getText(), /overdue/i);
    assert.match(await lagging.$(byTestId("project-last-backup")).getText(), /3 days ago/);
    await app.screenshot("01-light");
  });

  it("Fix on the overdue project starts a backup, and the row follows what the engine then says", async () => {
    const lagging = () => app.browser.$(`${byTestId("project-card")}[data-project="lagging"]`);
    await (await $("fix-lagging")).click();
    await until(app.browser, "the lagging backup running or done", async () => {
      const row = await lagging();
      if (await row.$(byTestId("project-running")).isExisting()) return true;
      return /just now/.test(await row.$(byTestId("project-last-backup")).getText());
    });
    await until(
      app.browser,
      "lagging no longer overdue",
      async () => (await (await lagging()).getAttribute("data-problem")) !== "overdue",
      { timeoutMs: 120_000 },
    );
    const row = await lagging();
    assert.match(await row.$(byTestId("project-last-backup")).getText(), /just now|minute/);
    assert.equal(await row.$(byTestId("project-overdue")).isExisting(), false);
    // One copy only now: the engine's next fix, as `offsite status` says too.
    assert.equal(await row.getAttribute("data-problem"), "one_copy");
    assert.equal(await (await $("fix-lagging")).getText(), "Add a destination");
    const now = JSON.parse(cli(["--json", "status"], { mayFail: true }).stdout);
    const lag = now.projects.find((p) => p.name === "lagging").health;
    assert.equal(lag.problems[0].kind, "one_copy");
    assert.equal(lag.problems[0].fix_label, "Add a destination");
    await app.screenshot("02-after-fix");
  });

  it("looks right in dark mode too", async () => {
    await app.close();
    app = await launchApp({ name: "dashboard-dark", dataDir, dark: true, env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
    await (await $("health-summary")).waitForDisplayed({ timeout: 30_000 });
    const dark = await app.browser.execute(() => window.matchMedia("(prefers-color-scheme: dark)").matches);
    assert.equal(dark, true, "the webview reports the dark theme");
    await until(app.browser, "four rows", async () => (await rows()).length === 4);
    await app.screenshot("03-dark");
  });
});
