// The app starts; Settings → About shows the app's name, version and the data folder it was given
// (issue 44: no footer on every screen). The first-run welcome asks once whether new projects are
// encrypted: answered, it is not shown again (a reload, a new window), and the next project added
// (here by the command line, on the same data folder) starts with the answer.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { after, before, describe, it } from "node:test";
import { byTestId, firstVisibleAt, launchApp, recordMetric } from "../lib/app.js";

// The app's version is the workspace version in Cargo.toml (tauri.conf.json sets none).
const cargoToml = fs.readFileSync(new URL("../../../Cargo.toml", import.meta.url), "utf8");
const expectedVersion = /\[workspace\.package\][^[]*?\bversion\s*=\s*"([^"]+)"/.exec(cargoToml)?.[1];

describe("main window: app info", () => {
  let app;
  let firstVisible;
  let ready;

  before(async () => {
    app = await launchApp({ name: "main" });
    // Cold start: from the app process' launch to the first element of the page being visible,
    // and to the home's first answer (which needs an IPC round trip) being visible.
    firstVisible = await firstVisibleAt(app.browser, byTestId("app"));
    ready = await firstVisibleAt(app.browser, byTestId("empty-state"));
  });

  after(async () => {
    await app?.close();
  });

  it("records cold start times", () => {
    const t = app.timings;
    assert.ok(t.appStartedAt, "the app process was found (by its OFFSITE_DATA_DIR)");
    const toFirst = Math.round(firstVisible - t.appStartedAt);
    const toReady = Math.round(ready - t.appStartedAt);
    recordMetric("cold_start_first_element_ms", toFirst);
    recordMetric("cold_start_app_info_ms", toReady);
    recordMetric("webdriver_new_session_ms", t.sessionCreatedAt - t.sessionRequestedAt);
    assert.ok(toFirst > 0 && toReady >= toFirst, `sane timings: ${toFirst} ms, ${toReady} ms`);
  });

  it("shows the title", async () => {
    assert.equal(await app.browser.$(byTestId("app-title")).getText(), "Offsite");
  });

  it("shows no footer and no error; names the time zone once", async () => {
    assert.equal(await app.browser.$(byTestId("app-info")).isExisting(), false);
    assert.equal(await app.browser.$(byTestId("app-info-error")).isExisting(), false);
    assert.equal((await app.browser.$$(byTestId("zone-note"))).length, 1);
  });

  it("shows name, version and the data folder it was given (OFFSITE_DATA_DIR) in Settings → About", async () => {
    await app.browser.$(byTestId("open-settings")).click();
    const about = app.browser.$(byTestId("settings-about"));
    await about.waitForDisplayed({ timeout: 10_000 });
    assert.equal(await app.browser.$(byTestId("about-version")).getText(), `Offsite ${expectedVersion}`);
    assert.equal(await app.browser.$(byTestId("about-data-dir")).getText(), app.dataDir);
    await app.browser.$(byTestId("settings-back")).click();
    await app.browser.$(byTestId("empty-state")).waitForDisplayed({ timeout: 10_000 });
  });

  it("takes a screenshot of the main window", async () => {
    const file = await app.screenshot("app-info");
    const png = fs.readFileSync(file);
    assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
    assert.ok(png.length > 5_000, `a real picture, not an empty one (${png.length} bytes)`);
  });

  it("asks once, on the first run, whether new projects are encrypted; the next project starts with the answer", async () => {
    const $ = (id) => app.browser.$(byTestId(id));
    const offsite = (...args) =>
      execFileSync(process.env.OFFSITE_E2E_CLI, ["--data-dir", app.dataDir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    await $("welcome").waitForDisplayed({ timeout: 10_000 });
    await $("welcome-key").click();
    await $("welcome-answered").waitForDisplayed({ timeout: 10_000 });
    assert.equal(await $("welcome-answered").getAttribute("data-mode"), "key");
    await app.screenshot("welcome-answered");
    // Asked once: the window loaded again shows the empty home without the question.
    await app.browser.refresh();
    await $("empty-state").waitForDisplayed({ timeout: 30_000 });
    await $("add-project").waitForDisplayed();
    // The welcome asks the engine first (an IPC round trip): give it the time it took before.
    await app.browser.pause(2_000);
    assert.equal(await $("welcome").isExisting(), false, "the welcome is not asked again");
    assert.equal(await $("welcome-answered").isExisting(), false);
    // The next project starts encrypted with a generated key, waiting for its recovery key.
    offsite("project", "add", "firstrun", "--db", "postgres://app@db.invalid:5432/firstrun", "--no-test");
    const enc = JSON.parse(offsite("--json", "encryption", "show", "firstrun"));
    assert.equal(enc.mode, "key");
    assert.equal(enc.confirmed, false);
  });
});
