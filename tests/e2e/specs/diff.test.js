// e2e: needs postgres
// The Diff view (issue 45): a project is backed up twice with the CLI, with orders changed in
// between (rows added, removed and changed) and customers left as they were. On the project page
// the user opens Compare, which offers the newest backup against the one before (by type and
// time, no ids), compares, reads the tables with their change counts (customers identical by its
// digest), opens orders and reads its changed rows with before → after; then compares the newest
// backup with the database now. Screenshots in light and dark.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { offsiteCli, pg, psql, requirePg, until } from "../lib/steps.js";

const DB = "diffshop";

describe("compare two backups in the app", () => {
  let dataDir;

  before(() => {
    requirePg();
    psql("postgres", `DROP DATABASE IF EXISTS ${DB}`);
    psql("postgres", `CREATE DATABASE ${DB}`);
    psql(
      DB,
      `CREATE TABLE orders(id int primary key, customer text, total numeric(10,2));
       INSERT INTO orders SELECT g, 'c' || (g % 9), g * 2 FROM generate_series(1, 300) g;
       CREATE TABLE customers(id int primary key, name text);
       INSERT INTO customers SELECT g, 'name ' || g FROM generate_series(1, 9) g;`,
    );
  });

  after(() => {
    psql("postgres", `DROP DATABASE IF EXISTS ${DB}`);
  });

  const tables = async (app) => {
    const out = {};
    for (const t of await app.browser.$$(byTestId("diff-table"))) {
      const name = (await t.getText()).split(" ")[0];
      out[name] = { status: await t.getAttribute("data-status"), counts: await t.$(byTestId("diff-counts")).getText() };
    }
    return out;
  };

  for (const theme of ["light", "dark"]) {
    it(`${theme}: the newest backup against the one before, a table's changed rows, and the database now`, async () => {
      const app = await launchApp({ name: `diff-${theme}`, ...(dataDir ? { dataDir } : {}), dark: theme === "dark" });
      const $ = (id) => app.browser.$(byTestId(id));
      const offsite = offsiteCli(() => app.dataDir);
      try {
        if (!dataDir) {
          dataDir = app.dataDir;
          await $("empty-state").waitForDisplayed({ timeout: 30_000 });
          const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${DB}?sslmode=disable`;
          offsite("project", "add", DB, "--db", url);
          offsite("backup", DB);
          // 2 removed, 3 changed, 1 added.
          psql(DB, "DELETE FROM orders WHERE id IN (7, 8); UPDATE orders SET total = 1 WHERE id IN (1, 2, 3); INSERT INTO orders VALUES (301, 'new', 5)");
          offsite("backup", DB);
        }
        await until(app.browser, "the project card", async () => $(`project-open-${DB}`).isExisting(), { timeoutMs: 30_000 });
        await $(`project-open-${DB}`).click();
        await $("project-page").waitForDisplayed({ timeout: 30_000 });
        await $("open-diff").click();
        await $("diff-screen").waitForDisplayed({ timeout: 15_000 });
        await until(app.browser, "Compare enabled", async () => $("diff-compare").isEnabled(), { timeoutMs: 15_000 });
        const from = await $("diff-from").getText();
        assert.doesNotMatch(from, /[0-9a-f]{8}-[0-9a-f]{4}/, "backups are named by type and time, not id");
        assert.match(from, /Database backup of \d{4}-\d\d-\d\d \d\d:\d\d/);

        await $("diff-compare").click();
        await until(app.browser, "the tables", async () => (await app.browser.$$(byTestId("diff-table"))).length === 2, { timeoutMs: 60_000 });
        const t = await tables(app);
        assert.equal(t["public.customers"].status, "identical");
        assert.equal(t["public.orders"].status, "changed");
        assert.equal(t["public.orders"].counts, "+1 −2 ~3");
        await $("diff-open-table").click();
        await until(app.browser, "the changed rows", async () => (await app.browser.$$(byTestId("diff-row"))).length === 6, { timeoutMs: 60_000 });
        const kinds = [];
        for (const r of await app.browser.$$(byTestId("diff-row"))) kinds.push(await r.getAttribute("data-kind"));
        assert.deepEqual(kinds.sort(), ["added", "changed", "changed", "changed", "removed", "removed"]);
        const values = [];
        for (const v of await app.browser.$$(byTestId("diff-value"))) values.push(await v.getText());
        assert.ok(values.some((v) => /total: 2\.00 → 1\.00/.test(v)), values.join(" | "));
        await app.screenshot("01-diff-rows");

        // The newest backup against the database now: one more row changed since.
        psql(DB, theme === "light" ? "UPDATE customers SET name = 'renamed' WHERE id = 1" : "SELECT 1");
        await $("diff-from").selectByIndex(0);
        await $("diff-to").selectByAttribute("value", `${DB}:live`);
        await $("diff-compare").click();
        await until(app.browser, "the tables against live", async () => (await app.browser.$$(byTestId("diff-table"))).length === 2, {
          timeoutMs: 60_000,
        });
        const live = await tables(app);
        assert.equal(live["public.orders"].status, "identical", JSON.stringify(live));
        assert.equal(live["public.customers"].status, "changed", JSON.stringify(live));
        assert.equal(live["public.customers"].counts, "+0 −0 ~1");
        await app.screenshot("02-diff-live");
      } finally {
        await app.close();
      }
    });
  }
});
