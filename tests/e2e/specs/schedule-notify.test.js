// e2e: needs postgres
// Backups that run themselves: a schedule made in the project page's editor runs while the app
// sits hidden in the tray (restarted with "start minimised") — nobody clicks anything — and
// announces itself in a desktop notification, which a test notification server on the session bus
// (it owns org.freedesktop.Notifications, as a desktop's daemon does) receives; its text is
// asserted.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp, recordMetric } from "../lib/app.js";
import { startNotificationServer } from "../lib/notifications.js";
import { openTab, pg, psql, requirePg, until, offsiteCli, typeInto } from "../lib/steps.js";


describe("a scheduled backup runs by itself, hidden in the tray, and announces itself", () => {
  let app;
  let $;
  let server;
  let dataDir;
  const offsite = offsiteCli(() => dataDir);

  before(async () => {
    requirePg();
    psql("postgres", "DROP DATABASE IF EXISTS sched_src");
    psql("postgres", "CREATE DATABASE sched_src");
    psql("sched_src", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
    server = await startNotificationServer();
    app = await launchApp({ name: "schedule-notify", env: { OFFSITE_PG_BIN: pg.bin } });
    dataDir = app.dataDir;
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => {
    await app?.close();
    server?.stop();
  });

  it("makes an every-minute schedule in the editor", async () => {
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/sched_src?sslmode=disable`;
    offsite("project", "add", "nightly", "--db", url);
    const open = await until(app.browser, "the project's card", async () => {
      const b = await $("project-open-nightly");
      return (await b.isExisting()) && b;
    });
    await open.click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
    await openTab(app, "schedules");
    await $("schedule-section").waitForDisplayed({ timeout: 30_000 });
    await $("schedule-section").scrollIntoView();
    await $("schedule-kind").selectByAttribute("value", "cron");
    await typeInto(app, "schedule-cron", "* * * * *");
    // Not saved yet: no runs are shown for it, a note says so.
    await $("schedule-preview-unsaved").waitForDisplayed({ timeout: 10_000 });
    assert.equal((await app.browser.$$(byTestId("schedule-preview-run"))).length, 0);
    await $("schedule-save").click();
    await $("schedule-saved").waitForDisplayed({ timeout: 10_000 });
    // Saved: the engine's next 5 runs of it, said to be every minute, with the warning.
    await until(app.browser, "preview", async () => (await app.browser.$$(byTestId("schedule-preview-run")).length) === 5);
    assert.match(await $("schedule-preview-zone").getText(), /every minute/i);
    await $("schedule-preview-frequent").waitForDisplayed();
    await app.screenshot("01-schedule-saved");
  });

  it("shows the scheduled backup as it runs — its step on the page and the dashboard — and Cancel stops it", async () => {
    // A transaction holds the table: the next slot's backup waits in its dump until it ends,
    // so the running job is on screen for as long as the test needs (no race with its speed).
    // The transaction stays open as long as psql reads its input: no time limit, no sleep; it
    // ends when the test says so (ROLLBACK, then the end of the input).
    const holder = spawn(
      path.join(pg.bin, "psql"),
      ["-h", pg.host, "-p", pg.port, "-U", pg.user, "-d", "sched_src", "-v", "ON_ERROR_STOP=1", "-q"],
      { env: { ...process.env, PGPASSWORD: pg.password }, stdio: ["pipe", "ignore", "inherit"] },
    );
    holder.stdin.write("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;\n");
    const release = () => {
      holder.stdin.end("ROLLBACK;\n");
    };
    try {
      await until(app.browser, "the lock held", async () => psql("sched_src", "SELECT count(*) FROM pg_locks WHERE relation = 't'::regclass AND mode = 'AccessExclusiveLock' AND granted") === "1");
      const running = await until(
        app.browser,
        "the scheduled backup running on the project page",
        async () => {
          const j = await $("job-running");
          return (await j.isExisting()) && (await j.getText()).includes("Scheduled backup") && j;
        },
        { timeoutMs: 150_000, intervalMs: 250 },
      );
      assert.match(await running.getText(), /Scheduled backup/);
      await app.screenshot("02-scheduled-backup-running");
      await $("back-home").click();
      const row = await until(app.browser, "the dashboard's running line", async () => {
        const r = await $("project-running");
        return (await r.isExisting()) && r;
      });
      assert.match(await row.getText(), /^Backing up · /);
      await app.screenshot("03-dashboard-scheduled-running");
      await $("project-open-nightly").click();
      await $("project-page").waitForDisplayed({ timeout: 30_000 });
      await $("job-cancel").click();
      const card = await until(app.browser, "the cancelled run's card", async () => {
        const c = await $("job-finished");
        return (await c.isExisting()) && c;
      });
      assert.equal(await card.getAttribute("data-ok"), "false");
      assert.match(await card.getText(), /Scheduled backup/);
      await app.screenshot("04-scheduled-backup-cancelled");
      // The engine's record says what the card says.
      const { jobs } = JSON.parse(offsite("--json", "history", "nightly", "--kind", "backup"));
      assert.equal(jobs[0]?.state, "cancelled", JSON.stringify(jobs));
      assert.equal(jobs[0]?.trigger, "schedule", JSON.stringify(jobs));
    } finally {
      release();
    }
    await until(
      app.browser,
      "the lock released",
      async () => psql("sched_src", "SELECT count(*) FROM pg_locks WHERE relation = 't'::regclass AND granted AND mode = 'AccessExclusiveLock'") === "0",
    );
  });

  it("asks to start minimised", async () => {

    await $("back-home").click();
    await $("open-settings").click();
    const minimised = await $("settings-start-minimised");
    await minimised.waitForDisplayed();
    if (!(await minimised.isSelected())) await minimised.click();
    await $("settings-save").click();
    await $("settings-saved").waitForDisplayed({ timeout: 10_000 });
  });

  it("runs the next slot with the window hidden and sends a notification saying what it did", async () => {
    await app.close();
    const restarted = Date.now();
    app = await launchApp({ name: "schedule-notify-hidden", dataDir, env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
    const visibility = await app.browser.execute(() => document.visibilityState);
    assert.equal(visibility, "hidden", "the app started minimised to the tray");

    const note = await until(
      app.browser,
      "the scheduled backup's notification",
      async () => server.received.find((n) => n.at >= restarted && n.summary.startsWith("nightly: scheduled backup")),
      { timeoutMs: 150_000, intervalMs: 250 },
    );
    recordMetric("scheduled_notification_after_restart_ms", Date.now() - restarted);
    assert.equal(note.summary, "nightly: scheduled backup done");
    assert.match(note.body, /^[\d.]+ (B|KB|MB) · in (under 1 s|[\d.]+ ?\w+)/);

    const backups = JSON.parse(offsite("--json", "backups", "nightly")).backups;
    assert.ok(backups.length >= 1, JSON.stringify(backups));
    const jobs = JSON.parse(offsite("--json", "status", "nightly"));
    assert.ok(jobs.projects?.[0]?.last_good, JSON.stringify(jobs));
  });
});
