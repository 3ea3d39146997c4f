// e2e: needs postgres
// Schedules in the real app: a project gets a daily backup schedule through the project page's
// Schedules tab (the time is picked from hour and minute lists; a bad cron expression is refused
// with the engine's message; the preview lists the next 5
// runs of what is SAVED, never of an unsaved form), and the home screen's card shows it as
// scheduled with its next run. After every later save the preview is the saved schedule. Fields
// are retyped as a user does (lib/steps.js `typeInto`): WebDriver's own clear is not seen by the
// app, and a catalog change re-rendering the editor between it and the keys once made this spec
// save "30 2 * * *" with the typed cron expression appended (the last test has such a change land
// mid-edit).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { byTestId, launchApp } from "../lib/app.js";
import { clearAsUser, fillProjectForm, offsiteCli, openTab, pg, requirePg, typeInto, until } from "../lib/steps.js";

describe("schedule: set a daily backup schedule in the editor, see the next run on the card", () => {
  let app;
  let $;

  before(async () => {
    requirePg();
    app = await launchApp({ name: "schedule", env: { OFFSITE_PG_BIN: pg.bin } });
    $ = (id) => app.browser.$(byTestId(id));
  });

  after(async () => app?.close());

  /** Picks "HH:MM" in the schedule's time picker, as a user does (the hour list, the minute list). */
  const pickTime = async (hhmm) => {
    const [h, m] = hhmm.split(":");
    await $("schedule-time-hour").selectByAttribute("value", h);
    await $("schedule-time-minute").selectByAttribute("value", m);
    assert.equal(await $("schedule-time").getAttribute("data-value"), hhmm);
  };

  it("adds a project", async () => {
    await $("add-project").waitForDisplayed({ timeout: 30_000 });
    await $("add-project").click();
    assert.equal(await fillProjectForm(app, { name: "shop" }), "report");
    await $("add-save").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
  });

  it("refuses a bad time, saves a daily schedule, and previews only what was saved", async () => {
    await openTab(app, "schedules");
    await $("schedule-section").scrollIntoView();
    await $("schedule-backup-none").waitForDisplayed({ timeout: 30_000 });
    // Nothing saved: no runs, a note instead.
    await $("schedule-preview-none").waitForDisplayed();
    assert.equal((await app.browser.$$(byTestId("schedule-preview-run"))).length, 0);

    // The time is picked from lists (no "25:00" can be written); a bad cron expression is what
    // the engine still refuses.
    assert.equal((await app.browser.$$(`${byTestId("schedule-time")} input`)).length, 0, "no free-text time field");
    await $("schedule-kind").selectByAttribute("value", "cron");
    await typeInto(app, "schedule-cron", "61 * * * *");
    await $("schedule-save").click();
    await $("schedule-save-error").waitForDisplayed({ timeout: 10_000 });
    assert.equal(await $("schedule-save-error").getAttribute("data-code"), "invalid_input");
    assert.equal((await app.browser.$$(byTestId("schedule-preview-run"))).length, 0);
    await app.screenshot("01-invalid-time");

    await $("schedule-kind").selectByAttribute("value", "daily");
    await pickTime("03:15");
    await $("schedule-preview-unsaved").waitForDisplayed();
    assert.equal((await app.browser.$$(byTestId("schedule-preview-run"))).length, 0);
    await $("schedule-save").click();
    await $("schedule-saved").waitForDisplayed({ timeout: 10_000 });
    await until(app.browser, "preview of the saved schedule", async () => (await app.browser.$$(byTestId("schedule-preview-run")).length) === 5);
    const first = await app.browser.$$(byTestId("schedule-preview-run"))[0].getText();
    // Local time in the app's one format: "2026-11-25 03:15" (the zone is named once per screen).
    assert.match(first, /^\d{4}-\d\d-\d\d 03:15$/);
    await until(app.browser, "saved schedule", async () => (await $("schedule-backup").getAttribute("data-state")) === "on");
    assert.equal(await $("schedule-backup-spec").getText(), "Every day at 03:15");
    assert.equal(await $("schedule-preview-spec").getText(), "Every day at 03:15");
    await app.screenshot("02-saved");
  });

  it("offers to start at login, its two answers on one line even at the window's smallest width", async () => {
    // A fresh desktop: Offsite does not start at login yet, so the first save offers it.
    await $("schedule-autostart-offer").waitForDisplayed({ timeout: 10_000 });
    const size = await app.browser.getWindowSize();
    try {
      // The default size, then tauri.conf.json's minWidth × minHeight.
      for (const [w, h] of [[size.width, size.height], [800, 560]]) {
        await app.browser.setWindowSize(w, h);
        await until(app.browser, `a ${w} px window`, async () => (await app.browser.execute(() => window.innerWidth)) === w);
        await $("schedule-autostart-offer").scrollIntoView();
        const on = await $("schedule-autostart-on").getLocation();
        const later = await $("schedule-autostart-later").getLocation();
        assert.equal(later.y, on.y, `at ${w} px: "Not now" beside "Start at login"`);
        assert.ok(later.x > on.x, `at ${w} px: "Not now" after "Start at login"`);
      }
      await app.screenshot("02-autostart-offer-narrow");
    } finally {
      await app.browser.setWindowSize(size.width, size.height);
    }
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

  it("after every save the preview is the saved schedule; an unsaved edit leaves it as it was", async () => {
    await $("back-home").click();
    await $("project-list").waitForDisplayed();
    await $("project-open-shop").click();
    await $("project-page").waitForDisplayed({ timeout: 30_000 });
    await openTab(app, "schedules");
    await $("schedule-backup-edit").click();
    const runs = async () => {
      const out = [];
      for (const r of await app.browser.$$(byTestId("schedule-preview-run"))) out.push(await r.getAttribute("title"));
      return out;
    };
    await until(app.browser, "the saved preview", async () => (await runs()).length === 5);
    const saved = await runs();

    const edits = [
      { set: async () => pickTime("04:45"), spec: "Every day at 04:45", first: / 04:45$/ },
      {
        set: async () => {
          await $("schedule-kind").selectByAttribute("value", "every");
          await typeInto(app, "schedule-hours", "6");
        },
        spec: "Every 6 hours from midnight",
        first: / (00|06|12|18):00$/,
      },
      {
        set: async () => {
          await $("schedule-kind").selectByAttribute("value", "cron");
          await typeInto(app, "schedule-cron", "*/5 * * * *");
        },
        spec: "Every 5 minutes",
        first: /:\d[05]$/,
      },
    ];
    let before = saved;
    for (const e of edits) {
      const specBefore = await $("schedule-preview-spec").getText();
      await e.set();
      // Edited, not saved: the same runs, and a note.
      await $("schedule-preview-unsaved").waitForDisplayed();
      assert.deepEqual(await runs(), before);
      assert.equal(await $("schedule-preview-spec").getText(), specBefore);
      await $("schedule-save").click();
      await until(app.browser, `the preview of “${e.spec}”`, async () => (await $("schedule-preview-spec").getText()) === e.spec);
      await until(app.browser, "its runs", async () => (await runs()).length === 5);
      assert.match(await app.browser.$$(byTestId("schedule-preview-run"))[0].getText(), e.first);
      assert.equal(await $("schedule-backup-spec").getText(), e.spec);
      assert.equal(await $("schedule-preview-unsaved").isExisting(), false);
      before = await runs();
    }
    // The last one runs every 5 minutes: said, and warned about.
    assert.match(await $("schedule-preview-zone").getText(), /every 5 minutes/i);
    await $("schedule-preview-frequent").waitForDisplayed();
    // Warned once: under the preview of the schedule being edited, not on its row as well.
    assert.equal(await $("schedule-backup-frequent").isExisting(), false);
    await app.screenshot("05-frequent-warning");
  });

  it("a change from elsewhere landing while a field is retyped leaves what the user typed", async () => {
    // The editor still edits the backup schedule (cron); the field is emptied as a user does.
    await $("schedule-kind").selectByAttribute("value", "cron");
    await clearAsUser(app, "schedule-cron");
    // Another process changes the project (a verify schedule): the store refreshes the schedules
    // and the editor re-renders, between the emptying and the keys.
    offsiteCli(() => app.dataDir)("schedule", "set", "shop", "--verify", "--daily", "05:00");
    await until(app.browser, "the verify schedule from the CLI", async () => (await $("schedule-verify").getAttribute("data-state")) === "on");
    assert.equal(await $("schedule-cron").getValue(), "", "the re-render kept the emptied field");
    await $("schedule-cron").addValue("0 4 * * *");
    await $("schedule-save").click();
    await until(app.browser, "the preview of the typed schedule", async () => (await $("schedule-preview-spec").getText()) === "Daily at 04:00");
    assert.equal(await $("schedule-backup-spec").getText(), "Daily at 04:00");
  });

  it("adds a named schedule with its own retention, then removes it after the question", async () => {
    await $("named-schedule-add").scrollIntoView({ block: "center" });
    await $("named-schedule-add").click();
    await $("named-editor").waitForDisplayed({ timeout: 10_000 });
    await typeInto(app, "named-editor-name", "hourly");
    await $("named-editor-type").selectByAttribute("value", "database");
    await $("named-editor-kind").selectByAttribute("value", "every");
    await typeInto(app, "named-editor-hours", "1");
    await $("named-editor-ret-own").click();
    assert.equal(await $("named-editor-presets").getAttribute("data-preset"), "recommended");
    await app.screenshot("06-named-editor");
    await $("named-editor-save").click();
    await $("named-schedules-notice").waitForDisplayed({ timeout: 10_000 });
    await until(app.browser, "the hourly schedule listed", async () => (await app.browser.$$(byTestId("named-schedule"))).length === 1);
    const listed = JSON.parse(offsiteCli(() => app.dataDir)("--json", "schedule", "list", "shop"));
    const hourly = (listed.schedules ?? listed).find((x) => x.name === "hourly");
    assert.equal(hourly.backup_type, "database");
    assert.equal(hourly.retention_from, "schedule");
    await $("named-schedule-remove").click();
    await $("named-schedule-remove-confirm").waitForDisplayed();
    assert.match(await $("named-schedule-remove-confirm").getText(), /not deleted/);
    await app.screenshot("07-named-remove-question");
    await $("named-schedule-remove-yes").click();
    await until(app.browser, "the hourly schedule gone", async () => (await app.browser.$$(byTestId("named-schedule"))).length === 0);
  });

  // Last: after a pointer click on a spin button, WebKitWebDriver ignores element clicks (native
  // buttons too), so nothing may follow it.
  it("a number field's arrows, drawn by the app, still step it", async () => {
    const last = await $("retention-last");
    await last.scrollIntoView({ block: "center" });
    const { width } = await last.getSize();
    // The arrows sit at the field's right edge: the upper half steps up, the lower half down.
    const upper = { x: Math.floor(width / 2) - 16, y: -4 };
    const lower = { x: Math.floor(width / 2) - 16, y: 4 };
    await last.click(upper);
    await last.click(upper);
    assert.equal(await last.getValue(), "2", "two clicks on the upper arrow step up twice");
    await last.click(lower);
    assert.equal(await last.getValue(), "1", "the lower arrow steps down");
  });
});
