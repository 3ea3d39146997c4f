// e2e: needs postgres
// A project's artifact bucket end to end: a real S3-compatible server (moto) holds a nightly
// `pg_dump -Fc` file with its `.sha256` sidecar (and a file the pattern leaves out). The user sets
// the bucket on the project page (the secret typed once, then only "stored in the keychain";
// saving lists the bucket, an unknown bucket is refused with a hint), presses "Pull new", and the
// dump appears in the backup list, verified, byte for byte the one in the bucket.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { offsiteCli, openTab, pg, pgDumpCustom, psql, requirePg, startMoto, until } from "../lib/steps.js";

const SECRET = "e2e-artifacts-secret-value";

describe("the artifact bucket on the project page", () => {
  let app;
  let $;
  let moto;
  let endpoint;
  let work;
  let dumpSha;
  const offsite = offsiteCli(() => app.dataDir);

  before(async () => {
    requirePg();
    psql("postgres", "DROP DATABASE IF EXISTS artifactshop");
    psql("postgres", "CREATE DATABASE artifactshop");
    psql("artifactshop", "CREATE TABLE orders(id int primary key, total numeric); INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 500) g;");
    work = mkdtempSync(join(tmpdir(), "offsite-e2e-artifacts-"));
    const dumpFile = join(work, "shop-2026-11-23.dump");
    pgDumpCustom("artifactshop", dumpFile);
    const dump = readFileSync(dumpFile);
    dumpSha = createHash("sha256").update(dump).digest("hex");

    moto = await startMoto();
    endpoint = moto.endpoint;
    const put = moto.put;
    await put("dumps");
    await put("dumps/nightly/shop-2026-11-23.dump", dump);
    await put("dumps/nightly/shop-2026-11-23.dump.sha256", `${dumpSha}  shop-2026-11-23.dump\n`);
    await put("dumps/nightly/README.txt", "made by cron");
    app = await launchApp({ name: "artifacts", env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => {
    await app?.close();
    if (work) rmSync(work, { recursive: true, force: true });
    moto?.stop();
  });

  it("sets the bucket: an unknown bucket is refused with a hint; the secret is never shown", async () => {
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/artifactshop?sslmode=disable`;
    offsite("project", "add", "artifactshop", "--db", url);
    await until(app.browser, "the project card", async () => $("project-open-artifactshop").isExisting(), {
      timeoutMs: 10_000,
    });
    await $("project-open-artifactshop").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
    await $("backups-empty").waitForDisplayed();
    await openTab(app, "sources");
    await $("artifacts-none").waitForDisplayed();

    await $("artifacts-edit").click();
    await $("artifacts-form").waitForDisplayed();
    await $("artifacts-field-location").setValue("s3://no-such-bucket/nightly/");
    await $("artifacts-field-pattern").setValue("*.dump");
    await $("artifacts-field-endpoint").setValue(endpoint);
    await $("artifacts-field-key-id").setValue("AKIDE2E");
    await $("artifacts-field-secret").setValue(SECRET);
    await $("artifacts-save").click();
    await until(app.browser, "the refusal", async () => $("artifacts-form-error").isExisting(), { timeoutMs: 30_000 });
    const refusal = await $("artifacts-form-error").getText();
    assert.match(refusal, /no-such-bucket/);
    assert.ok(!refusal.includes(SECRET), refusal);
    await $("artifacts-form-error").scrollIntoView({ block: "center" });
    await app.screenshot("01-unknown-bucket");

    await $("artifacts-field-location").clearValue();
    await $("artifacts-field-location").setValue("s3://dumps/nightly/");
    // The secret field was emptied after the refusal: typed again.
    await $("artifacts-field-secret").setValue(SECRET);
    await $("artifacts-save").click();
    await until(
      app.browser,
      "the saved bucket",
      async () => (await $("artifacts-location").isExisting()) || (await $("artifacts-form-error").isExisting()),
      { timeoutMs: 30_000 },
    );
    if (await $("artifacts-form-error").isExisting()) assert.fail(`save failed: ${await $("artifacts-form-error").getText()}`);
    assert.equal(await $("artifacts-location").getText(), "s3://dumps/nightly/");
    assert.equal(await $("artifacts-pattern").getText(), "*.dump");
    assert.equal(await $("artifacts-endpoint").getText(), endpoint);
    assert.equal(await $("artifacts-secret").getText(), "stored in the keychain");
    assert.equal(await $("artifacts-imported").getText(), "nothing yet");
    const section = await $("artifacts-section").getText();
    assert.ok(!section.includes(SECRET), "the secret is not on the page");
    // The command line sees the same bucket in the catalog, never the secret.
    const shown = offsite("--json", "project", "components", "artifactshop");
    assert.ok(shown.includes('"dumps"') && !shown.includes(SECRET), shown);
    await $("artifacts-section").scrollIntoView({ block: "center" });
    await app.screenshot("02-bucket-saved");
  });

  it("Pull new: the dump is checked against its sidecar and appears in the list, verified", async () => {
    await $("artifacts-pull").click();
    await until(app.browser, "the pull's end", async () => $("artifacts-job-result").isExisting(), { timeoutMs: 180_000 });
    const result = await $("artifacts-job-result");
    if ((await result.getAttribute("data-ok")) !== "true") {
      const detail = (await $("artifacts-job-error").isExisting()) ? await $("artifacts-job-error").getText() : "";
      assert.fail(`pull failed: ${await result.getText()} ${detail}`);
    }
    assert.equal(await result.getText(), "1 artifact imported and verified, 0 imported before.");
    await until(app.browser, "the import count", async () => (await $("artifacts-imported").getText()) === "1 artifact", {
      timeoutMs: 15_000,
    });
    await $("artifacts-section").scrollIntoView({ block: "center" });
    await app.screenshot("03-pulled");

    await openTab(app, "backups");
    await until(app.browser, "the backup in the list", async () => (await app.browser.$$(byTestId("backups-row")).length) === 1, {
      timeoutMs: 15_000,
    });
    const status = await app.browser.$(byTestId("backups-row")).$(byTestId("backup-status"));
    assert.equal(await status.getAttribute("data-status"), "verified");
    // Pulled from the bucket: the row says so, and so does the command line.
    const origin = await app.browser.$(byTestId("backups-row")).$(byTestId("backup-origin"));
    assert.equal(await origin.getAttribute("data-origin"), "artifact");
    assert.equal((await origin.getProperty("textContent")).trim(), "artifact");
    // The catalog (as the command line reads it): one verified backup holding the very dump.
    const rows = JSON.parse(offsite("--json", "backups", "artifactshop")).backups;
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0].status, "verified");
    assert.equal(rows[0].origin, "artifact");
    const manifest = JSON.parse(offsite("--json", "inspect", rows[0].path));
    assert.equal(manifest.components.database, dumpSha, JSON.stringify(manifest));
    await $("backup-count").scrollIntoView();
    await app.screenshot("04-backup-list");
  });

  it("a second Pull new imports nothing; removing the bucket keeps the backup", async () => {
    await openTab(app, "sources");
    await $("artifacts-pull").click();
    await until(app.browser, "the second pull's end", async () => {
      const r = await $("artifacts-job-result");
      return (await r.isExisting()) && /imported before/.test(await r.getText()) && /^0 artifact/.test(await r.getText());
    });
    assert.equal(await $("artifacts-job-result").getText(), "0 artifacts imported and verified, 1 imported before.");

    await $("artifacts-remove").click();
    await $("artifacts-remove-yes").click();
    await $("artifacts-none").waitForDisplayed({ timeout: 10_000 });
    await openTab(app, "backups");
    await until(app.browser, "the backup list", async () => (await app.browser.$$(byTestId("backups-row"))).length > 0, {
      timeoutMs: 10_000,
    });
    assert.equal((await app.browser.$$(byTestId("backups-row"))).length, 1);
    const shown = offsite("--json", "project", "components", "artifactshop");
    assert.ok(!shown.includes('"dumps"'), shown);
  });
});
