// e2e: needs postgres
// One protection checklist everywhere (issue 44, items 1 and 2), with the real app and the real
// `offsite` command line on one data folder:
//   gaps   backed up once (verified as it is written), no schedule, one copy, never proven
//          → three gaps: Scheduled, Copies, Restore proven — the home card, the project's header
//            and `offsite status` (plain and --json) list the same items in the same order
//   vault  encryption with a generated key whose recovery key was never confirmed
//          → "Backups are paused until you confirm your recovery key…" on the card (one sentence,
//            one button; the rows it answers not listed again) and the header, a Fix that opens
//            the recovery key's field, and no "Back up now" anywhere
// Screenshots in light and dark mode.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { pg, psql, requirePg, until } from "../lib/steps.js";

const DBS = ["check_gaps", "check_vault"];

describe("the protection checklist", () => {
  let app;
  let $;
  let dataDir;

  /** Runs the CLI on this spec's data folder. Returns { status, stdout, stderr }. */
  const cli = (args, { mayFail = false } = {}) => {
    const r = spawnSync(process.env.OFFSITE_E2E_CLI, ["--data-dir", dataDir, ...args], {
      env: { ...process.env, OFFSITE_PG_BIN: pg.bin },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (!mayFail && r.status !== 0) {
      throw new Error(`offsite ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    }
    return r;
  };
  const url = (db) => `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${db}?sslmode=disable`;
  const dropAll = () => {
    for (const db of DBS) psql("postgres", `DROP DATABASE IF EXISTS ${db}`);
  };
  /** What the engine says now (`status` exits 6 when a project is overdue). */
  const engine = () => JSON.parse(cli(["--json", "status"], { mayFail: true }).stdout);
  const card = (name) => app.browser.$(`${byTestId("project-card")}[data-project="${name}"]`);
  /** The (item, state) pairs listed inside `root`, in order. */
  const listed = async (root) => {
    const out = [];
    for (const i of await root.$$(byTestId("check-item"))) out.push([await i.getAttribute("data-item"), await i.getAttribute("data-state")]);
    return out;
  };

  before(async () => {
    requirePg();
    assert.ok(process.env.OFFSITE_E2E_CLI, "OFFSITE_E2E_CLI is set (run.sh builds the offsite binary)");
    dropAll();
    for (const db of DBS) {
      psql("postgres", `CREATE DATABASE ${db}`);
      psql(db, "CREATE TABLE t (id int primary key); INSERT INTO t SELECT generate_series(1, 100)");
    }
    const root = fs.mkdtempSync(path.join(process.env.OFFSITE_E2E_TMP, "checklist-setup-"));
    dataDir = path.join(root, "offsite-data");
    // A nearly full disk would (rightly) add a gap: not this spec's subject.
    cli(["notify", "settings", "--space-free-mib", "0", "--space-days", "0"]);
    cli(["project", "add", "gaps", "--db", url("check_gaps")]);
    cli(["backup", "gaps"]);
    cli(["project", "add", "vault", "--db", url("check_vault")]);
    // The recovery key is printed once and never entered back: backups are paused.
    const key = cli(["encryption", "set", "vault", "--generate-key"]);
    assert.match(key.stdout, /AGE-SECRET-KEY-1/);
    const refused = cli(["backup", "vault"], { mayFail: true });
    assert.notEqual(refused.status, 0, "the backup of the unconfirmed project is refused");
  });

  after(async () => {
    await app?.close();
    dropAll();
  });

  it("shows the same three gaps on the home card, in the project's header and in `offsite status`", async () => {
    const status = engine();
    const gaps = status.projects.find((p) => p.name === "gaps").health;
    const open = gaps.checklist.items.filter((i) => i.state === "gap" || i.state === "paused").map((i) => [i.id, i.state]);
    assert.deepEqual(open, [
      ["scheduled", "gap"],
      ["copies", "gap"],
      ["restore_proven", "gap"],
    ]);
    // Backed up and verified (a backup is read back as it is written); encryption is off (the
    // user's choice), so five items apply.
    assert.equal(gaps.checklist.line, "2 of 5 done");
    // The plain `status` prints the same items, in the same order, with the same words.
    const plain = cli(["status"], { mayFail: true }).stdout;
    const block = plain.split("\n\n").find((b) => b.startsWith("gaps "));
    assert.ok(block, plain);
    const printed = block
      .split("\n")
      .filter((l) => /^ {2}[✓✗⏸…–] /.test(l))
      .map((l) => l.slice(4, l.indexOf(":")));
    assert.deepEqual(
      printed,
      gaps.checklist.items.map((i) => i.label),
    );
    assert.match(plain, new RegExp(status.needs_you_line));

    app = await launchApp({ name: "checklist", dataDir, env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
    await (await $("needs-you")).waitForDisplayed({ timeout: 30_000 });
    // One line over the projects, with the count the CLI says (issue 64): "0 of 2 protected · 6
    // things need you".
    assert.match(await (await $("needs-you")).getText(), new RegExp(` · ${status.needs_you_line}$`));
    const home = await until(app.browser, "the gaps card", async () => {
      const c = await card("gaps");
      return (await c.isExisting()) && (await listed(c)).length > 0 && c;
    });
    // The card lists the open items (next step first); the badge counts them, as the summary does
    // (issue 64: "0 of 6 done" beside "2 things need you"), "N of M done" on hover.
    assert.deepEqual(await listed(home), open);
    const badge = await home.$(byTestId("checklist-badge"));
    assert.equal(await badge.getText(), `${open.length} to do`);
    assert.equal(await badge.getAttribute("title"), gaps.checklist.line);
    assert.equal(await (await home.$(byTestId("fix-gaps"))).getText(), gaps.problems[0].fix_label);
    // The home card says its reason once: as the first item's sentence, no line of its own.
    const homeText = await home.getText();
    assert.equal(homeText.split(gaps.problems[0].reason.slice(1)).length - 1, 1, homeText);
    await app.screenshot("01-home-light");

    // The project's header: all six items, in the engine's order, the same open ones.
    await (await $("project-open-gaps")).click();
    const header = await $("project-status");
    await header.waitForDisplayed({ timeout: 30_000 });
    assert.deepEqual(
      await listed(header),
      gaps.checklist.items.map((i) => [i.id, i.state]),
    );
    assert.equal(await (await header.$(byTestId("checklist-badge"))).getText(), `${open.length} to do`);
    // Times in the app's one format (local, "2026-11-24 03:30"), not the engine's sentence words.
    const backedUp = gaps.checklist.items.find((i) => i.id === "backed_up");
    assert.ok(backedUp.at && backedUp.why_at.includes("{at}"), JSON.stringify(backedUp));
    const backedText = await (await header.$('[data-item="backed_up"]')).getText();
    assert.match(backedText, /\d{4}-\d\d-\d\d \d\d:\d\d\./);
    assert.doesNotMatch(backedText, /UTC|\{at\}/);
    await app.screenshot("02-project-light");
  });

  it("says backups are paused until the recovery key is confirmed, and its Fix opens the field", async () => {
    await (await $("back-home")).click();
    const vault = await until(app.browser, "the vault card", async () => {
      const c = await card("vault");
      return (await c.isExisting()) && c;
    });
    const banner = await vault.$(byTestId("project-paused-vault"));
    assert.match(await banner.getText(), /Backups are paused until you confirm your recovery key/);
    const fix = await vault.$(byTestId("fix-vault"));
    assert.equal(await fix.getText(), "Confirm your recovery key");
    // Nothing on the card offers backing up (it would be refused again).
    assert.doesNotMatch(await vault.getText(), /Back up now/);
    const engineVault = engine().projects.find((p) => p.name === "vault").health;
    assert.equal(engineVault.checklist.paused, true);
    const pauseFix = engineVault.checklist.items.find((i) => i.id === "encryption").fix;
    assert.deepEqual(
      await listed(vault),
      engineVault.checklist.items.filter((i) => !["done", "off"].includes(i.state) && i.fix !== pauseFix).map((i) => [i.id, i.state]),
    );
    await app.screenshot("03-paused-home-light");
    await fix.click();
    // The project opens on its encryption card with the recovery key's field.
    const input = await $("encryption-confirm-input");
    await input.waitForDisplayed({ timeout: 30_000 });
    assert.match(await (await $("project-paused")).getText(), /Backups are paused until you confirm your recovery key/);
    assert.match(await (await $("encryption-confirm-cancel")).getText(), /backups stay paused/i);
    await app.screenshot("04-paused-project-light");
  });

  it("looks right in dark mode too", async () => {
    await app.close();
    app = await launchApp({ name: "checklist-dark", dataDir, dark: true, env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
    await (await $("needs-you")).waitForDisplayed({ timeout: 30_000 });
    await until(app.browser, "both cards", async () => (await app.browser.$$(byTestId("project-card"))).length === 2);
    await app.screenshot("05-home-dark");
    await (await $("project-open-gaps")).click();
    await (await $("project-status")).waitForDisplayed({ timeout: 30_000 });
    await app.screenshot("06-project-dark");
  });
});
