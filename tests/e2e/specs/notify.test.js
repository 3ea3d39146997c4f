// e2e: needs postgres
// Notifications in the app: Settings → Notifications. The user adds a signed webhook pointing to
// a receiver this spec runs (a small Node HTTP server that answers 200 only when the
// `Offsite-Signature` HMAC of the body matches the secret), presses "Send a test" and sees it
// sent while the receiver holds the test event; a second channel on a closed port shows a clear
// connection error. Then a project's backups are routed to the webhook, a backup made with the
// command line is delivered, and the delivery log lists it as sent. Finally, with the page left
// open and nothing clicked, the command line (another process on the same data folder) adds a
// channel with its own rate — it appears — and a backup's delivery to that channel fails: the
// log shows it queued again with the reason, by itself (the catalog's change feed, schema 16).
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { byTestId, freePort, launchApp } from "../lib/app.js";
import { offsiteCli, pg, psql, requirePg, until } from "../lib/steps.js";

const SECRET = "e2e-signing-secret-7f3a";
const MAX_BODY = 1024 * 1024;

/**
 * The `offsite` command line on the app's data folder, without blocking this process: the receiver
 * runs in it and must answer while the command delivers (execFileSync would stall both).
 */
async function offsiteAsync(dataDir, ...args) {
  const { stdout } = await promisify(execFile)(process.env.OFFSITE_E2E_CLI, ["--data-dir", dataDir, ...args], {
    env: { ...process.env, OFFSITE_PG_BIN: pg.bin },
  });
  return stdout;
}

