// e2e: needs postgres
// A restore drill from the app: a project on the run's PostgreSQL server is backed up with the
// CLI, then the user opens the project's Drills screen, adds a validation query, runs a drill into a throwaway cluster
// (Offsite starts it from the server binaries OFFSITE_PG_BIN names), watches it run, and reads the
// passed report: every table named with its expected and found rows, the time to restore, the signature
// verifies. The project card then says "Proven restorable … · restored in …".
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { offsiteCli, pg, psql, requirePg, until } from "../lib/steps.js";

describe("a restore drill in the app", () => {
  let app;
  let $;
  let work;
  const offsite = offsiteCli(() => app.dataDir);

  before(async () => {
    requirePg();
    psql("postgres", "DROP DATABASE IF EXISTS drillshop");
    psql("postgres", "CREATE DATABASE drillshop");
    psql(
      "drillshop",
      "CREATE TABLE orders(id int primary key, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 3000) g;" +
        "CREATE TABLE customers(id int primary key, name text); INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 40) g;",
    );
    work = mkdtempSync(join(tmpdir(), "offsite-e2e-drill-"));
    // The save dialog's answer ("Save report…").
    app = await launchApp({ name: "drill", env: { OFFSITE_PG_BIN: pg.bin, OFFSITE_TEST_PICK: join(work, "report.html") } });
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => {
    await app?.close();
    psql("postgres", "DROP DATABASE IF EXISTS drillshop");
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const checkRows = async () => {
    const rows = [];
    for (const c of await app.browser.$$(byTestId("drill-check"))) {
      rows.push({ el: c, id: await c.getAttribute("data-check"), status: await c.getAttribute("data-status") });
    }
    return rows;
  };

  it("runs a drill with a validation query on the newest backup and shows the passed, signed report", async () => {
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/drillshop?sslmode=disable`;
    offsite("project", "add", "drillshop", "--db", url);
    offsite("backup", "drillshop");
    await until(app.browser, "the project card", async () => $("project-open-drillshop").isExisting(), { timeoutMs: 15_000 });
    // Never proven: the card's checklist lists "Restore proven" as an open item.
    const proven = '[data-testid="project-card"] [data-testid="check-item"][data-item="restore_proven"]';
    // The card appears with the project (items waiting for a first backup) and follows the
    // backup through the change feed: wait for that, then it must be an open item.
    const state = await until(
      app.browser,
      "the card to show the backup",
      async () => {
        const s = await app.browser.$(proven).getAttribute("data-state");
        return s !== "waiting" && s;
      },
      { timeoutMs: 15_000 },
    );
    assert.equal(state, "gap");

    await $("project-open-drillshop").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
    await $("open-drills").click();
    await $("drills-screen").waitForDisplayed({ timeout: 15_000 });
    await $("drills-empty").waitForDisplayed({ timeout: 15_000 });
    // A validation query, added in the editor, is run by the drill.
    await $("validation-check-sql").setValue("select count(*) from orders");
    await $("validation-check-expect-input").setValue(">= 3000");
    await $("validation-check-add").click();
    await $("validation-check").waitForDisplayed({ timeout: 15_000 });
    // One choice of where drills restore, the settings' (a throwaway cluster by default).
    await $("drill-run-target").waitForDisplayed({ timeout: 15_000 });
    await $("drill-run").click();
    const outcome = await until(
      app.browser,
      "the drill's report",
      async () =>
        ((await $("drill-report").isExisting()) && "report") ||
        ((await $("drill-start-error").isExisting()) && "refused") ||
        ((await $("job-error").isExisting()) && "failed"),
      { timeoutMs: 240_000, intervalMs: 250 },
    );
    if (outcome !== "report") await app.screenshot("00-drill-not-run");
    assert.equal(outcome, "report");
    await until(app.browser, "the signature check", async () => (await $("drill-signature").getAttribute("data-state")) !== "checking", {
      timeoutMs: 15_000,
    });
    await $("drill-report").scrollIntoView({ block: "start" });
    await app.screenshot("01-drill-report");
    assert.equal(await $("drill-report").getAttribute("data-verdict"), "passed");
    assert.equal(await $("drill-signature").getAttribute("data-state"), "valid");
    const checks = await checkRows();
    const ids = checks.map((c) => c.id);
    for (const c of checks) assert.notEqual(c.status, "failed", `check ${c.id} failed`);
    for (const id of ["verify", "restore", "rto"]) assert.ok(ids.includes(id), `checks: ${ids.join(", ")}`);
    const query = checks.find((c) => c.id.startsWith("query:"));
    assert.ok(query, `a validation query check among: ${ids.join(", ")}`);
    assert.equal(query.status, "passed");
    assert.match(await query.el.getText(), />= 3000/);
    assert.match(await $("drill-report-rto").getText(), /^(under 1 s|\d+ (s|min|h))/);

    // Save report…: the printable page, naming the project.
    await $("drill-report-save").click();
    await $("drill-report-saved").waitForDisplayed({ timeout: 15_000 });
    const html = readFileSync(join(work, "report.html"), "utf8");
    assert.match(html, /<html/i);
    assert.match(html, /drillshop/);
    const rows = [];
    for (const r of await app.browser.$$(byTestId("drill-row"))) rows.push(r);
    assert.equal(rows.length, 1);
    assert.equal(await rows[0].getAttribute("data-verdict"), "passed");
    // The CLI sees the same drill.
    assert.match(offsite("drill", "list", "drillshop"), /passed/i);
  });

  it("the report proves every table's rows: each table is a check with the rows backed up and found", async () => {
    const checks = await checkRows();
    const ids = checks.map((c) => c.id);
    assert.ok(ids.includes("table:public.orders"), `checks: ${ids.join(", ")}`);
    assert.ok(ids.includes("table:public.customers"), `checks: ${ids.join(", ")}`);
    const orders = checks.find((c) => c.id === "table:public.orders");
    assert.equal(orders.status, "passed");
    assert.match(await orders.el.getText(), /3000/);
  });

  it("the project card then says restore proven", async () => {
    await $("drills-back").click();
    await $("back-home").click();
    // Proven: "Restore proven" leaves the open items for the checklist's done line.
    await until(app.browser, "the card's checklist says restore proven", async () => /Restore proven/.test(await $("project-checklist-done").getText()), {
      timeoutMs: 15_000,
    });
    assert.equal(await app.browser.$('[data-testid="project-card"] [data-testid="check-item"][data-item="restore_proven"]').isExisting(), false);
    await app.screenshot("02-card-proven");
  });
});
