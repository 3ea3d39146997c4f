// e2e: needs postgres
// "Look inside" a backup: a project's backup (made with the CLI) is opened from the backup list;
// the user sees its schemas and tables with row counts, opens a 120-row table, pages it, filters
// it and exports it as CSV (the save answer is a file in a temp folder), and the CSV holds the
// table's rows.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { offsiteCli, pg, psql, requirePg, until } from "../lib/steps.js";

describe("browse a backup in the app", () => {
  let app;
  let $;
  let work;
  const offsite = offsiteCli(() => app.dataDir);

  before(async () => {
    requirePg();
    psql("postgres", "DROP DATABASE IF EXISTS browseshop");
    psql("postgres", "CREATE DATABASE browseshop");
    psql(
      "browseshop",
      "CREATE TABLE items(id int primary key, label text); INSERT INTO items SELECT g, 'item-' || g FROM generate_series(1, 120) g;",
    );
    work = mkdtempSync(join(tmpdir(), "offsite-e2e-browse-"));
    app = await launchApp({ name: "browse", env: { OFFSITE_PG_BIN: pg.bin, OFFSITE_TEST_PICK: join(work, "items.csv") } });
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => {
    await app?.close();
    psql("postgres", "DROP DATABASE IF EXISTS browseshop");
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("pages a table of a backup and exports it as CSV", async () => {
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/browseshop?sslmode=disable`;
    offsite("project", "add", "browseshop", "--db", url);
    offsite("backup", "browseshop");
    await until(app.browser, "the project card", async () => $("project-open-browseshop").isExisting(), { timeoutMs: 15_000 });
    await $("project-open-browseshop").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
    await until(app.browser, "the backup row", async () => (await app.browser.$$(byTestId("backups-row"))).length === 1, {
      timeoutMs: 15_000,
    });
    for (const row of await app.browser.$$(byTestId("backups-row"))) await row.click();
    await $("browse-selected").click();
    await $("browse-screen").waitForDisplayed({ timeout: 15_000 });
    const table = await until(app.browser, "the table list", async () => {
      const all = await app.browser.$$(byTestId("browse-table"));
      for (const t of all) if ((await t.getAttribute("data-table")) === "public.items") return t;
      return null;
    }, { timeoutMs: 30_000 });
    assert.match(await table.parentElement().getText(), /120 rows/);
    await table.click();
    await until(app.browser, "the first page", async () => (await app.browser.$$(byTestId("browse-row"))).length === 50, {
      timeoutMs: 30_000,
    });
    assert.match(await $("browse-range").getText(), /Rows 1–50/);
    const columns = [];
    for (const c of await app.browser.$$(byTestId("browse-column"))) columns.push(await c.getText());
    assert.deepEqual(columns.map((c) => c.split(/\s/)[0]), ["id", "label"]);
    // Each column's type, from the dump's CREATE TABLE statement.
    assert.deepEqual(columns.map((c) => c.trim().split(/\s+/).slice(1).join(" ")), ["integer", "text"]);
    await app.screenshot("01-browse-first-page");
    await $("browse-next").click();
    await until(app.browser, "the second page", async () => /Rows 51–100/.test(await $("browse-range").getText()), { timeoutMs: 30_000 });
    // The first row's text as the page holds it (WebKitWebDriver's getText of a table row can be
    // empty while the grid re-lays out).
    const firstRow = () =>
      app.browser.execute(() => document.querySelector('[data-testid="browse-row"]')?.textContent ?? "");
    assert.match(await firstRow(), /item-51/);
    await $("browse-next").click();
    await until(app.browser, "the last page", async () => /Rows 101–120/.test(await $("browse-range").getText()), { timeoutMs: 30_000 });
    assert.equal(await $("browse-next").isEnabled(), false);

    await $("browse-filter").setValue("item-11");
    await $("browse-filter-apply").click();
    // item-11 and item-110..item-119
    await until(app.browser, "the filtered rows", async () => (await app.browser.$$(byTestId("browse-row"))).length === 11, {
      timeoutMs: 30_000,
    });
    await app.screenshot("02-browse-filtered");

    await $("browse-export-csv").click();
    await $("browse-saved").waitForDisplayed({ timeout: 30_000 });
    const csv = readFileSync(join(work, "items.csv"), "utf8").trim().split(/\r?\n/);
    const data = csv.filter((l) => /^\d+,/.test(l));
    assert.equal(data.length, 120, `CSV lines: ${csv.slice(0, 3).join(" | ")}`);
    assert.equal(data[0], "1,item-1");
  });
});
