// e2e: needs postgres
// The projects screens end to end: the empty state, adding a project through the form (test
// connection first), backing it up with live progress, the backup in the list, verifying it, and
// the project card on the home screen.
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

function psql(sql) {
  execFileSync(
    path.join(pg.bin, "psql"),
    ["-h", pg.host, "-p", pg.port, "-U", pg.user, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
    { env: { ...process.env, PGPASSWORD: pg.password }, stdio: ["ignore", "ignore", "inherit"] },
  );
}

/**
 * app.screenshot(), falling back to the app's largest viewable X window: the app may own more than
 * one X window (tray, hidden leader), and lib/app.js takes the first with its pid, which can be one
 * that cannot be captured.
 */
async function shot(app, name) {
  try {
    return await app.screenshot(name);
  } catch (first) {
    const pid = app.timings.appPid;
    const tree = execFileSync("xwininfo", ["-root", "-tree"], { encoding: "utf8" });
    let best = null;
    for (const m of tree.matchAll(/^\s+(0x[0-9a-f]+) [^\n]*?(\d+)x(\d+)[+-]/gm)) {
      const [, id, w, h] = m;
      try {
        const prop = execFileSync("xprop", ["-id", id, "_NET_WM_PID"], { encoding: "utf8" });
        if (!new RegExp(`= ${pid}\\b`).test(prop)) continue;
        const info = execFileSync("xwininfo", ["-id", id], { encoding: "utf8" });
        if (!/Map State: IsViewable/.test(info)) continue;
        const area = Number(w) * Number(h);
        if (!best || area > best.area) best = { id, area };
      } catch {
        // window gone
      }
    }
    const file = path.join(process.env.OFFSITE_E2E_ARTIFACTS, `projects-${name}.png`);
    const capture = (id) => execFileSync("import", ["-display", process.env.DISPLAY, "-window", id, file], { stdio: ["ignore", "ignore", "pipe"] });
    try {
      if (!best) throw first;
      capture(best.id);
    } catch (e) {
      // Last resort: the whole (private) screen, which shows the app's window all the same.
      console.log(`# screenshot ${name}: window capture failed (${String(e.message).split("\n")[1] ?? e.message}); capturing the screen`);
      capture("root");
    }
    return file;
  }
}

/** Polls `check` every `intervalMs` until it returns a truthy value; returns it. */
async function until(browser, label, check, { timeoutMs = 120_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${label}: not within ${timeoutMs} ms${await diagnose(browser, label)}`);
    await sleep(intervalMs);
  }
}

describe("projects: add, back up, verify", () => {
  let app;
  let $;

  before(async () => {
    for (const [k, v] of Object.entries(pg)) assert.ok(v, `OFFSITE_E2E_PG_${k.toUpperCase()} is set (run.sh)`);
    // Enough data that the backup takes a moment and shows progress (~90 MB of dump text).
    psql(
      "DROP TABLE IF EXISTS orders; CREATE TABLE orders AS SELECT g AS id, now() - g * interval '1 minute' AS at, " +
        "md5(g::text) || repeat(md5(random()::text), 8) AS note FROM generate_series(1, 300000) g; " +
        "ALTER TABLE orders ADD PRIMARY KEY (id);",
    );
    app = await launchApp({ name: "projects", env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => app?.close());

  it("starts with the empty state", async () => {
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    assert.equal(await app.browser.$(byTestId("project-list")).$$("li").length, 0);
    await shot(app, "01-empty");
  });

  it("adds a project through the form after testing the connection", async () => {
    await $("add-project").click();
    await $("add-project-form").waitForDisplayed();

    // Validation first: saving an empty form names the missing fields.
    await $("add-save").click();
    await $("field-name-error").waitForDisplayed();

    await $("field-name").setValue("shop");
    await $("mode-fields").click();
    await $("field-host").setValue(pg.host);
    await $("field-port").clearValue();
    await $("field-port").setValue(pg.port);
    await $("field-user").clearValue();
    await $("field-user").setValue(pg.user);
    await $("field-database").clearValue();
    await $("field-database").setValue("postgres");
    await $("field-tls").selectByAttribute("value", "disable");
    await $("field-password").setValue(pg.password);

    await $("test-connection").click();
    await until(app.browser, "test-report", async () =>
      (await $("test-report").isExisting()) || (await $("test-error").isExisting()),
    );
    if (await $("test-error").isExisting()) {
      assert.fail(`test connection failed: ${await $("test-error").getText()}`);
    }
    assert.match(await $("report-version").getText(), /^PostgreSQL \d+/);
    assert.match(await $("report-pg-dump").getText(), /pg_dump \(PostgreSQL\) \d+/);
    assert.equal(await $("report-permissions").getText(), "can read everything");
    await shot(app, "02-add-form-tested");

    await $("add-save").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
    assert.equal(await $("project-title").getText(), "shop");
    await $("backups-empty").waitForDisplayed();
    await shot(app, "03-project-page-empty");
  });

  it("backs it up with visible progress", async () => {
    await $("backup-now").click();
    // The live panel: a running job with a phase, then the finished one.
    let sawProgress = false;
    let shotTaken = false;
    await until(app.browser, "backup finished", async () => {
      if (await $("job-running").isExisting()) {
        const phase = await $("job-phase").getText().catch(() => "");
        const bytes = await $("job-bytes").getText().catch(() => "");
        if (phase && phase !== "Starting…") sawProgress = true;
        if (!shotTaken && /[1-9]/.test(bytes)) {
          shotTaken = true;
          await shot(app, "04-backup-running");
        }
      }
      return $("job-finished").isExisting();
    });
    assert.ok(sawProgress, "a phase was shown while the backup ran");
    const finished = await $("job-finished");
    if ((await finished.getAttribute("data-ok")) !== "true") {
      assert.fail(`backup failed: ${await finished.getText()}`);
    }
    assert.match(await $("job-result").getText(), /^Backup written: /);
    assert.match(await $("job-result-path").getText(), /shop_\d{8}_\d{6}_database\.tar\.gz$/);

    await until(app.browser, "backup row", async () => (await app.browser.$$(byTestId("backups-row")).length) === 1);
    assert.equal(await $("backup-count").getText(), "1");
    assert.match(await $("backup-status").getAttribute("data-status"), /^(unverified|verified)$/);
    await shot(app, "05-backup-done");
  });

  it("verifies the backup", async () => {
    await app.browser.$(byTestId("backups-row")).click();
    await $("verify-selected").click();
    await until(app.browser, "verify finished", async () => {
      const results = await app.browser.$$(byTestId("job-result"));
      for (const r of results) if (/^Archive intact/.test(await r.getText())) return true;
      return false;
    });
    let status = "";
    await until(app.browser, "verified row", async () => {
      // textContent: WebKitWebDriver's getText() returns "" for cells of the windowed list.
      status = `${await $("backup-status").getAttribute("data-status")}: ${await $("backup-status").getProperty("textContent")}`;
      return status.startsWith("verified:");
    }).catch((e) => {
      e.message += `\nlast status: ${status}`;
      throw e;
    });
    assert.match(status, /^verified: Verified · /);
    await shot(app, "06-verified");
  });

  it("shows the project card on the home screen", async () => {
    await $("back-home").click();
    const card = await app.browser.$(byTestId("project-card"));
    await card.waitForDisplayed();
    assert.equal(await card.getAttribute("data-state"), "ok");
    assert.match(await $("project-host").getText(), new RegExp(`${pg.host.replace(/\./g, "\\.")}:${pg.port}`));
    assert.match(await $("project-last-backup").getText(), /(just now|ago) · \d/);
    await shot(app, "07-home");
  });
});
