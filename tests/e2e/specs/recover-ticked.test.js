// e2e: needs postgres
// One customer's deleted orders back, from ticked rows (issue 64): a shop is backed up with the
// CLI; in the live database customer 2's orders are deleted and another customer's order is
// changed. In Look inside the user finds the customer's orders with an "any column contains"
// filter (not column = value), ticks every row of the page, and recovers them through the plan
// (the rows come back, checked with SQL). Then, with the same orders deleted again, Compare of the
// backup with the database now lists them as removed and the other order as changed: the user
// ticks the page's removed and changed rows and recovers them (the changed one is overwritten
// with the backup's value). Screenshots in light and dark.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { offsiteCli, pg, psql, requirePg, typeInto, until } from "../lib/steps.js";

const DB = "tickshop";

const count = (sql) => Number(psql(DB, sql));
const LOSS = "DELETE FROM orders WHERE customer_id = 2; UPDATE orders SET total = 1 WHERE id = 3";
const ORDERS = "SELECT md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o";

describe("recover ticked rows from Browse and from Compare", () => {
  let dataDir;
  let whole;

  before(() => {
    requirePg();
    psql("postgres", `DROP DATABASE IF EXISTS ${DB}`);
    psql("postgres", `CREATE DATABASE ${DB}`);
    psql(
      DB,
      `CREATE TABLE customers(id int primary key, name text not null);
       CREATE TABLE orders(id int primary key, customer_id int not null references customers on delete cascade, note text, total numeric(10,2));
       INSERT INTO customers VALUES (1, 'Acme'), (2, 'Globex'), (3, 'Initech');
       INSERT INTO orders SELECT g, 1 + g % 3, (ARRAY['Acme', 'Globex', 'Initech'])[1 + g % 3] || ' order ' || g, g * 3 FROM generate_series(1, 30) g;`,
    );
    whole = psql(DB, ORDERS);
  });

  after(() => {
    psql("postgres", `DROP DATABASE IF EXISTS ${DB}`);
  });

  const plannedInserts = async (app) => {
    const planned = {};
    for (const row of await app.browser.$$(byTestId("recover-table"))) {
      const insert = await row.$(byTestId("recover-insert")).getText();
      planned[await row.getAttribute("data-table")] = Number(insert.replace(/,/g, ""));
    }
    return planned;
  };

  for (const theme of ["light", "dark"]) {
    it(`${theme}: tick a customer's orders in Look inside and in Compare, and get them back`, async () => {
      const app = await launchApp({ name: `recover-ticked-${theme}`, ...(dataDir ? { dataDir } : {}), dark: theme === "dark", env: { OFFSITE_PG_BIN: pg.bin } });
      const $ = (id) => app.browser.$(byTestId(id));
      const offsite = offsiteCli(() => app.dataDir);
      try {
        if (!dataDir) {
          dataDir = app.dataDir;
          await $("empty-state").waitForDisplayed({ timeout: 30_000 });
          const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${DB}?sslmode=disable`;
          offsite("project", "add", DB, "--db", url);
          offsite("backup", DB);
        }
        psql(DB, LOSS);
        assert.equal(count("SELECT count(*) FROM orders WHERE customer_id = 2"), 0);

        // Look inside: the customer's orders by a word in them, every row of the page ticked.
        await until(app.browser, "the project card", async () => $(`project-open-${DB}`).isExisting(), { timeoutMs: 30_000 });
        await $(`project-open-${DB}`).click();
        await $("project-page").waitForDisplayed({ timeout: 30_000 });
        await until(app.browser, "the backup row", async () => (await app.browser.$$(byTestId("backups-row"))).length >= 1, { timeoutMs: 15_000 });
        await (await app.browser.$$(byTestId("backups-row")))[0].click();
        await $("browse-selected").click();
        await $("browse-screen").waitForDisplayed({ timeout: 15_000 });
        const orders = await until(app.browser, "the orders table", async () => {
          for (const t of await app.browser.$$(byTestId("browse-table"))) if ((await t.getAttribute("data-table")) === "public.orders") return t;
          return null;
        }, { timeoutMs: 30_000 });
        await orders.click();
        await until(app.browser, "the rows", async () => (await app.browser.$$(byTestId("browse-row"))).length === 30, { timeoutMs: 30_000 });
        await typeInto(app, "browse-filter", "globex");
        await $("browse-filter-apply").click();
        await until(app.browser, "the customer's orders", async () => /matching “globex”/.test(await $("browse-range").getText()), { timeoutMs: 30_000 });
        // The line names the rows shown: once it says "matching", the rows are the filtered ones.
        assert.equal((await app.browser.$$(byTestId("browse-row"))).length, 10);
        await $("browse-tick-page").click();
        await until(app.browser, "10 rows ticked", async () => /10 rows ticked/.test(await $("browse-chosen").getText()), { timeoutMs: 10_000 });
        await app.screenshot("01-browse-ticked");
        await $("browse-recover-chosen").click();
        await $("recover-wizard").waitForDisplayed({ timeout: 10_000 });
        assert.match(await $("recover-where").getText(), /The 10 rows you ticked \(id 1, 4, 7, 10, 13 and 5 more\)/);
        assert.equal(await $("recover-project").getValue(), DB);
        await $("recover-plan").click();
        await $("recover-plan-view").waitForDisplayed({ timeout: 60_000 });
        assert.equal((await plannedInserts(app))["public.orders"], 10);
        await typeInto(app, "recover-confirm", "recover");
        assert.match(await $("recover-start").getText(), /Insert 10 rows in tickshop/);
        await app.screenshot("02-browse-plan");
        await $("recover-start").click();
        await $("recover-report").waitForDisplayed({ timeout: 120_000 });
        assert.equal(count("SELECT count(*) FROM orders WHERE customer_id = 2"), 10);
        assert.equal(count("SELECT total FROM orders WHERE id = 3"), 1, "an order not ticked is left as it is");
        await app.screenshot("03-browse-recovered");

        // The same loss again; Compare the backup with the database now.
        psql(DB, LOSS);
        await $("browse-back").click();
        await $("project-page").waitForDisplayed({ timeout: 30_000 });
        await $("open-diff").click();
        await $("diff-screen").waitForDisplayed({ timeout: 15_000 });
        await until(app.browser, "Compare enabled", async () => $("diff-compare").isEnabled(), { timeoutMs: 15_000 });
        assert.equal(await $("diff-to").getValue(), `${DB}:live`);
        await $("diff-compare").click();
        const open = await until(app.browser, "orders changed", async () => {
          for (const t of await app.browser.$$(byTestId("diff-open-table"))) if ((await t.getText()) === "public.orders") return t;
          return null;
        }, { timeoutMs: 60_000 });
        await open.click();
        await until(app.browser, "the changed rows", async () => (await app.browser.$$(byTestId("diff-row"))).length === 11, { timeoutMs: 60_000 });
        await $("diff-tick-page").click();
        await until(app.browser, "11 rows ticked", async () => /11 rows ticked/.test(await $("diff-chosen").getText()), { timeoutMs: 10_000 });
        await app.screenshot("04-diff-ticked");
        await $("diff-recover").click();
        await $("recover-wizard").waitForDisplayed({ timeout: 10_000 });
        assert.equal(await $("recover-update").isSelected(), true, "a changed row comes back over the newer value");
        await $("recover-plan").click();
        await $("recover-plan-view").waitForDisplayed({ timeout: 60_000 });
        await $("recover-destroys").waitForDisplayed({ timeout: 10_000 });
        await typeInto(app, "recover-confirm", "recover");
        assert.match(await $("recover-start").getText(), /Insert 10 rows, overwrite 1 in tickshop/);
        await app.screenshot("05-diff-plan");
        await $("recover-start").click();
        await $("recover-report").waitForDisplayed({ timeout: 120_000 });
        assert.equal(psql(DB, ORDERS), whole, "the orders are the backup's again");
        await app.screenshot("06-diff-recovered");
      } finally {
        await app.close();
      }
    });
  }
});
