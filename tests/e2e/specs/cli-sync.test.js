// e2e: needs postgres
// The window sees every change, whoever makes it: a project added and a backup made with the
// `offsite` command line (another process on the same data folder and keychain) appear in the
// open window within a second or two, without any click.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp, recordMetric } from "../lib/app.js";
import { pg, psql, requirePg, until, offsiteCli } from "../lib/steps.js";


describe("the window sees changes made by the command line", () => {
  let app;
  let $;
  const offsite = offsiteCli(() => app.dataDir);

  before(async () => {
    requirePg();
    psql("postgres", "DROP DATABASE IF EXISTS clisync");
    psql("postgres", "CREATE DATABASE clisync");
    psql("clisync", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g");
    app = await launchApp({ name: "cli-sync", env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => app?.close());

  it("shows a project added with the CLI on the open home screen", async () => {
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/clisync?sslmode=disable`;
    offsite("project", "add", "from-cli", "--db", url);
    const added = Date.now();
    const card = await until(app.browser, "the CLI's project on the home screen", async () => {
      const c = await app.browser.$(`${byTestId("project-card")}[data-project="from-cli"]`);
      return (await c.isExisting()) && c;
    }, { timeoutMs: 10_000, intervalMs: 50 });
    recordMetric("cli_project_visible_ms", Date.now() - added);
    assert.equal(await card.getAttribute("data-problem"), "never_backed_up");
    await app.screenshot("01-cli-project-appeared");
  });

  it("shows a backup made with the CLI on the open project page", async () => {
    await $("project-open-from-cli").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
    await $("backups-empty").waitForDisplayed();
    const out = offsite("--json", "backup", "from-cli");
    const made = Date.now();
    const backup = JSON.parse(out);
    assert.match(backup.path, /from-cli_\d{8}_\d{6}_database\.tar\.zst$/);
    await until(app.browser, "the CLI's backup in the open list", async () =>
      (await app.browser.$$(byTestId("backups-row")).length) === 1, { timeoutMs: 10_000, intervalMs: 50 });
    const ms = Date.now() - made;
    recordMetric("cli_backup_visible_ms", ms);
    // "Within a second or two": the window polls the catalog's change feed every 0.5 s.
    assert.ok(ms < 3_000, `the backup appeared after ${ms} ms`);
    assert.equal(await $("backup-count").getText(), "1");
    await app.screenshot("02-cli-backup-appeared");
  });
});
