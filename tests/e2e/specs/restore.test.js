// e2e: needs postgres
// The restore wizard end to end: a project with data is backed up, then restored through every
// step of the wizard (choose the backup, check it, name a database that does not exist yet by its
// server, port, user and name and have it created empty, review the plan, run, report); the report's per-table row counts and psql both show
// that the data arrived. Then the changed original is replaced (typed consent, safety backup first).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { fillProjectForm, pg, psql, requirePg, until } from "../lib/steps.js";

const SOURCE_DB = "restore_src";
const TARGET_DB = "restore_dst";
const ORDERS = 20_000;
const CUSTOMERS = 250;

describe("restore wizard: back up, restore into a new empty database, then over the changed original", () => {
  let app;
  let $;

  before(async () => {
    requirePg();
    psql("postgres", `DROP DATABASE IF EXISTS ${SOURCE_DB}`);
    psql("postgres", `DROP DATABASE IF EXISTS ${TARGET_DB}`);
    psql("postgres", `CREATE DATABASE ${SOURCE_DB}`);
    psql(
      SOURCE_DB,
      `CREATE TABLE customers AS SELECT g AS id, 'customer ' || g AS name FROM generate_series(1, ${CUSTOMERS}) g;
       ALTER TABLE customers ADD PRIMARY KEY (id);
       CREATE TABLE orders AS SELECT g AS id, (g % ${CUSTOMERS}) + 1 AS customer_id,
         now() - g * interval '1 minute' AS at, md5(g::text) || repeat(md5(random()::text), 4) AS note
         FROM generate_series(1, ${ORDERS}) g;
       ALTER TABLE orders ADD PRIMARY KEY (id);
       ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id);`,
    );
    app = await launchApp({ name: "restore", env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => app?.close());

  // From the last report, the wizard again: the backup, checked, restored over the project's own
  // database, up to the review where the selection is chosen.
  async function reviewOverTheOriginal() {
    await $("wizard-done").click();
    await $("project-page").waitForDisplayed();
    await $("restore-open").click();
    await $("wizard-backup-radio").waitForDisplayed();
    await $("wizard-backup-radio").click();
    await $("wizard-next").click();
    await until(app.browser, "verify result", async () => $("wizard-verify-result").isExisting());
    await $("wizard-next").click();
    await $("wizard-target-this").waitForDisplayed();
    await $("wizard-target-this").click();
    await until(app.browser, "target status", async () => $("wizard-target-status").isExisting());
    await $("wizard-next").click();
    await $("wizard-selection").waitForDisplayed();
  }

  it("adds the project and backs it up", async () => {
    await $("add-project").waitForDisplayed({ timeout: 30_000 });
    await $("add-project").click();
    assert.equal(await fillProjectForm(app, { name: "shop", database: SOURCE_DB }), "report");
    await $("add-save").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });

    await $("backup-now").click();
    await until(app.browser, "backup finished", async () => $("job-finished").isExisting());
    const finished = await $("job-finished");
    if ((await finished.getAttribute("data-ok")) !== "true") assert.fail(`backup failed: ${await finished.getText()}`);
    await until(app.browser, "backup row", async () => (await app.browser.$$(byTestId("backups-row")).length) === 1);
  });

  it("asks first what you want back; 'Some rows' leads inside the chosen backup (issue 64)", async () => {
    await $("restore-open").click();
    await $("restore-wizard").waitForDisplayed();
    const what = await $("wizard-mode");
    await what.waitForDisplayed();
    const words = await what.getText();
    for (const choice of ["What do you want back?", "The whole project", "Some tables", "Some rows", "Files", "The project as it was at a moment"]) {
      assert.ok(words.includes(choice), `${choice} in: ${words}`);
    }
    assert.equal(await $("wizard-mode-backup").isSelected(), true, "the whole project is the default");
    await $("wizard-want-rows").click();
    await until(app.browser, "the newest backup chosen", async () => $("wizard-want-rows-open").isEnabled());
    await app.screenshot("00-what-back-rows");
    await $("wizard-want-rows-open").click();
    await $("browse-screen").waitForDisplayed({ timeout: 30_000 });
    await app.screenshot("00-rows-inside-backup");
    await $("browse-back").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
  });

  it("step 1: starts on the newest good backup (issue 44)", async () => {
    await $("restore-open").click();
    await $("restore-wizard").waitForDisplayed();
    assert.equal(await $("restore-wizard").getAttribute("data-step"), "source");
    await $("wizard-backup-radio").waitForDisplayed();
    await until(app.browser, "the newest backup chosen", async () => $("wizard-backup-radio").isSelected());
    assert.equal(await $("wizard-next").isEnabled(), true, "Next needs no click on the newest backup");
    assert.equal(await $("wizard-path-choose").isDisplayed(), true, "a file can be chosen in the open dialog");
    await app.screenshot("01-source");
    await $("wizard-backup-radio").click();
    assert.equal(await $("wizard-next").isEnabled(), true);
    await $("wizard-next").click();
  });

  it("step 2: checks the archive, member by member", async () => {
    await until(app.browser, "verify result", async () => $("wizard-verify-result").isExisting());
    assert.equal(await $("wizard-verify-result").getAttribute("data-ok"), "true");
    const members = await app.browser.$$(byTestId("wizard-verify-member"));
    assert.ok(members.length >= 1, "members are listed");
    for (const m of members) assert.equal(await m.getAttribute("data-ok"), "true");
    await app.screenshot("02-verified");
    await $("wizard-next").click();
  });

  it("step 3: names a database that does not exist yet by its server, and has it created empty", async () => {
    await $("wizard-target").waitForDisplayed();
    await $("wizard-target-server").click();
    await $("wizard-target-host").setValue(pg.host);
    await $("wizard-target-port").clearValue();
    await $("wizard-target-port").setValue(String(pg.port));
    await $("wizard-target-user").setValue(pg.user);
    await $("wizard-target-database").setValue(TARGET_DB);
    await $("wizard-target-tls").selectByAttribute("value", "disable");
    await $("wizard-target-password").setValue(pg.password);
    assert.equal(await $("wizard-next").isEnabled(), false, "Next waits for the target to be looked at");
    await $("wizard-target-check").click();
    await until(app.browser, "target status", async () =>
      (await $("wizard-target-status").isExisting()) || (await $("wizard-plan-error").isExisting()),
    );
    if (await $("wizard-plan-error").isExisting()) assert.fail(`plan failed: ${await $("wizard-plan-error").getText()}`);
    assert.equal(await $("wizard-target-status").getAttribute("data-missing"), "true");
    assert.match(await $("wizard-target-status").getText(), new RegExp(`The database ${TARGET_DB} does not exist on this server yet`));
    assert.equal(await $("wizard-target-create").isSelected(), false);
    await app.screenshot("03-target-missing");
    await $("wizard-target-create").click();
    await until(app.browser, "the plan with the database created", async () =>
      /creates the database/.test(await $("wizard-target-status").getText()),
    );
    assert.equal(psql("postgres", `SELECT count(*) FROM pg_database WHERE datname = '${TARGET_DB}'`), "0", "checking creates nothing");
    await app.screenshot("03-target");
    await $("wizard-next").click();
  });

  it("step 4: reviews the plan; nothing has run yet", async () => {
    await $("wizard-plan").waitForDisplayed();
    assert.equal(await $("wizard-plan-empty").getAttribute("data-empty"), "true");
    assert.equal(await $("wizard-will-create").getAttribute("data-count"), "2");
    assert.equal(await $("wizard-will-replace").getAttribute("data-count"), "0");
    // Nothing is replaced: no red banner, a plain Restore. The versions are a detail.
    assert.equal(await $("wizard-destroys").isExisting(), false);
    assert.equal(await $("wizard-restore").getText(), "Restore");
    await app.browser.execute(() => {
      document.querySelector('[data-testid="wizard-plan-details"]').open = true;
    });
    assert.match(await $("wizard-plan-versions").getText(), /pg_restore \(PostgreSQL\) \d+/);
    assert.equal(await $("wizard-consent").isExisting(), false, "an empty target needs no typed consent");
    assert.equal(psql("postgres", `SELECT count(*) FROM pg_database WHERE datname = '${TARGET_DB}'`), "0", "nothing made before Restore");
    await app.screenshot("04-review");
    assert.equal(await $("wizard-restore").isEnabled(), true);
    await $("wizard-restore").click();
  });

  it("steps 5–6: runs with progress, then reports every table's rows", async () => {
    let shot = false;
    await until(app.browser, "restore finished", async () => {
      if (!shot && (await $("wizard-running").isExisting())) {
        shot = true;
        await app.screenshot("05-running");
      }
      return $("wizard-result").isExisting();
    });
    const result = await $("wizard-result");
    if ((await result.getAttribute("data-ok")) !== "true") assert.fail(`restore failed: ${await result.getText()}`);
    const rows = {};
    for (const row of await app.browser.$$(byTestId("wizard-table-row"))) {
      rows[await row.getAttribute("data-table")] = {
        expected: await row.getAttribute("data-expected"),
        actual: await row.getAttribute("data-actual"),
        ok: await row.getAttribute("data-ok"),
      };
    }
    assert.deepEqual(rows, {
      "public.customers": { expected: String(CUSTOMERS), actual: String(CUSTOMERS), ok: "true" },
      "public.orders": { expected: String(ORDERS), actual: String(ORDERS), ok: "true" },
    });
    await app.screenshot("06-report");
    // The data arrived, as psql sees it.
    assert.equal(psql(TARGET_DB, "SELECT count(*) FROM orders"), String(ORDERS));
    assert.equal(psql(TARGET_DB, "SELECT count(*) FROM customers"), String(CUSTOMERS));
    await $("wizard-done").click();
    await $("project-page").waitForDisplayed();
  });

  it("replaces the project's own, changed database only after its name is typed, with a safety backup", async () => {
    psql(SOURCE_DB, "DELETE FROM orders WHERE id > 5000");
    await $("restore-open").click();
    await $("wizard-backup-radio").waitForDisplayed();
    await $("wizard-backup-radio").click();
    await $("wizard-next").click();
    await until(app.browser, "verify result", async () => $("wizard-verify-result").isExisting());
    await $("wizard-next").click();
    await $("wizard-target-this").waitForDisplayed();
    await $("wizard-target-this").click();
    await until(app.browser, "target status", async () =>
      (await $("wizard-target-status").isExisting()) || (await $("wizard-plan-error").isExisting()),
    );
    if (await $("wizard-plan-error").isExisting()) assert.fail(`plan failed: ${await $("wizard-plan-error").getText()}`);
    assert.equal(await $("wizard-target-status").getAttribute("data-empty"), "false");
    await $("wizard-next").click();

    await $("wizard-plan").waitForDisplayed();
    assert.equal(await $("wizard-will-replace").getAttribute("data-count"), "2");
    // The destructive step cannot be missed (issue 44): the red banner first, the count and the
    // target on the button, which stays in view.
    assert.match(
      await $("wizard-destroys").getText(),
      new RegExp(`^Replaces 2 tables in ${SOURCE_DB} on \\S+\\. A safety backup is taken first\\.$`),
    );
    assert.equal(await $("wizard-will-replace").getAttribute("data-destroys"), "true");
    assert.equal(await $("wizard-restore").getText(), `Replace 2 tables in ${SOURCE_DB}`);
    assert.equal(await $("wizard-restore").isDisplayed({ withinViewport: true }), true, "the button is not below the fold");
    assert.equal(await $("wizard-safety-backup").isSelected(), true, "a safety backup is taken by default");
    assert.equal(await $("wizard-restore").isEnabled(), false, "Restore waits for the typed name");
    await $("wizard-consent").setValue("restore_sr");
    assert.equal(await $("wizard-restore").isEnabled(), false);
    await $("wizard-consent").setValue(SOURCE_DB);
    await until(app.browser, "Restore enabled", async () => $("wizard-restore").isEnabled());
    await app.screenshot("07-replace-consent");
    assert.equal(psql(SOURCE_DB, "SELECT count(*) FROM orders"), "5000", "nothing changed before Restore");
    await $("wizard-restore").click();

    await until(app.browser, "restore finished", async () => $("wizard-result").isExisting());
    const result = await $("wizard-result");
    if ((await result.getAttribute("data-ok")) !== "true") assert.fail(`restore failed: ${await result.getText()}`);
    // A safety backup is a new archive: the default compression, zstd.
    assert.match(await $("wizard-safety-path").getText(), /safety-.*\.tar\.zst/);
    await app.screenshot("08-replace-report");
    assert.equal(psql(SOURCE_DB, "SELECT count(*) FROM orders"), String(ORDERS));

    // Not what was wanted: put the safety backup back (issue 64 item 2). The safety backup is
    // checked, the same target offered, the name typed again, and the 5,000 orders are back.
    await $("wizard-put-back").click();
    await until(app.browser, "the safety backup checked", async () => $("wizard-verify-result").isExisting(), { timeoutMs: 120_000 });
    await $("wizard-next").click();
    await $("wizard-target-this").waitForDisplayed();
    assert.equal(await $("wizard-target-this").isSelected(), true, "the same target");
    await until(app.browser, "target status", async () =>
      (await $("wizard-target-status").isExisting()) || (await $("wizard-plan-error").isExisting()),
    );
    if (await $("wizard-plan-error").isExisting()) assert.fail(`plan failed: ${await $("wizard-plan-error").getText()}`);
    await $("wizard-next").click();
    await $("wizard-plan").waitForDisplayed();
    assert.equal(await $("wizard-restore").isEnabled(), false, "Restore waits for the typed name");
    await $("wizard-consent").setValue(SOURCE_DB);
    await until(app.browser, "Restore enabled", async () => $("wizard-restore").isEnabled());
    await $("wizard-restore").click();
    await until(app.browser, "put back", async () => $("wizard-result").isExisting(), { timeoutMs: 240_000 });
    if ((await $("wizard-result").getAttribute("data-ok")) !== "true") assert.fail(`put back failed: ${await $("wizard-result").getText()}`);
    await app.screenshot("08b-safety-backup-put-back");
    assert.equal(psql(SOURCE_DB, "SELECT count(*) FROM orders"), "5000", "the database as it was before the restore");
  });
  it("brings back yesterday's orders next to today's, in a side schema, leaving today's untouched", async () => {
    psql(SOURCE_DB, "DELETE FROM orders WHERE id > 100");
    await reviewOverTheOriginal();
    await $("wizard-select-some").click();
    const box = await app.browser.$('[data-testid="wizard-select-table"][data-table="public.orders"]');
    await box.waitForDisplayed();
    await box.click();
    await $("wizard-select-side").setValue("yesterday");
    await app.browser.keys("Enter");
    await until(app.browser, "selection planned", async () => $("wizard-selection-plan").isExisting());
    assert.match(await $("wizard-selection-plan").getText(), /1 table into schema yesterday/);
    // The left-out key in words; its constraint name behind Details (issue 44).
    assert.match(
      await $("wizard-selection-notes").getText(),
      /public\.orders will not check that its customers exist, because public\.customers is not restored\./,
    );
    assert.equal(await $("wizard-selection-left-out-detail").getAttribute("open"), null);
    await until(app.browser, "Restore enabled", async () => $("wizard-restore").isEnabled());
    await app.screenshot("09-selection");
    assert.equal(psql(SOURCE_DB, "SELECT count(*) FROM orders"), "100", "nothing changed before Restore");
    await $("wizard-restore").click();

    await until(app.browser, "restore finished", async () => $("wizard-result").isExisting());
    const result = await $("wizard-result");
    if ((await result.getAttribute("data-ok")) !== "true") assert.fail(`restore failed: ${await result.getText()}`);
    await app.screenshot("10-selection-report");
    assert.equal(psql(SOURCE_DB, "SELECT count(*) FROM yesterday.orders"), String(ORDERS));
    assert.equal(psql(SOURCE_DB, "SELECT count(*) FROM public.orders"), "100", "today's orders untouched");
  });

  it("copies a whole schema, chosen with its table count, into a side schema", async () => {
    await reviewOverTheOriginal();
    await $("wizard-select-schemas").click();
    const box = await app.browser.$('[data-testid="wizard-select-schema"][data-schema="public"]');
    await box.waitForDisplayed();
    assert.match(await $("wizard-select-schema-list").getText(), /public \(2 tables\)/);
    await box.click();
    await until(app.browser, "schema planned", async () => $("wizard-selection-plan").isExisting());
    await $("wizard-select-side").setValue("lastweek");
    await app.browser.keys("Enter");
    await until(app.browser, "side schema planned", async () =>
      /into schema lastweek/.test((await $("wizard-selection-plan").isExisting()) ? await $("wizard-selection-plan").getText() : ""),
    );
    assert.match(await $("wizard-selection-plan").getText(), /2 tables into schema lastweek/);
    assert.equal(await $("wizard-select-schemas").isSelected(), true, "the choice stays after each new plan");
    await until(app.browser, "Restore enabled", async () => $("wizard-restore").isEnabled());
    await app.screenshot("11-schema-selection");
    await $("wizard-restore").click();

    await until(app.browser, "restore finished", async () => $("wizard-result").isExisting());
    const result = await $("wizard-result");
    if ((await result.getAttribute("data-ok")) !== "true") assert.fail(`restore failed: ${await result.getText()}`);
    assert.equal(psql(SOURCE_DB, "SELECT count(*) FROM lastweek.orders"), String(ORDERS));
    assert.equal(psql(SOURCE_DB, "SELECT count(*) FROM lastweek.customers"), String(CUSTOMERS));
    assert.equal(psql(SOURCE_DB, "SELECT count(*) FROM public.orders"), "100", "today's orders untouched");
  });
});
