// e2e: needs postgres
// Encryption and copies elsewhere, end to end in the real app. The user sets up encryption with a
// generated key on the project page: the recovery key (AGE-SECRET-KEY-1…) is shown once with the
// plain warning; a backup before the confirmation is refused (needs_consent) and links to the
// step; the user enters a wrong item (wrong_key), then the right one (copied from the page), and
// encryption is active. The backup is then `<name>.tar.zst.age`, and no archive or catalog holds
// the key. A folder destination (a temp dir) is added and tested; the next backup is copied
// there (the same bytes), the 3-2-1 view and "where it lives" say so.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { offsiteCli, openTab, pg, psql, requirePg, until } from "../lib/steps.js";

const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Every file below `dir`, recursively. */
function filesUnder(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe("encryption and copies on the project page", () => {
  let app;
  let $;
  let work;
  let nasDir;
  let recoveryItem;
  const offsite = offsiteCli(() => app.dataDir);

  before(async () => {
    requirePg();
    psql("postgres", "DROP DATABASE IF EXISTS protectshop");
    psql("postgres", "CREATE DATABASE protectshop");
    psql("protectshop", "CREATE TABLE orders(id int primary key, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 2000) g;");
    work = mkdtempSync(join(tmpdir(), "offsite-e2e-protection-"));
    nasDir = join(work, "nas");
    mkdirSync(nasDir);
    app = await launchApp({ name: "protection", env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => {
    await app?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  // Waits for a result card of a job not shown before (a failure a later success answered
  // leaves the list, so the number of cards can stay the same).
  const finishedIds = async () => {
    const ids = [];
    for (const card of await app.browser.$$(byTestId("job-finished"))) ids.push(await card.getAttribute("data-job-id"));
    return ids;
  };
  const backUp = async (label) => {
    const before = new Set(await finishedIds());
    await $("backup-now").click();
    return until(app.browser, label, async () => {
      return (await finishedIds()).some((id) => !before.has(id)) || ((await $("action-error").isExisting()) && "refused");
    }, { timeoutMs: 120_000 });
  };

  it("sets up encryption with a generated key: the recovery key is shown once, with the warning", async () => {
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/protectshop?sslmode=disable`;
    offsite("project", "add", "protectshop", "--db", url);
    await until(app.browser, "the project card", async () => $("project-open-protectshop").isExisting(), { timeoutMs: 10_000 });
    await $("project-open-protectshop").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
    await openTab(app, "protection");

    await $("encryption").scrollIntoView({ block: "center" });
    assert.equal(await $("encryption-view").getAttribute("data-state"), "off");
    await $("encryption-edit").click();
    await $("encryption-form").waitForDisplayed();
    await $("encryption-mode-key").click();
    await $("encryption-save").click();
    await until(app.browser, "the recovery key", async () =>
      (await $("encryption-recovery").isExisting()) || (await $("encryption-error").isExisting()), { timeoutMs: 30_000 });
    if (await $("encryption-error").isExisting()) assert.fail(`set up failed: ${await $("encryption-error").getText()}`);
    recoveryItem = (await $("encryption-recovery-item").getText()).trim();
    assert.match(recoveryItem, /^AGE-SECRET-KEY-1[0-9A-Z]+$/);
    assert.match(await $("encryption-recovery-warning").getText(), /nobody — not even us — can recover these backups/);
    await $("encryption-recovery").scrollIntoView({ block: "center" });
    await app.screenshot("01-recovery-item");
  });

  it("refuses a backup before the confirmation and links to it", async () => {
    await $("encryption-recovery-continue").click();
    assert.equal(await $("encryption-recovery").isExisting(), false, "the item is shown only once");
    await $("encryption-confirm-cancel").click();
    await until(app.browser, "the unconfirmed state", async () =>
      (await $("encryption-view").isExisting()) && (await $("encryption-view").getAttribute("data-state")) === "unconfirmed", { timeoutMs: 10_000 });
    // The backup job refuses it: nothing is written unencrypted or without a key the user kept.
    await backUp("the refused backup");
    await until(app.browser, "the refusal", async () => $("job-error").isExisting(), { timeoutMs: 30_000 });
    assert.equal(await $("job-error").getAttribute("data-code"), "needs_consent");
    await openTab(app, "backups");
    await $("backups-empty").waitForDisplayed();
    assert.equal((await app.browser.$$(byTestId("backups-row"))).length, 0);
    await $("action-error-fix").click();
    await $("encryption-confirm").waitForDisplayed();
    await $("encryption-confirm").scrollIntoView({ block: "center" });
    await app.screenshot("02-needs-confirmation");
  });

  it("a wrong item is refused (wrong_key); the right one turns encryption on", async () => {
    await $("encryption-confirm-input").setValue("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ");
    await $("encryption-confirm-submit").click();
    await until(app.browser, "the refusal", async () => $("encryption-confirm-error").isExisting(), { timeoutMs: 30_000 });
    assert.equal(await $("encryption-confirm-error").getAttribute("data-code"), "wrong_key");
    await $("encryption-confirm-error").scrollIntoView({ block: "center" });
    await app.screenshot("03-wrong-key");

    await $("encryption-confirm-input").clearValue();
    await $("encryption-confirm-input").setValue(recoveryItem);
    await $("encryption-confirm-submit").click();
    await until(app.browser, "confirmed", async () => $("encryption-notice").isExisting(), { timeoutMs: 30_000 });
    await until(app.browser, "active", async () => (await $("encryption-view").getAttribute("data-state")) === "active", {
      timeoutMs: 10_000,
    });
    await $("encryption").scrollIntoView({ block: "center" });
    await app.screenshot("04-encryption-active");
  });

  it("backs up: the archive is .tar.zst.age and holds no key", async () => {
    const outcome = await backUp("the encrypted backup");
    assert.notEqual(outcome, "refused", (await $("action-error").isExisting()) ? await $("action-error").getText() : "");
    assert.equal(await $("action-error-fix").isExisting(), false, "the way out is gone once confirmed");
    const finished = await $("job-finished");
    if ((await finished.getAttribute("data-ok")) !== "true") assert.fail(`backup failed: ${await finished.getText()}`);
    await openTab(app, "backups");
    await until(app.browser, "the backup row", async () => (await app.browser.$$(byTestId("backups-row")).length) === 1);
    const path = await app.browser.$(byTestId("backups-row")).$("[data-path]").getAttribute("data-path");
    assert.match(path, /protectshop_\d{8}_\d{6}_database\.tar\.zst\.age$/);
    const head = readFileSync(path).subarray(0, 21).toString("latin1");
    assert.equal(head, "age-encryption.org/v1");
    // The identity never lands in a file Offsite wrote (the catalog, settings, the archive).
    for (const f of [...filesUnder(app.dataDir), path]) {
      assert.ok(!readFileSync(f).includes(recoveryItem), `${f} holds the recovery key`);
    }
  });

  it("adds a folder destination, tests it, and the next backup is copied there", async () => {
    await openTab(app, "protection");
    await $("destinations-section").scrollIntoView({ block: "center" });
    await $("destinations-none").waitForDisplayed();
    await $("destination-add").click();
    await $("destination-form").waitForDisplayed();
    await $("destination-field-name").setValue("nas");
    await $("destination-field-folder").setValue(nasDir);
    await $("destination-field-keep-daily").setValue("7");
    await $("destination-save").click();
    await until(app.browser, "the destination", async () =>
      (await app.browser.$(`${byTestId("destination")}[data-name="nas"]`).isExisting()) ||
      (await $("destination-form-error").isExisting()), { timeoutMs: 30_000 });
    if (await $("destination-form-error").isExisting()) assert.fail(`add failed: ${await $("destination-form-error").getText()}`);
    assert.equal(await $("destination-location").getText(), nasDir);
    await $("destination-test").click();
    await until(app.browser, "the test", async () => $("destination-test-result").isExisting(), { timeoutMs: 30_000 });
    assert.equal(await $("destination-test-result").getAttribute("data-writable"), "true");
    // The folder is on the disk of the backups folder (both under /tmp): not a separate copy, said
    // amber (issue 44: it read green "Writable · free").
    assert.equal(await $("destination-test-result").getAttribute("data-same-disk"), "true");
    assert.match(await $("destination-test-result").getText(), /^On the same disk as your backups: not a separate copy/);
    await $("destinations-section").scrollIntoView({ block: "center" });
    await app.screenshot("05-destination-added");

    await backUp("the second backup");
    await openTab(app, "backups");
    await until(app.browser, "two backups", async () => (await app.browser.$$(byTestId("backups-row")).length) === 2);
    // The newest backup's copy lands in the folder, the very bytes of the local archive.
    const newest = await app.browser.$$(byTestId("backups-row"))[0].$("[data-path]").getAttribute("data-path");
    const copied = await until(app.browser, "the copy in the folder", async () =>
      filesUnder(nasDir).find((f) => f.endsWith(newest.split("/").pop())), { timeoutMs: 60_000 });
    assert.equal(sha256(copied), sha256(newest));
    assert.ok(statSync(copied).size > 0);
  });

  it("shows the 3-2-1 state and where the newest backup lives", async () => {
    await app.browser.$$(byTestId("backups-row"))[0].click();
    await until(app.browser, "the copy's state", async () => {
      const c = await app.browser.$(`${byTestId("backup-where-copy")}[data-destination="nas"]`);
      return (await c.isExisting()) && (await c.getAttribute("data-state")) === "stored";
    }, { timeoutMs: 30_000 });
    assert.equal(await $("backup-where-local").getAttribute("data-present"), "true");
    await until(app.browser, "two copies counted", async () => /2 of 3/.test(await $("protection-copies").getText()), {
      timeoutMs: 15_000,
    });
    assert.equal(await $("protection-offsite").getAttribute("data-met"), "false");
    await $("protection").scrollIntoView({ block: "center" });
    await app.screenshot("06-three-two-one");
    await $("backup-where").scrollIntoView({ block: "center" });
    await app.screenshot("07-where-it-lives");
  });
});
