// e2e: needs postgres
// Overdue, seen by moving the app's clock (libfaketime, FAKETIME_DONT_FAKE_MONOTONIC=1 so timers
// keep working): a daily schedule whose project cannot be backed up (its password changed on the
// server) is three days later announced as failed and overdue — in notifications a test server
// on the session bus receives — and its card shows the Overdue badge.
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { startNotificationServer } from "../lib/notifications.js";
import { pg, psql, requirePg, until, offsiteCli } from "../lib/steps.js";

const LIBFAKETIME = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1"].find(
  (p) => fs.existsSync(p),
);

describe("a project that has gone too long without a good backup is overdue", () => {
  let app;
  let $;
  let server;
  let dataDir;
  const offsite = offsiteCli(() => dataDir);

  before(async () => {
    requirePg();
    assert.ok(LIBFAKETIME, "libfaketime is installed (Debian package faketime; .ci/setup.sh installs it)");
    psql("postgres", "DROP DATABASE IF EXISTS overdue_src");
    psql("postgres", "DROP ROLE IF EXISTS overdue_user");
    psql("postgres", "CREATE ROLE overdue_user LOGIN PASSWORD 'first-pw'");
    psql("postgres", "CREATE DATABASE overdue_src OWNER overdue_user");
    server = await startNotificationServer();
    app = await launchApp({ name: "overdue", env: { OFFSITE_PG_BIN: pg.bin } });
    dataDir = app.dataDir;
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => {
    await app?.close();
    server?.stop();
    psql("postgres", "DROP DATABASE IF EXISTS overdue_src");
    psql("postgres", "DROP ROLE IF EXISTS overdue_user");
  });

  it("is not overdue while the schedule is new", async () => {
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    const url = `postgres://overdue_user:first-pw@${pg.host}:${pg.port}/overdue_src?sslmode=disable`;
    offsite("project", "add", "lagging", "--db", url);
    offsite("schedule", "set", "lagging", "--daily", "02:30");
    // The card shows the schedule once the CLI's change reaches the window.
    await until(app.browser, "the project's card with its schedule on", async () => {
      const c = await $("project-schedule-state");
      return (await c.isExisting()) && (await c.getAttribute("data-state")) === "on";
    });
    assert.equal(await $("project-overdue").isExisting(), false);
    // The server's password changes: backups of this project will fail (not a temporary error).
    psql("postgres", "ALTER ROLE overdue_user PASSWORD 'second-pw'");
  });

  it("three days later: the catch-up fails, the project is overdue, both are announced", async () => {
    await app.close();
    const restarted = Date.now();
    app = await launchApp({
      name: "overdue-later",
      dataDir,
      env: {
        OFFSITE_PG_BIN: pg.bin,
        LD_PRELOAD: LIBFAKETIME,
        FAKETIME: "+3d",
        FAKETIME_DONT_FAKE_MONOTONIC: "1",
      },
    });
    $ = (id) => app.browser.$(byTestId(id));
    const failed = await until(
      app.browser,
      "the failed catch-up's notification",
      async () => server.received.find((n) => n.at >= restarted && n.summary === "lagging: scheduled backup failed"),
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    assert.match(failed.body, /password|authentication|credentials/i);
    assert.match(failed.body, /No more automatic tries: it needs you\./);
    const overdue = await until(
      app.browser,
      "the overdue notification",
      async () => server.received.find((n) => n.at >= restarted && n.summary === "lagging: no recent backup"),
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    assert.match(overdue.body, /never been backed up/);
    const badge = await until(app.browser, "the Overdue badge", async () => {
      const b = await $("project-overdue");
      return (await b.isExisting()) && b;
    });
    assert.match(await badge.getText(), /overdue/i);
    await app.screenshot("01-overdue-card");
    // Said once: another check does not repeat it.
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(
      server.received.filter((n) => n.summary === "lagging: no recent backup").length,
      1,
      "the overdue notification is not repeated",
    );
  });
});
