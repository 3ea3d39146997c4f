// e2e: needs postgres
// A restore drill from the app: a project on the run's PostgreSQL server is backed up with the
// CLI, then the user opens the project's Drills screen, runs a drill into a throwaway cluster
// (Offsite starts it from the server binaries OFFSITE_PG_BIN names), watches it run, and reads the
// passed report: every table named with its expected and found rows, the RTO, the signature
// verifies. The project card then says "Proven restorable … · RTO …".
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

  it("runs a drill on the newest backup and shows the passed report", async () => {
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/drillshop?sslmode=disable`;
    offsite("project", "add", "drillshop", "--db", url);
    offsite("backup", "drillshop");
    await until(app.browser, "the project card", async () => $("project-open-drillshop").isExisting(), { timeoutMs: 15_000 });
    assert.equal(await $("project-proven").getAttribute("data-state"), "never");

    await $("project-open-drillshop").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
    await $("open-drills").click();
    await $("drills-screen").waitForDisplayed({ timeout: 15_000 });
    await $("drills-empty").waitForDisplayed({ timeout: 15_000 });
    await $("drill-target-throwaway").click();
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
    const checks = [];
    const ids = [];
    for (const c of await app.browser.$$(byTestId("drill-check"))) {
      checks.push(c);
      ids.push(await c.getAttribute("data-check"));
    }
    assert.ok(ids.includes("table:public.orders"), `checks: ${ids.join(", ")}`);
    assert.ok(ids.includes("table:public.customers"), `checks: ${ids.join(", ")}`);
    for (const c of checks) assert.notEqual(await c.getAttribute("data-status"), "failed");
    const orders = checks[ids.indexOf("table:public.orders")];
    assert.match(await orders.getText(), /3000/);
    assert.match(await $("drill-report-rto").getText(), /RTO \d/);
    await until(app.browser, "the signature check", async () => (await $("drill-signature").getAttribute("data-state")) === "valid", {
      timeoutMs: 15_000,
    });
    // Save report…: the printable page, naming the project and each table.
    await $("drill-report-save").click();
    await $("drill-report-saved").waitForDisplayed({ timeout: 15_000 });
    const html = readFileSync(join(work, "report.html"), "utf8");
    assert.match(html, /<html/i);
    assert.match(html, /drillshop/);
    assert.match(html, /public\.orders/);
    const rows = [];
    for (const r of await app.browser.$$(byTestId("drill-row"))) rows.push(r);
    assert.equal(rows.length, 1);
    assert.equal(await rows[0].getAttribute("data-verdict"), "passed");

    // The CLI sees the same drill.
    const list = offsite("drill", "list", "drillshop");
    assert.match(list, /passed/i);

    await $("drills-back").click();
    await $("back-home").click();
    await until(app.browser, "the card's proven line", async () => (await $("project-proven").getAttribute("data-state")) === "proven", {
      timeoutMs: 15_000,
    });
    assert.match(await $("project-proven").getText(), /Proven restorable .* · RTO/);
    await app.screenshot("02-card-proven");
  });
});