/** A webhook receiver on 127.0.0.1: records each request; 200 when its signature is right, else 401. */
async function startReceiver(secret) {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const want = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
      const got = String(req.headers["offsite-signature"] ?? "");
      const signed = got.length === want.length && timingSafeEqual(Buffer.from(got), Buffer.from(want));
      let json = null;
      try {
        json = JSON.parse(body.toString("utf8"));
      } catch {
        // recorded as null: the assertions say what was expected
      }
      received.push({ path: req.url, headers: req.headers, json, signed });
      res.writeHead(signed ? 200 : 401, { "content-type": "text/plain" });
      res.end(signed ? "ok" : "bad signature");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/offsite`, received, stop: () => server.close() };
}

describe("notification channels and the delivery log in the app", () => {
  let app;
  let $;
  let receiver;
  let closedPort;
  const offsite = offsiteCli(() => app.dataDir);
  const channel = (name) => app.browser.$(`${byTestId("channel")}[data-name="${name}"]`);

  before(async () => {
    requirePg();
    psql("postgres", "DROP DATABASE IF EXISTS notifyshop");
    psql("postgres", "CREATE DATABASE notifyshop");
    psql("notifyshop", "CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 500) g");
    receiver = await startReceiver(SECRET);
    closedPort = await freePort();
    app = await launchApp({ name: "notify", env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/notifyshop?sslmode=disable`;
    offsite("project", "add", "shop", "--db", url);
    await until(app.browser, "the project card", async () => $("project-open-shop").isExisting(), { timeoutMs: 15_000 });
  });

  after(async () => {
    await app?.close();
    receiver?.stop();
    psql("postgres", "DROP DATABASE IF EXISTS notifyshop");
  });

  const addChannel = async (name, url, secret) => {
    await $("channel-add").click();
    await $("channel-form").waitForDisplayed();
    await $("channel-kind").selectByAttribute("value", "webhook");
    await $("channel-name").setValue(name);
    await $("channel-webhookUrl").setValue(url);
    if (secret) await $("channel-secret").setValue(secret);
  };

  it("starts with no channels and says what can be added", async () => {
    await $("open-notifications").click();
    await $("notifications").waitForDisplayed({ timeout: 15_000 });
    const none = $("notify-channels-none");
    await none.waitForDisplayed({ timeout: 15_000 });
    assert.match(await none.getText(), /No channels yet: add email, a webhook, Telegram or a heartbeat ping/);
    await $("notify-log-empty").waitForDisplayed({ timeout: 15_000 });
    await $("notifications").scrollIntoView();
    await app.screenshot("01-no-channels");
  });

  it("adds a signed webhook; its secret is never shown; a test reaches the receiver", async () => {
    await addChannel("hook", receiver.url, SECRET);
    assert.equal(await $("channel-secret").getAttribute("type"), "password");
    await $("channel-form").scrollIntoView();
    await app.screenshot("02-add-webhook");
    await $("channel-save").click();
    await channel("hook").waitForDisplayed({ timeout: 15_000 });
    assert.equal(await $("channel-form").isExisting(), false);
    assert.match(await channel("hook").$(byTestId("channel-target")).getText(), /127\.0\.0\.1/);
    assert.ok(!(await app.browser.getPageSource()).includes(SECRET), "the secret is nowhere in the window");

    await channel("hook").$(byTestId("channel-test")).click();
    const result = channel("hook").$(byTestId("channel-test-result"));
    await result.waitForDisplayed({ timeout: 30_000 });
    assert.match(await result.getText(), /Test sent/);
    const tests = receiver.received.filter((r) => r.json?.event === "test");
    assert.equal(tests.length, 1, JSON.stringify(receiver.received.map((r) => r.json?.event)));
    assert.equal(tests[0].signed, true, "the Offsite-Signature HMAC matches the body");
    assert.equal(tests[0].headers["offsite-event-id"], tests[0].json.id);
    assert.equal(tests[0].json.version, 1);
    await channel("hook").scrollIntoView();
    await app.screenshot("03-test-sent");
  });

  it("a channel on a closed port says it cannot connect", async () => {
    await addChannel("down", `http://127.0.0.1:${closedPort}/hook`);
    await $("channel-save").click();
    await channel("down").waitForDisplayed({ timeout: 15_000 });
    await channel("down").$(byTestId("channel-test")).click();
    const error = channel("down").$(byTestId("channel-test-error"));
    await error.waitForDisplayed({ timeout: 60_000 });
    assert.equal(await error.getAttribute("data-code"), "connection");
    assert.match(await channel("down").$(byTestId("channel-test-error-title")).getText(), /Cannot reach the server/);
    const message = await channel("down").$(byTestId("channel-test-error-message")).getText();
    assert.match(message, /down/, "the message names the channel");
    assert.match(message, /connect|refused/i);
    await channel("down").scrollIntoView();
    await app.screenshot("04-test-connection-error");
  });

  it("routes the project's backups to the webhook and lists the delivered backup in the log", async () => {
    const row = app.browser.$(`${byTestId("notify-route")}[data-channel="hook"]`);
    await row.waitForDisplayed({ timeout: 15_000 });
    assert.equal(await $("notify-route-project").getValue(), "shop");
    await row.$(byTestId("notify-route-succeeded")).click();
    await row.$(byTestId("notify-route-failed")).click();
    await $("notify-route-save").click();
    await until(app.browser, "the route saved", async () => !(await $("notify-routes-default").isExisting()), {
      timeoutMs: 15_000,
    });
    await $("notify-routes").scrollIntoView();
    await app.screenshot("05-routes");

    await offsiteAsync(app.dataDir, "backup", "shop");
    await offsiteAsync(app.dataDir, "run-due");
    // Delivered by whichever process claims it first (this run-due, or the app's own loop).
    const deadline = Date.now() + 60_000;
    const delivered = () => receiver.received.filter((r) => r.json?.event === "backup_succeeded");
    while (delivered().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.ok(
      delivered().length >= 1,
      `${JSON.stringify(receiver.received.map((r) => r.json?.event))}\n${await offsiteAsync(app.dataDir, "notify", "log", "--json")}`,
    );
    const first = delivered()[0];
    assert.ok(delivered().every((r) => r.signed && r.json.id === first.json.id), "one event, signed");
    assert.equal(first.json.project.name, "shop");

    const sent = `${byTestId("notify-log-row")}[data-kind="backup_succeeded"][data-state="sent"][data-channel="hook"]`;
    await until(
      app.browser,
      "the delivered backup in the log",
      async () => {
        await $("notify-log-refresh").click();
        return app.browser.$(sent).isExisting();
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const text = await app.browser.$(sent).getText();
    assert.match(text, /shop/);
    assert.match(text, /Sent/);
    await $("notify-log").scrollIntoView();
    await app.screenshot("06-delivery-log");
  });

  it("shows a channel the command line adds while the page is open, without a reload", async () => {
    await $("notify-channels").scrollIntoView();
    offsite("notify", "add", "cli-down", "--webhook", `http://127.0.0.1:${closedPort}/cli`, "--rate", "2");
    const added = Date.now();
    await until(app.browser, "the CLI's channel in the open list", async () => channel("cli-down").isExisting(), {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    const ms = Date.now() - added;
    // The window reads the change feed every 0.5 s.
    assert.ok(ms < 5_000, `the channel appeared after ${ms} ms`);
    assert.match(await channel("cli-down").$(byTestId("channel-rate-label")).getText(), /at most 2 a minute$/);
    assert.match(await channel("hook").$(byTestId("channel-rate-label")).getText(), /at most 1200 a minute \(default\)/);
    await channel("cli-down").scrollIntoView();
    await app.screenshot("07-cli-channel-appeared");
  });

  it("shows a failing delivery's state in the log by itself", async () => {
    offsite("notify", "route", "shop", "--events", "succeeded", "--to", "cli-down");
    await until(
      app.browser,
      "the CLI's route in the open page",
      async () =>
        app.browser.$(`${byTestId("notify-route")}[data-channel="cli-down"] ${byTestId("notify-route-succeeded")}`).isSelected(),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    await $("notify-log").scrollIntoView();
    await offsiteAsync(app.dataDir, "backup", "shop");
    // Nothing is clicked: the failed attempt is queued again with its reason, and the log learns it.
    const failing = `${byTestId("notify-log-row")}[data-kind="backup_succeeded"][data-channel="cli-down"]`;
    const row = await until(
      app.browser,
      "the failing delivery in the open log",
      async () => {
        const r = await app.browser.$(failing);
        if (!(await r.isExisting())) return false;
        const state = await r.getAttribute("data-state");
        const error = await r.$(byTestId("notify-log-error-text")).getText();
        return (state === "queued" || state === "failed") && error.trim() !== "" && r;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    assert.match(await row.$(byTestId("notify-log-error-text")).getText(), /connect|refused/i);
    assert.match(await row.getText(), /shop/);
    await $("notify-log").scrollIntoView();
    await app.screenshot("08-failing-delivery-appeared");
  });
});
