// e2e: needs postgres
// "Recover these rows…" (issue 45): a backup of a database with organizations → projects →
// tasks is made with the CLI; in the live database organization 2 is deleted (its projects and
// tasks go with it, ON DELETE CASCADE) while organization 1 keeps changing. The user opens the
// backup's orgs table in Look inside, filters id = 2, and walks the wizard: into the project
// itself, with children → the plan (3 tables, counts) → types "recover" → the job → the report
// with per-table counts; the rows are back (checked with SQL), organization 1's new row is
// untouched; then Undo puts the database back as it was before the recovery. Screenshots in
// light and dark.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { offsiteCli, openTab, pg, psql, requirePg, typeInto, until } from "../lib/steps.js";

const DB = "recovershop";

const count = (sql) => Number(psql(DB, sql));

describe("recover rows from a backup in the app", () => {
  let dataDir;

  before(() => {
    requirePg();
    psql("postgres", `DROP DATABASE IF EXISTS ${DB}`);
    psql("postgres", `CREATE DATABASE ${DB}`);
    psql(
      DB,
      `CREATE TABLE orgs(id int primary key, name text not null);
       CREATE TABLE projects(id int primary key, org_id int not null references orgs on delete cascade, title text);
       CREATE TABLE tasks(id bigint generated always as identity primary key, project_id int not null references projects on delete cascade, body text);
       INSERT INTO orgs VALUES (1, 'Acme'), (2, 'Globex');
       INSERT INTO projects SELECT g, 1 + g % 2, 'project ' || g FROM generate_series(1, 10) g;
       INSERT INTO tasks(project_id, body) SELECT 1 + g % 10, 'task ' || g FROM generate_series(1, 100) g;`,
    );
  });

  after(() => {
    psql("postgres", `DROP DATABASE IF EXISTS ${DB}`);
  });

  for (const theme of ["light", "dark"]) {
    it(`${theme}: filter, plan, recover, report, undo`, async () => {
      const app = await launchApp({ name: `recover-${theme}`, ...(dataDir ? { dataDir } : {}), dark: theme === "dark", env: { OFFSITE_PG_BIN: pg.bin } });
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
        // Tenant 2 is lost; tenant 1 keeps working.
        psql(DB, "DELETE FROM orgs WHERE id = 2; INSERT INTO projects VALUES (11, 1, 'new since the backup')");
        const before = psql(DB, "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (SELECT * FROM projects) t");
        assert.equal(count("SELECT count(*) FROM projects WHERE org_id = 2"), 0);

        await until(app.browser, "the project card", async () => $(`project-open-${DB}`).isExisting(), { timeoutMs: 30_000 });
        await $(`project-open-${DB}`).click();
        await $("project-page").waitForDisplayed({ timeout: 30_000 });
        await until(app.browser, "the backup row", async () => (await app.browser.$$(byTestId("backups-row"))).length >= 1, {
          timeoutMs: 15_000,
        });
        await (await app.browser.$$(byTestId("backups-row")))[0].click();
        await $("browse-selected").click();
        await $("browse-screen").waitForDisplayed({ timeout: 15_000 });
        const orgs = await until(app.browser, "the orgs table", async () => {
          for (const t of await app.browser.$$(byTestId("browse-table")))
            if ((await t.getAttribute("data-table")) === "public.orgs") return t;
          return null;
        }, { timeoutMs: 30_000 });
        await orgs.click();
        await until(app.browser, "the rows", async () => (await app.browser.$$(byTestId("browse-row"))).length === 2, { timeoutMs: 30_000 });
        await $("browse-filter-column").selectByAttribute("value", "id");
        await typeInto(app, "browse-filter", "2");
        await $("browse-filter-apply").click();
        await until(app.browser, "the filtered row", async () => /where id = “2”/.test(await $("browse-range").getText()), { timeoutMs: 30_000 });
        assert.equal((await app.browser.$$(byTestId("browse-row"))).length, 1);
        await $("browse-recover").click();
        await $("recover-wizard").waitForDisplayed({ timeout: 10_000 });
        assert.equal(await $("recover-project").getValue(), DB);
        await $("recover-children").click();
        await app.screenshot("01-recover-choose");
        await $("recover-plan").click();
        await $("recover-plan-view").waitForDisplayed({ timeout: 60_000 });
        const planned = {};
        for (const row of await app.browser.$$(byTestId("recover-table"))) {
          const insert = await row.$(byTestId("recover-insert")).getText();
          planned[await row.getAttribute("data-table")] = Number(insert.replace(/,/g, ""));
        }
        assert.deepEqual(planned, { "public.orgs": 1, "public.projects": 5, "public.tasks": 50 });
        assert.equal(await $("recover-start").isEnabled(), false, "the start waits for the typed word");
        await typeInto(app, "recover-confirm", "recover");
        assert.equal(await $("recover-start").isEnabled(), true);
        assert.match(await $("recover-start").getText(), /Insert 56 rows in recovershop/);
        await app.screenshot("02-recover-plan");
        await $("recover-start").click();
        await $("recover-report").waitForDisplayed({ timeout: 120_000 });
        await $("recover-undo-details").$("summary").click(); // the undo id is behind Details
        assert.match(await $("recover-undo-id").getText(), /^rcv_/);
        assert.equal(count("SELECT count(*) FROM projects WHERE org_id = 2"), 5);
        assert.equal(count("SELECT count(*) FROM tasks t JOIN projects p ON p.id = t.project_id WHERE p.org_id = 2"), 50);
        assert.equal(count("SELECT count(*) FROM projects WHERE id = 11"), 1, "the other tenant's new row is untouched");
        await app.screenshot("03-recover-report");
        await $("recover-undo").click();
        await $("recover-undone").waitForDisplayed({ timeout: 120_000 });
        const after = psql(DB, "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (SELECT * FROM projects) t");
        assert.equal(after, before, "undo puts the projects back as they were");
        assert.equal(count("SELECT count(*) FROM orgs WHERE id = 2"), 0);
        await app.screenshot("04-recover-undone");
        // The jobs are recorded as recoveries, not restores.
        const kinds = JSON.parse(offsite("history", DB, "--json")).jobs?.map((j) => j.kind) ?? [];
        assert.ok(kinds.filter((k) => k === "recover").length >= 2, JSON.stringify(kinds));
        assert.ok(!kinds.includes("restore"), JSON.stringify(kinds));
        // The next run starts from the same loss.
        psql(DB, "DELETE FROM projects WHERE id = 11; INSERT INTO orgs VALUES (2, 'Globex')");
        psql(DB, "INSERT INTO projects SELECT g, 2, 'project ' || g FROM generate_series(1, 10) g WHERE g % 2 = 1");
      } finally {
        await app.close();
      }
    });
  }

  // Tenants in the app: a root named on the Sources tab (a wrong table is refused by the engine
  // with its name), then "Back up each tenant" writes one archive per organization, shown on the
  // timeline with its tenant.
  it("tenants: named on Sources, each backed up as a job, on the timeline", async () => {
    const app = await launchApp({ name: "recover-tenants", ...(dataDir ? { dataDir } : {}), env: { OFFSITE_PG_BIN: pg.bin } });
    const $ = (id) => app.browser.$(byTestId(id));
    try {
      await until(app.browser, "the project card", async () => $(`project-open-${DB}`).isExisting(), { timeoutMs: 30_000 });
      await $(`project-open-${DB}`).click();
      await $("project-page").waitForDisplayed({ timeout: 30_000 });
      await openTab(app, "sources");
      await $("tenants-none").waitForDisplayed({ timeout: 30_000 });
      await typeInto(app, "tenant-field-name", "org");
      await typeInto(app, "tenant-field-table", "public.nope");
      await $("tenant-add-save").click();
      await $("tenant-add-error").waitForDisplayed({ timeout: 30_000 });
      assert.match(await $("tenant-add-error").getText(), /nope/);
      await $("tenant-field-table").clearValue();
      await typeInto(app, "tenant-field-table", "public.orgs");
      await $("tenant-add-save").click();
      await $("tenant-shape").waitForDisplayed({ timeout: 30_000 });
      assert.match(await $("tenant-reached").getText(), /public\.tasks/);
      await app.screenshot("05-tenant-added");
      await $("tenant-backup").click();
      await $("tenant-backup-started").waitForDisplayed({ timeout: 10_000 });
      await openTab(app, "backups");
      await until(app.browser, "two tenant archives on the timeline", async () => (await app.browser.$$(byTestId("backup-tenant"))).length === 2, {
        timeoutMs: 120_000,
      });
      await app.screenshot("06-tenant-archives");
      const listed = JSON.parse(offsiteCli(() => app.dataDir)("tenant", "list", DB, "--json"));
      assert.deepEqual((listed.tenants ?? listed).map((t) => t.name), ["org"], JSON.stringify(listed));
    } finally {
      await app.close();
    }
  });
});
