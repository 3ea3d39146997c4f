// The app starts; Settings → About shows the app's name, version and the data folder it was given
// (issue 44: no footer on every screen).
import assert from "node:assert/strict";
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
});
