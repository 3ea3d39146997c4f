// e2e: needs postgres
// A project's storage end to end: a project added with the command line, its storage set through
// the project page's "Storage & configuration" form (the secret typed once, then only "stored in
// the keychain"), "Test storage" against a real S3-compatible server (moto) listing its buckets
// with object counts, and the default backup type, which "Back up now" then starts from. Then the
// restore wizard's "What to restore" choice: the storage backup planned and restored into a folder
// (byte-identical files); then a full backup whose database AND storage are restored by ONE job
// with one plan (the project's own storage, changed since the backup: one object overwritten, one
// added object deleted by the mirror, which waits for the typed word) and one report; afterwards
// the database and the bucket hold what the backup held.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { offsiteCli, openTab, pg, psql, requirePg, startMoto, until } from "../lib/steps.js";

describe("storage & configuration on the project page", () => {
  let app;
  let $;
  let moto;
  let endpoint;
  let restoreDir;
  const offsite = offsiteCli(() => app.dataDir);

  before(async () => {
    requirePg();
    psql("postgres", "DROP DATABASE IF EXISTS storageshop");
    psql("postgres", "CREATE DATABASE storageshop");
    moto = await startMoto();
    endpoint = moto.endpoint;
    // Two buckets as a Supabase project might have: avatars (3 objects) and docs (1).
    const put = moto.put;
    await put("avatars");
    await put("docs");
    await put("avatars/u1.png", "x".repeat(2048));
    await put("avatars/u2.png", "y".repeat(1024));
    await put("avatars/nested/u3.png", "z");
    await put("docs/readme.txt", "hello");
    app = await launchApp({ name: "storage", env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => {
    await app?.close();
    if (restoreDir) rmSync(restoreDir, { recursive: true, force: true });
    moto?.stop();
  });

  it("sets a project's storage on its page; the secret is never shown", async () => {
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/storageshop?sslmode=disable`;
    offsite("project", "add", "storageshop", "--db", url);
    await until(app.browser, "the project card", async () => $("project-open-storageshop").isExisting(), {
      timeoutMs: 10_000,
    });
    await $("project-open-storageshop").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
    await openTab(app, "sources");
    await $("components-storage-none").waitForDisplayed();
    // Without storage, the storage types cannot be picked (the split button's menu).
    await $("backup-type-toggle").click();
    assert.equal(await $("backup-type-storage").getAttribute("disabled"), "true");
    await $("backup-type-toggle").click();

    await $("components-storage-edit").click();
    await $("components-storage-form").waitForDisplayed();
    await $("components-field-endpoint").setValue(endpoint);
    await $("components-field-key-id").setValue("AKIDE2E");
    await $("components-field-secret").setValue("e2e-secret-value");
    await $("components-storage-save").click();
    await $("components-storage-endpoint").waitForDisplayed({ timeout: 10_000 });
    assert.equal(await $("components-storage-endpoint").getText(), endpoint);
    assert.equal(await $("components-storage-key-id").getText(), "AKIDE2E");
    assert.equal(await $("components-storage-buckets").getText(), "all buckets");
    assert.equal(await $("components-storage-secret").getText(), "stored in the keychain");
    const section = await $("components-section").getText();
    assert.ok(!section.includes("e2e-secret-value"), "the secret is not on the page");
    // What the CLI sees in the same catalog: the settings, never the secret.
    const shown = offsite("--json", "project", "components", "storageshop");
    assert.ok(shown.includes("AKIDE2E") && !shown.includes("e2e-secret-value"), shown);
    await $("components-section").scrollIntoView();
    await app.screenshot("01-storage-set");
  });

  it("tests the storage: the server's buckets with their object counts", async () => {
    await $("components-test").click();
    await until(app.browser, "the storage test", async () =>
      (await $("components-test-report").isExisting()) || (await $("components-test-error").isExisting()),
    );
    if (await $("components-test-error").isExisting()) {
      assert.fail(`test storage failed: ${await $("components-test-error").getText()}`);
    }
    const rows = await app.browser.$$(byTestId("components-test-row"));
    const byName = {};
    for (const row of rows) {
      const cells = [];
      for (const td of await row.$$("td")) cells.push((await td.getText()).trim());
      byName[await row.getAttribute("data-bucket")] = cells;
    }
    // Bucket, objects, size, readable.
    assert.deepEqual(byName, {
      avatars: ["avatars", "3", "3.0 KB", "yes"],
      docs: ["docs", "1", "5 B", "yes"],
    });
    await $("components-test-report").scrollIntoView();
    await app.screenshot("02-storage-tested");
  });

  it("lists what a backup of the project carries, storage objects now among them", async () => {
    await until(app.browser, "the storage objects' row set up", async () =>
      (await $("source-part-storage-objects").isExisting()) && (await $("source-part-storage-objects").getAttribute("data-set-up")) === "yes",
    );
    assert.equal(await $("source-part-storage-objects-captured").getText(), "Yes");
    assert.equal(await $("source-part-storage-objects-restored").getText(), "Yes");
    // A plain PostgreSQL project: Supabase's parts are folded away, with the reason.
    assert.match(await $("source-parts-others").getText(), /^Not for this project \(\d+\): not a Supabase project/);
    assert.match(await $("source-parts-summary").getText(), /^\d+ parts of this PostgreSQL project: \d+ carried and put back by a restore/);
    await $("source-parts").scrollIntoView();
    await app.screenshot("02b-what-a-backup-carries");
  });

  it("makes storage the default type; Back up now starts from it", async () => {
    await $("components-default-type").selectByAttribute("value", "storage");
    await until(app.browser, "the saved default type", async () =>
      (await $("components-notice").isExisting()) && /storage/.test(await $("components-notice").getText()),
    );
    await until(app.browser, "Back up now picks the default", async () =>
      (await $("backup-now").getAttribute("data-type")) === "storage",
    );
    assert.match(offsite("--json", "project", "components", "storageshop"), /"default_type":\s*"storage"/);
    // Config needs the Supabase project: still disabled.
    await $("backup-type-toggle").click();
    assert.equal(await $("backup-type-storage").getAttribute("data-default"), "true");
    assert.equal(await $("backup-type-config").getAttribute("disabled"), "true");
    await $("project-title").scrollIntoView();
    await app.screenshot("03-default-type");
  });

  it("backs up the storage, then restores it into a folder through the wizard", async () => {
    await $("backup-type-toggle").click();
    await openTab(app, "backups");
    await $("backup-now").click();
    await until(app.browser, "backup finished", async () => $("job-finished").isExisting(), { timeoutMs: 60_000 });
    const finished = await $("job-finished");
    if ((await finished.getAttribute("data-ok")) !== "true") assert.fail(`backup failed: ${await finished.getText()}`);
    await until(app.browser, "backup row", async () => (await app.browser.$$(byTestId("backups-row")).length) === 1);

    await $("restore-open").click();
    await $("restore-wizard").waitForDisplayed();
    await $("wizard-backup-radio").waitForDisplayed();
    await $("wizard-backup-radio").click();
    await $("wizard-next").click();
    await until(app.browser, "verify result", async () => $("wizard-verify-result").isExisting(), { timeoutMs: 30_000 });
    assert.equal(await $("wizard-verify-result").getAttribute("data-ok"), "true");

    // The archive holds storage only: the component choice is offered, the database is not in it.
    await $("wizard-components").waitForDisplayed();
    assert.equal(await $("wizard-components-database").isSelected(), false);
    assert.equal(await $("wizard-components-database").isEnabled(), false);
    assert.equal(await $("wizard-storage").isExisting(), false);
    await $("wizard-components-storage").click();
    await $("wizard-storage").waitForDisplayed();

    // Into a folder: every object, byte for byte. Planned on the way to the review.
    restoreDir = mkdtempSync(join(tmpdir(), "offsite-e2e-storage-"));
    // The radio sits under its label's text (one line since issue 44), which WebKitWebDriver
    // reports as intercepting a pointer click: the choice is clicked in the page instead.
    await app.browser.execute((el) => el.click(), await $("wizard-storage-to-folder"));
    await $("wizard-storage-folder").setValue(restoreDir);
    await $("wizard-next").click();
    await $("wizard-target-components").waitForDisplayed();
    await until(app.browser, "the plan", async () =>
      (await $("wizard-next").isEnabled()) || (await $("wizard-plan-error").isExisting()),
    );
    if (await $("wizard-plan-error").isExisting()) assert.fail(`plan failed: ${await $("wizard-plan-error").getText()}`);
    await $("wizard-next").click();
    await $("wizard-plan-storage").waitForDisplayed();
    assert.equal(await $("wizard-will-create").isExisting(), false, "no database section");
    assert.match(await $("wizard-storage-summary").getText(), /^4 objects to write \(3\.0 KB\), 0 overwritten, 0 identical skipped/);
    const planned = {};
    for (const row of await app.browser.$$(byTestId("wizard-storage-bucket"))) {
      const cells = [];
      for (const td of await row.$$("td")) cells.push((await td.getText()).trim());
      planned[await row.getAttribute("data-bucket")] = cells.slice(1, 3);
    }
    assert.deepEqual(planned, { avatars: ["3", "3 (3.0 KB)"], docs: ["1", "1 (5 B)"] });
    await $("wizard-plan-storage").scrollIntoView();
    await app.screenshot("04-storage-restore-planned");

    assert.equal(await $("wizard-restore").isEnabled(), true);
    await $("wizard-restore").click();
    await until(app.browser, "restore finished", async () => $("wizard-result").isExisting(), { timeoutMs: 60_000 });
    const result = await $("wizard-result");
    if ((await result.getAttribute("data-ok")) !== "true") assert.fail(`restore failed: ${await result.getText()}`);
    assert.match(await $("wizard-report-storage-summary").getText(), /^4 objects written \(3\.0 KB\), 0 identical skipped/);
    const want = {
      "avatars/u1.png": "x".repeat(2048),
      "avatars/u2.png": "y".repeat(1024),
      "avatars/nested/u3.png": "z",
      "docs/readme.txt": "hello",
    };
    for (const f of Object.keys(want)) assert.ok(existsSync(join(restoreDir, f)), f);
    for (const [f, body] of Object.entries(want)) {
      assert.equal(readFileSync(join(restoreDir, f), "utf8"), body, f);
    }
    await $("wizard-done").click();
    await $("project-page").waitForDisplayed();
  });

  it("restores the database AND the storage in one job, with one report", async () => {
    // A table in the project's database, so the full backup holds both.
    psql("storageshop", "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'a'), (2, 'b')");
    const restoreJobs = async () => (await app.browser.$$(`${byTestId("job-history-row")}[data-kind="restore"]`)).length;
    await openTab(app, "activity");
    const before = await restoreJobs();
    await openTab(app, "backups");

    await $("backup-type-toggle").click();
    await $("backup-type-full").click();
    await until(app.browser, "the full backup", async () => (await app.browser.$$(byTestId("backups-row")).length) === 2, {
      timeoutMs: 60_000,
    });

    // Changes after the backup, which the restore must undo: a row, an object overwritten with
    // other bytes, an object the backup never had (the mirror deletes it).
    psql("storageshop", "INSERT INTO notes VALUES (3, 'after the backup')");
    await moto.putSigned("avatars/u2.png", "changed");
    await moto.putSigned("docs/extra.txt", "not in the backup");

    await $("restore-open").click();
    await $("restore-wizard").waitForDisplayed();
    await $("wizard-backup-radio").waitForDisplayed();
    let chosen = false;
    for (const option of await app.browser.$$(byTestId("wizard-backup-option"))) {
      if (/^Full backup of /.test(await option.getText())) {
        await option.$(byTestId("wizard-backup-radio")).click();
        chosen = true;
        break;
      }
    }
    assert.ok(chosen, "the full backup is offered");
    await $("wizard-next").click();
    await until(app.browser, "verify result", async () => $("wizard-verify-result").isExisting(), { timeoutMs: 30_000 });
    assert.equal(await $("wizard-verify-result").getAttribute("data-ok"), "true");

    // Database (ticked: the archive holds one) and storage, into the project's own storage with
    // mirror: u2.png is written back, extra.txt deleted, the other three are identical.
    await $("wizard-components").waitForDisplayed();
    assert.equal(await $("wizard-components-database").isSelected(), true);
    await app.browser.execute((el) => el.click(), await $("wizard-components-storage")); // a choice under its label's text
    await app.browser.execute((el) => el.click(), await $("wizard-storage-to-project")); // a choice under its label's text
    await app.browser.execute((el) => el.click(), await $("wizard-storage-mirror")); // a choice under its label's text
    await $("wizard-next").click();
    await app.browser.execute((el) => el.click(), await $("wizard-target-this")); // a choice under its label's text
    await until(app.browser, "the plan", async () =>
      (await $("wizard-next").isEnabled()) || (await $("wizard-plan-error").isExisting()),
    );
    if (await $("wizard-plan-error").isExisting()) assert.fail(`plan failed: ${await $("wizard-plan-error").getText()}`);
    await $("wizard-next").click();

    // The review: the one plan, a section per component.
    await $("wizard-plan").waitForDisplayed();
    await $("wizard-will-replace").waitForDisplayed();
    assert.match(await $("wizard-plan-storage").getText(), /Storage/);
    assert.match(
      await $("wizard-storage-summary").getText(),
      /^1 object to write \(1\.0 KB\), 1 overwritten, 3 identical skipped, 1 deleted \(17 B\)/,
    );
    // Two typed consents: the database's name (it is not empty) and the word for a mirror.
    assert.equal(await $("wizard-restore").isEnabled(), false);
    await $("wizard-consent").setValue("storageshop");
    assert.equal(await $("wizard-restore").isEnabled(), false, "mirror waits for the typed word");
    await $("wizard-storage-consent").setValue("mirror");
    await until(app.browser, "Restore enabled", async () => $("wizard-restore").isEnabled());
    await $("wizard-plan-storage").scrollIntoView();
    await app.screenshot("05-one-restore-planned");
    await $("wizard-restore").click();

    await until(app.browser, "restore finished", async () => $("wizard-result").isExisting(), { timeoutMs: 60_000 });
    const result = await $("wizard-result");
    if ((await result.getAttribute("data-ok")) !== "true") assert.fail(`restore failed: ${await result.getText()}`);
    // One report: the database's rows table by table, and the storage bucket by bucket.
    const tables = await app.browser.$$(byTestId("wizard-table-row"));
    const notes = [];
    for (const row of tables) if ((await row.getAttribute("data-table")) === "public.notes") notes.push(row);
    assert.equal(notes.length, 1);
    assert.equal(await notes[0].getAttribute("data-actual"), "2");
    assert.match(
      await $("wizard-report-storage-summary").getText(),
      /^1 object written \(1\.0 KB\), 3 identical skipped, 1 deleted \(17 B\)/,
    );
    const buckets = [];
    for (const row of await app.browser.$$(byTestId("wizard-report-bucket"))) buckets.push(await row.getAttribute("data-bucket"));
    assert.deepEqual(buckets.sort(), ["avatars", "docs"]);
    await $("wizard-report-storage").scrollIntoView();
    await app.screenshot("06-one-restore-report");

    // ONE restore job for both components.
    await $("wizard-done").click();
    await $("project-page").waitForDisplayed();
    await openTab(app, "activity");
    await until(app.browser, "the restore in the job history", async () => (await restoreJobs()) === before + 1, {
      timeoutMs: 10_000,
    });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await restoreJobs(), before + 1, "database and storage ran as one job");
    // What the backup held is back: the object's bytes, no extra object, the rows.
    assert.equal(await moto.get("avatars/u2.png"), "y".repeat(1024));
    assert.equal(await moto.get("docs/extra.txt"), null);
    assert.equal(await moto.get("avatars/u1.png"), "x".repeat(2048));
  });
});
