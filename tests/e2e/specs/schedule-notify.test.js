// e2e: needs postgres
// Backups that run themselves: a schedule set for a project runs while the app sits in the
// tray — nobody clicks anything — and announces itself in a desktop notification, which a test
// notification server on the session bus (it owns org.freedesktop.Notifications, as a desktop's
// daemon does) receives; its text is asserted.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp, recordMetric } from "../lib/app.js";
import { startNotificationServer } from "../lib/notifications.js";
import { pg, psql, requirePg, until } from "../lib/steps.js";

const cli = process.env.OFFSITE_E2E_CLI;

describe("a scheduled backup runs by itself and announces itself", () => {
  let app;
  let $;
  let server;
  const offsite = (...args) =>
    execFileSync(cli, ["--data-dir", app.dataDir, ...args], {
      env: { ...process.env, OFFSITE_PG_BIN: pg.bin },
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
    });

  before(async () => {
    requirePg();
    assert.ok(cli, "OFFSITE_E2E_CLI is set (run.sh builds the offsite binary)");
    psql("postgres", "DROP DATABASE IF EXISTS sched_src");
    psql("postgres", "CREATE DATABASE sched_src");
    psql("sched_src", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
    server = await startNotificationServer();
    app = await launchApp({ name: "schedule-notify", env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => {
    await app?.close();
    server?.stop();
  });

  it("runs the schedule's first slot without a click and sends a notification saying what it did", async () => {
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/sched_src?sslmode=disable`;
    offsite("project", "add", "nightly", "--db", url);
    // Every minute: the first slot is the next minute boundary.
    const set = JSON.parse(offsite("--json", "schedule", "set", "nightly", "--cron", "* * * * *"));
    assert.ok(set.schedule?.next_runs?.length, `schedule set answered ${JSON.stringify(set)}`);
    const scheduled = Date.now();

    const note = await until(
      app.browser,
      "the scheduled backup's notification",
      async () => server.received.find((n) => n.summary.startsWith("nightly: scheduled backup")),
      { timeoutMs: 150_000, intervalMs: 250 },
    );
    recordMetric("scheduled_notification_after_ms", Date.now() - scheduled);
    assert.equal(note.summary, "nightly: scheduled backup done");
    // Size, duration (the first backup has no size change to report).
    assert.match(note.body, /^[\d.]+ (kB|MB) · in (less than a second|[\d.]+ ?\w+)/);

    // The backup is in the catalog, made by the schedule.
    const backups = JSON.parse(offsite("--json", "backups", "nightly"));
    const list = Array.isArray(backups) ? backups : backups.backups;
    assert.equal(list.length >= 1, true, JSON.stringify(backups));
    await app.screenshot("01-after-scheduled-run");
  });
});
