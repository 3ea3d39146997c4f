// e2e: needs postgres
// A project's backup server end to end, as a user meets it: an Offsite agent (`offsite serve`, the
// same binary as the command line) runs next to a real PostgreSQL with its self-signed TLS
// certificate; in the app the user adds it on the project page (URL, the project's id on the
// server, a token from `offsite serve token create`), "Check certificate" shows the fingerprint,
// which must be the one `offsite serve fingerprint` prints, then saves (the token only "stored in
// the keychain"). "Back up on server" shows the job's progress; the archive lands in the backup
// list, verified, byte-identical (same SHA-256) to the one the agent made.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { offsiteCli, openTab, pg, psql, requirePg, until } from "../lib/steps.js";

const PASSWORD_ENV = "OFFSITE_E2E_AGENT_DB_PASSWORD";

function sha256(file) {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** Every archive (`.tar.zst` or `.tar.gz`) under `dir`. */
function archivesUnder(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...archivesUnder(p));
    else if (name.endsWith(".tar.zst") || name.endsWith(".tar.gz")) out.push(p);
  }
  return out;
}

describe("a project's backup server in the app", () => {
  let app;
  let $;
  let agent;
  let agentDir;
  let agentUrl;
  let token;
  let printedFingerprint;
  const offsite = offsiteCli(() => app.dataDir);
  /** `offsite serve --config agent.toml ARGS` (not the server): stdout. */
  const serve = (...args) =>
    execFileSync(process.env.OFFSITE_E2E_CLI, ["serve", "--config", join(agentDir, "agent.toml"), ...args], {
      env: { ...process.env, [PASSWORD_ENV]: pg.password },
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
    }).trim();

  before(async () => {
    requirePg();
    psql("postgres", "DROP DATABASE IF EXISTS remoteshop");
    psql("postgres", "CREATE DATABASE remoteshop");
    psql(
      "remoteshop",
      "CREATE TABLE orders(id int primary key, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 20000) g;",
    );
    agentDir = mkdtempSync(join(process.env.OFFSITE_E2E_TMP ?? tmpdir(), "agent-"));
    const dbUrl = `postgres://${pg.user}@${pg.host}:${pg.port}/remoteshop?sslmode=disable`;
    writeFileSync(
      join(agentDir, "agent.toml"),
      `listen = "127.0.0.1:0"
data_dir = "data"
pg_bin = ${JSON.stringify(pg.bin)}

[projects.shop]
database_url = ${JSON.stringify(dbUrl)}
password_env = "${PASSWORD_ENV}"
`,
    );
    agent = spawn(process.env.OFFSITE_E2E_CLI, ["serve", "--config", join(agentDir, "agent.toml")], {
      env: { ...process.env, [PASSWORD_ENV]: pg.password, OFFSITE_LOG: "info" },
      stdio: ["ignore", "pipe", "inherit"],
      detached: true,
    });
    const lines = createInterface({ input: agent.stdout });
    let fromStdout = null;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("offsite serve did not start within 60 s")), 60_000);
      agent.once("exit", (code) => reject(new Error(`offsite serve exited (${code}) before listening`)));
      lines.on("line", (line) => {
        const u = line.match(/^offsite agent listening on (\S+)/);
        if (u) agentUrl = u[1];
        const f = line.match(/^TLS certificate fingerprint: (\S+)/);
        if (f) fromStdout = f[1];
        if (agentUrl && fromStdout) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    assert.match(agentUrl, /^https:\/\/127\.0\.0\.1:\d+/);
    printedFingerprint = serve("fingerprint");
    assert.equal(printedFingerprint, fromStdout, "offsite serve fingerprint prints what the server printed");
    token = serve("token", "create", "--project", "shop");
    assert.ok(token.length > 20, "a token was created");
    app = await launchApp({ name: "remote", env: { OFFSITE_PG_BIN: pg.bin, OFFSITE_SERVER_POLL_MS: "200" } });
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => {
    await app?.close();
    if (agent?.pid) {
      try {
        process.kill(-agent.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    if (agentDir) rmSync(agentDir, { recursive: true, force: true });
  });

  it("adds the backup server: the fingerprint shown is the one offsite serve prints; the token stays in the keychain", async () => {
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/remoteshop?sslmode=disable`;
    offsite("project", "add", "remoteshop", "--db", url);
    await until(app.browser, "the project card", async () => $("project-open-remoteshop").isExisting(), {
      timeoutMs: 10_000,
    });
    await $("project-open-remoteshop").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
    await openTab(app, "sources");
    await $("server-none").waitForDisplayed({ timeout: 10_000 });

    await $("server-edit").click();
    await $("server-form").waitForDisplayed();
    await $("server-field-url").setValue(agentUrl);
    await $("server-field-project").setValue("shop");
    await $("server-field-token").setValue(token);
    // Nothing can be saved before the certificate was checked.
    assert.equal(await $("server-save").isEnabled(), false);
    await $("server-check-button").click();
    await until(app.browser, "the fingerprint", async () =>
      (await $("server-check-fingerprint").isExisting()) || (await $("server-form-error").isExisting()),
    );
    if (await $("server-form-error").isExisting()) assert.fail(`check failed: ${await $("server-form-error").getText()}`);
    assert.equal(await $("server-check-fingerprint").getText(), printedFingerprint);
    // Checked, not yet compared: trust waits for the fingerprint offsite serve printed.
    assert.equal(await $("server-save").isEnabled(), false);
    await $("server-field-printed").setValue(printedFingerprint.toLowerCase());
    await $("server-check-match").waitForDisplayed({ timeout: 5_000 });
    assert.equal(await $("server-save").isEnabled(), true);
    await $("server-form").scrollIntoView();
    await app.screenshot("01-server-fingerprint");

    await $("server-save").click();
    await until(app.browser, "the saved server", async () =>
      (await $("server-url").isExisting()) || (await $("server-form-error").isExisting()),
    { timeoutMs: 30_000 });
    if (await $("server-form-error").isExisting()) assert.fail(`save failed: ${await $("server-form-error").getText()}`);
    assert.equal(await $("server-project").getText(), "shop");
    assert.equal(await $("server-token").getText(), "stored in the keychain");
    assert.equal(await $("server-fingerprint").getText(), printedFingerprint);
    assert.ok(agentUrl.startsWith((await $("server-url").getText()).replace(/\/$/, "")), "the URL is shown");
    const section = await $("server-section").getText();
    assert.ok(!section.includes(token), "the token is not on the page");
    // The command line sees the same server in the catalog, never the token.
    const shown = offsite("--json", "project", "components", "remoteshop");
    assert.ok(shown.includes('"shop"') && !shown.includes(token), shown);
    await $("server-section").scrollIntoView();
    await app.screenshot("02-server-saved");
  });

  it("backs up on the server: progress shows, the archive lands verified with the agent's SHA-256", async () => {
    await $("server-backup").click();
    // Progress of the job while it runs (the server's, then the download).
    const seen = new Set();
    await until(
      app.browser,
      "the server job's end",
      async () => {
        if (await $("server-job-phase").isExisting()) {
          try {
            seen.add(await $("server-job-phase").getText());
            if (seen.size === 1) {
              assert.equal(await $("server-job-cancel").isExisting(), true, "a server backup can be cancelled");
              // Its time left once it can be known, until then how long it has run (never "—").
              assert.ok(
                (await $("server-job-eta").isExisting()) || (await $("server-job-elapsed").isExisting()),
                "a server backup shows its time left or how long it has run",
              );
              // The job panel's named steps (issue 64 item 6).
              assert.match(await $("job-steps").getText(), /On the server/);
              await $("server-job").scrollIntoView();
              await app.screenshot("03-server-backup-running");
            }
          } catch (e) {
            // The job ended between the two looks (the phase line is gone): the result decides.
            if (!(await $("server-job-result").isExisting())) throw e;
          }
        }
        return $("server-job-result").isExisting();
      },
      { timeoutMs: 180_000 },
    );
    const result = await $("server-job-result");
    if ((await result.getAttribute("data-ok")) !== "true") {
      const detail = (await $("server-job-error").isExisting()) ? await $("server-job-error").getText() : "";
      assert.fail(`remote backup failed: ${await result.getText()} ${detail}`);
    }
    assert.ok(seen.size >= 1, "the job's progress was shown");
    assert.match(await result.getText(), /downloaded and verified/);
    // The backup is named; its path is in the (closed) details.
    assert.match(await $("server-job-name").getText(), /^Database backup of \d{4}-\d\d-\d\d \d\d:\d\d$/);
    assert.ok(!(await result.getText()).includes("/"), "no path in the result line");
    const localPath = (await $("server-job-path").getProperty("textContent")).trim();
    await $("server-section").scrollIntoView();
    await app.screenshot("04-server-backup-done");

    await openTab(app, "backups");
    await until(app.browser, "the backup in the list", async () => (await app.browser.$$(byTestId("backups-row")).length) === 1, {
      timeoutMs: 15_000,
    });
    const status = await app.browser.$(byTestId("backups-row")).$(byTestId("backup-status"));
    assert.equal(await status.getAttribute("data-status"), "verified");
    // Made by the backup server: the row says so.
    const origin = await app.browser.$(byTestId("backups-row")).$(byTestId("backup-origin"));
    assert.equal(await origin.getAttribute("data-origin"), "server");
    assert.equal((await origin.getProperty("textContent")).trim(), "backup server");

    // Byte for byte the archive the agent made.
    const onAgent = archivesUnder(join(agentDir, "data"));
    assert.equal(onAgent.length, 1, `one archive on the agent: ${onAgent.join(", ")}`);
    assert.equal(sha256(localPath), sha256(onAgent[0]));
    // The catalog (as the command line reads it): one backup, verified, with the agent's SHA-256.
    const rows = JSON.parse(offsite("--json", "backups", "remoteshop")).backups;
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0].sha256, sha256(onAgent[0]));
    assert.equal(rows[0].status, "verified");
    assert.equal(rows[0].origin, "server");
    await $("backup-count").scrollIntoView();
    await app.screenshot("05-backup-list");
  });

  it("pulls: nothing new, the one backup is already here", async () => {
    await openTab(app, "sources");
    await $("server-pull").click();
    await until(app.browser, "the pull's end", async () => {
      const r = await $("server-job-result");
      return (await r.isExisting()) && /already here/.test(await r.getText());
    });
    const result = await $("server-job-result");
    assert.equal(await result.getAttribute("data-ok"), "true");
    assert.match(await result.getText(), /^0 new backups downloaded and verified, 1 already here/);
  });
});
