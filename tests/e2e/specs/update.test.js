// Updates as a user meets them: a release manifest on a local server (127.0.0.1), signed with a
// throwaway key by the tauri CLI. The app (a debug build: OFFSITE_UPDATE_PUBKEY is honoured there
// only) is told the endpoint and key; "Check now" in Settings brings the offer "Update 9.9.9
// available — Install and restart" with its notes. The package the manifest names is signed by
// ANOTHER key: "Install and restart" downloads it, the signature check refuses it, and the window
// says so — nothing is installed (the app under test is never replaced).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { until } from "../lib/steps.js";

const root = new URL("../../../", import.meta.url).pathname;
const tauriCli = path.join(root, "ui/node_modules/.bin/tauri");
const PASSWORD = "throwaway-e2e-password";

function tauri(...args) {
  const env = { ...process.env };
  delete env.TAURI_SIGNING_PRIVATE_KEY;
  delete env.TAURI_SIGNING_PRIVATE_KEY_PATH;
  delete env.TAURI_SIGNING_PRIVATE_KEY_PASSWORD;
  return execFileSync(tauriCli, args, { env, stdio: ["ignore", "pipe", "pipe"] }).toString();
}

/** A new key pair: [private key file, public key as tauri.conf.json holds it]. */
function generateKey(dir, name) {
  const key = path.join(dir, name);
  tauri("signer", "generate", "--ci", "-p", PASSWORD, "-w", key);
  return [key, fs.readFileSync(`${key}.pub`, "utf8").trim()];
}

function sign(key, file, version) {
  tauri("signer", "sign", "-f", key, "-p", PASSWORD, "--app-version", version, file);
  return fs.readFileSync(`${file}.sig`, "utf8").trim();
}

describe("updates: the offer and a refused package", () => {
  let app;
  let server;
  const asked = [];

  before(async () => {
    assert.ok(fs.existsSync(tauriCli), `${tauriCli} is missing: run npm --prefix ui ci`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "offsite-e2e-update-"));
    const [, releasePubkey] = generateKey(dir, "release-key");
    const [attackerKey] = generateKey(dir, "attacker-key");
    const pkg = path.join(dir, "Offsite_9.9.9_amd64.AppImage");
    fs.writeFileSync(pkg, "not the release: signed by another key");
    const signature = sign(attackerKey, pkg, "9.9.9");

    server = http.createServer((req, res) => {
      asked.push(req.url);
      const base = `http://127.0.0.1:${server.address().port}`;
      if (req.url === "/latest") {
        const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
        res.setHeader("Content-Type", "application/json");
        res.end(
          JSON.stringify({
            version: "9.9.9",
            notes: "Restores are faster.",
            pub_date: "2026-11-20T10:00:00Z",
            platforms: { [`linux-${arch}`]: { url: `${base}/pkg`, signature } },
          }),
        );
      } else if (req.url === "/pkg") {
        res.end(fs.readFileSync(pkg));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    app = await launchApp({
      name: "update",
      env: {
        OFFSITE_UPDATE_ENDPOINT: `http://127.0.0.1:${server.address().port}/latest`,
        OFFSITE_UPDATE_PUBKEY: releasePubkey,
      },
    });
  });

  after(async () => {
    await app?.close();
    server?.close();
  });

  it("offers the newer version with its notes after Check now", async () => {
    const $ = (id) => app.browser.$(byTestId(id));
    await $("open-settings").click();
    const box = await $("settings-check-updates");
    await box.waitForDisplayed({ timeout: 30_000 });
    assert.equal(await box.isSelected(), true, "checks are on by default");
    await until(app.browser, "update status", async () => (await $("update-check-now").isEnabled()) === true);
    await $("update-check-now").click();
    const title = await until(app.browser, "the offer", async () => {
      const t = await $("update-banner-title");
      return (await t.isExisting()) && t;
    });
    assert.equal(await title.getText(), "Update 9.9.9 available");
    assert.match(await $("update-state").getText(), /Update 9\.9\.9 is available/);
    await $("update-notes").click();
    assert.match(await $("update-notes").getText(), /Restores are faster\./);
    await app.browser.execute(() => window.scrollTo(0, 0));
    await app.screenshot("update-offered");
    assert.deepEqual(asked, ["/latest"]);
  });

  it("refuses a package whose signature does not match, and says so", async () => {
    const $ = (id) => app.browser.$(byTestId(id));
    await $("update-install").click();
    const failed = await until(app.browser, "the refusal", async () => {
      const n = await $("update-install-failed");
      return (await n.isExisting()) && n;
    });
    assert.equal(await failed.getAttribute("data-code"), "integrity");
    assert.match(await $("update-banner-title").getText(), /Update 9\.9\.9 could not be installed/);
    assert.match(await $("update-install-failed-message").getText(), /signature/);
    await app.browser.execute(() => window.scrollTo(0, 0));
    await app.screenshot("update-refused");
    assert.deepEqual(asked, ["/latest", "/pkg"]);
    // Still running: nothing was installed, nothing restarted.
    assert.equal(await $("app-title").getText(), "Offsite");
  });
});
