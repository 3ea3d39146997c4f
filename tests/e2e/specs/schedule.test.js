// e2e: needs postgres
// Schedules in the real app: a project gets a daily backup schedule through the project page's
// editor (the preview lists the next 5 runs; a bad time is refused with the engine's message),
// and the home screen's card shows it as scheduled with its next run.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { fillProjectForm, pg, requirePg, until } from "../lib/steps.js";

describe("schedule: set a daily backup schedule in the editor, see the next run on the card", () => {
  let app;
  let $;

  before(async () => {
    requirePg();
    app = await launchApp({ name: "schedule", env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => app?.close());

  it("adds a project", async () => {
    await $("add-project").waitForDisplayed({ timeout: 30_000 });
    await $("add-project").click();
    assert.equal(await fillProjectForm(app, { name: "shop" }), "report");
    await $("add-save").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
  });

  it("previews, refuses a bad time, and saves a daily schedule", async () => {
    await $("schedule-section").scrollIntoView();
    await $("schedule-backup-none").waitForDisplayed({ timeout: 30_000 });
    await until(app.browser, "preview", async () => (await app.browser.$$(byTestId("schedule-preview-run")).length) === 5);

    await $("schedule-time").setValue("25:00");
    await $("schedule-preview-error").waitForDisplayed({ timeout: 10_000 });
    assert.equal(await $("schedule-preview-error").getAttribute("data-code"), "invalid_input");
    await app.screenshot("01-invalid-time");

    await $("schedule-time").setValue("03:15");
    await until(app.browser, "preview again", async () => (await app.browser.$$(byTestId("schedule-preview-run")).length) === 5);
    const first = await app.browser.$$(byTestId("schedule-preview-run"))[0].getText();
    assert.match(first, / 03:15$/);
    await $("schedule-save").click();
    await $("schedule-saved").waitForDisplayed({ timeout: 10_000 });
    await until(app.browser, "saved schedule", async () => (await $("schedule-backup").getAttribute("data-state")) === "on");
    assert.equal(await $("schedule-backup-spec").getText(), "Every day at 03:15");
    await app.screenshot("02-saved");
  });

  it("shows the next run on the project's card", async () => {
    await $("back-home").click();
    await $("project-list").waitForDisplayed();
    await until(app.browser, "schedule line", async () => $("project-next-run").isExisting());
    assert.equal(await $("project-schedule-state").getAttribute("data-state"), "on");
    assert.match(await $("project-next-run").getText(), / 03:15$/);
    assert.equal(await $("project-overdue").isExisting(), false);
    await app.screenshot("03-card");
  });

  it("lists jobs on the history screen", async () => {
    await $("open-history").click();
    await $("history").waitForDisplayed();
    await $("history-kind").selectByAttribute("value", "backup");
    await until(app.browser, "no backup jobs", async () => $("history-empty").isExisting());
    await app.screenshot("04-history");
  });
});
