// e2e: needs postgres
// The restore wizard end to end: a project with data is backed up, then restored through every
// step of the wizard (choose the backup, check it, choose a new empty database by URL, review the
// plan, run, report) into a new database; the report's per-table row counts and psql both show
// that the data arrived. Then the changed original is replaced (typed consent, safety backup first).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { byTestId, diagnose, launchApp } from "../lib/app.js";

const pg = {
  host: process.env.OFFSITE_E2E_PG_HOST,
  port: process.env.OFFSITE_E2E_PG_PORT,
  user: process.env.OFFSITE_E2E_PG_USER,
  password: process.env.OFFSITE_E2E_PG_PASSWORD,
  bin: process.env.OFFSITE_E2E_PG_BIN,
};

const SOURCE_DB = "restore_src";
const TARGET_DB = "restore_dst";
const ORDERS = 20_000;
const CUSTOMERS = 250;

function psql(database, sql) {
  return execFileSync(
    path.join(pg.bin, "psql"),
    ["-h", pg.host, "-p", pg.port, "-U", pg.user, "-d", database, "-v", "ON_ERROR_STOP=1", "-q", "-At", "-c", sql],
    { env: { ...process.env, PGPASSWORD: pg.password }, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" },
  ).trim();
}

/**
 * The app's visible window, for screenshots: lib/app.js takes the first X window of the app's
 * process, which since the tray can be an unmapped one ("unable to read X window image"). This
 * picks the largest viewable window of the process.
 */
function visibleWindowOf(pid) {
  const tree = execFileSync("xwininfo", ["-root", "-tree"], { encoding: "utf8" });
  const ids = [...tree.matchAll(/^\s+(0x[0-9a-f]+) "([^"]*)"/gm)].map((m) => m[1]);
  let best = null;
  for (const id of ids) {
    try {
      const prop = execFileSync("xprop", ["-id", id, "_NET_WM_PID"], { encoding: "utf8" });
      if (!new RegExp(`= ${pid}\\b`).test(prop)) continue;
      const info = execFileSync("xwininfo", ["-id", id], { encoding: "utf8" });
      if (!/Map State: IsViewable/.test(info)) continue;
      const area = Number(/Width: (\d+)/.exec(info)?.[1] ?? 0) * Number(/Height: (\d+)/.exec(info)?.[1] ?? 0);
      if (!best || area > best.area) best = { id, area };
    } catch {
      // window gone
    }
  }
  return best?.id ?? null;
}

async function screenshot(app, shot) {
  try {
    return await app.screenshot(shot);
  } catch (err) {
    const id = visibleWindowOf(app.timings.appPid);
    if (!id) throw err;
    const file = path.join(process.env.OFFSITE_E2E_ARTIFACTS, `restore-${shot}.png`);
    execFileSync("import", ["-display", process.env.DISPLAY, "-window", id, file], { stdio: ["ignore", "ignore", "pipe"] });
    return file;
  }
}

/** Polls `check` every `intervalMs` until it returns a truthy value; returns it. */
async function until(browser, label, check, { timeoutMs = 120_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${label}: not within ${timeoutMs} ms${await diagnose(browser, label)}`);
    await sleep(intervalMs);
  }
}

describe("restore wizard: back up, restore into a new empty database, then over the changed original", () => {
  let app;
  let $;

  before(async () => {
    for (const [k, v] of Object.entries(pg)) assert.ok(v, `OFFSITE_E2E_PG_${k.toUpperCase()} is set (run.sh)`);
    psql("postgres", `DROP DATABASE IF EXISTS ${SOURCE_DB}`);
    psql("postgres", `DROP DATABASE IF EXISTS ${TARGET_DB}`);
    psql("postgres", `CREATE DATABASE ${SOURCE_DB}`);
    psql("postgres", `CREATE DATABASE ${TARGET_DB}`);
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

  it("adds the project and backs it up", async () => {
    await $("add-project").waitForDisplayed({ timeout: 30_000 });
    await $("add-project").click();
    await $("add-project-form").waitForDisplayed();
    await $("field-name").setValue("shop");
    await $("mode-fields").click();
    await $("field-host").setValue(pg.host);
    await $("field-port").clearValue();
    await $("field-port").setValue(pg.port);
    await $("field-user").clearValue();
    await $("field-user").setValue(pg.user);
    await $("field-database").clearValue();
    await $("field-database").setValue(SOURCE_DB);
    await $("field-tls").selectByAttribute("value", "disable");
    await $("field-password").setValue(pg.password);
    await $("add-save").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });

    await $("backup-now").click();
    await until(app.browser, "backup finished", async () => $("job-finished").isExisting());
    const finished = await $("job-finished");
    if ((await finished.getAttribute("data-ok")) !== "true") assert.fail(`backup failed: ${await finished.getText()}`);
    await until(app.browser, "backup row", async () => (await app.browser.$$(byTestId("backups-row")).length) === 1);
  });

  it("step 1: chooses the backup (Next needs a choice)", async () => {
    await $("restore-open").click();
    await $("restore-wizard").waitForDisplayed();
    assert.equal(await $("restore-wizard").getAttribute("data-step"), "source");
    await $("wizard-backup-radio").waitForDisplayed();
    assert.equal(await $("wizard-next").isEnabled(), false, "Next is disabled before a choice");
    assert.match(await $("wizard-path-note").getText(), /not wired yet/);
    await screenshot(app, "01-source");
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
    await screenshot(app, "02-verified");
    await $("wizard-next").click();
  });

  it("step 3: chooses a new, empty database by URL", async () => {
    await $("wizard-target").waitForDisplayed();
    await $("wizard-target-url").click();
    await $("wizard-target-url-input").setValue(`postgres://${pg.user}@${pg.host}:${pg.port}/${TARGET_DB}?sslmode=disable`);
    await $("wizard-target-password").setValue(pg.password);
    assert.equal(await $("wizard-next").isEnabled(), false, "Next waits for the target to be looked at");
    await $("wizard-target-check").click();
    await until(app.browser, "target status", async () =>
      (await $("wizard-target-status").isExisting()) || (await $("wizard-plan-error").isExisting()),
    );
    if (await $("wizard-plan-error").isExisting()) assert.fail(`plan failed: ${await $("wizard-plan-error").getText()}`);
    assert.equal(await $("wizard-target-status").getAttribute("data-empty"), "true");
    await screenshot(app, "03-target");
    await $("wizard-next").click();
  });

  it("step 4: reviews the plan; nothing has run yet", async () => {
    await $("wizard-plan").waitForDisplayed();
    assert.equal(await $("wizard-plan-empty").getAttribute("data-empty"), "true");
    assert.equal(await $("wizard-will-create").getAttribute("data-count"), "2");
    assert.equal(await $("wizard-will-replace").getAttribute("data-count"), "0");
    assert.match(await $("wizard-plan-versions").getText(), /pg_restore \(PostgreSQL\) \d+/);
    assert.equal(await $("wizard-consent").isExisting(), false, "an empty target needs no typed consent");
    assert.equal(psql(TARGET_DB, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), "0");
    await screenshot(app, "04-review");
    assert.equal(await $("wizard-restore").isEnabled(), true);
    await $("wizard-restore").click();
  });

  it("steps 5–6: runs with progress, then reports every table's rows", async () => {
    let shot = false;
    await until(app.browser, "restore finished", async () => {
      if (!shot && (await $("wizard-running").isExisting())) {
        shot = true;
        await screenshot(app, "05-running");
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
    await screenshot(app, "06-report");
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
    assert.equal(await $("wizard-safety-backup").isSelected(), true, "a safety backup is taken by default");
    assert.equal(await $("wizard-restore").isEnabled(), false, "Restore waits for the typed name");
    await $("wizard-consent").setValue("restore_sr");
    assert.equal(await $("wizard-restore").isEnabled(), false);
    await $("wizard-consent").setValue(SOURCE_DB);
    await until(app.browser, "Restore enabled", async () => $("wizard-restore").isEnabled());
    await screenshot(app, "07-replace-consent");
    assert.equal(psql(SOURCE_DB, "SELECT count(*) FROM orders"), "5000", "nothing changed before Restore");
    await $("wizard-restore").click();

    await until(app.browser, "restore finished", async () => $("wizard-result").isExisting());
    const result = await $("wizard-result");
    if ((await result.getAttribute("data-ok")) !== "true") assert.fail(`restore failed: ${await result.getText()}`);
    assert.match(await $("wizard-safety-path").getText(), /\.tar\.gz/);
    await screenshot(app, "08-replace-report");
    assert.equal(psql(SOURCE_DB, "SELECT count(*) FROM orders"), String(ORDERS));
  });
});
