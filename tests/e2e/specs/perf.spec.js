// Performance of the real app with a project of 10,000 backups. Prints numbers (recordMetric →
// artifacts/e2e/metrics.json); asserts only correctness (the count says 10000, the list is
// windowed). Not part of the default run (run.sh runs specs/*.test.js): run it on its own, with
// the release build and the catalog seeder:
//
//   nice -n 19 cargo build --release -p offsite-desktop --features tauri/custom-protocol
//   nice -n 19 cargo build --release -p offsite-bench --bin offsite-seed-catalog
//   OFFSITE_E2E_APP=$CARGO_TARGET_DIR/release/offsite-desktop bash tests/e2e/run.sh specs/perf.spec.js
//
// (tests/perf/render.sh does these three steps.)
//
// Every time is measured inside the page with performance.now(): the click is a DOM click() in the
// same script that starts the stopwatch, and a MutationObserver stops it, so WebDriver round trips
// are not counted. "next frame" is a double requestAnimationFrame after the rows appeared: the
// frame that paints them has been produced.
//
// Environment: OFFSITE_PERF_BACKUPS (default 10000), OFFSITE_PERF_OPENS (default 5),
// OFFSITE_PERF_MANIFEST_TABLES (default 0: rows without a stored manifest; e.g. 40 for manifests
// like a Supabase project's),
// OFFSITE_PERF_SEED_BIN (default: offsite-seed-catalog next to the app binary).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { byTestId, firstVisibleAt, launchApp, recordMetric } from "../lib/app.js";

const env = process.env;
const N = Number(env.OFFSITE_PERF_BACKUPS ?? 10_000);
const OPENS = Number(env.OFFSITE_PERF_OPENS ?? 5);
// Tables per stored manifest (real backups store one; 0 = none, the list's own cost only).
const MANIFEST_TABLES = Number(env.OFFSITE_PERF_MANIFEST_TABLES ?? 0);
const PROJECT = "perf10k";

function seedBin() {
  const bin = env.OFFSITE_PERF_SEED_BIN ?? path.join(path.dirname(env.OFFSITE_E2E_APP ?? "."), "offsite-seed-catalog");
  if (!fs.existsSync(bin)) {
    throw new Error(
      `${bin} missing: cargo build --release -p offsite-bench --bin offsite-seed-catalog ` +
        "(into the same target folder as the app), or set OFFSITE_PERF_SEED_BIN",
    );
  }
  return bin;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r1 = (x) => Math.round(x * 10) / 10;

// ---- page-side scripts (serialised by WebdriverIO; they run in the webview) --------------------

/** Clicks the project's card and resolves once the backups list shows rows and the full count. */
function openProjectInPage(project, expected) {
  return new Promise((resolve, reject) => {
    const button = document.querySelector(`[data-testid="project-open-${project}"]`);
    if (!button) return reject(new Error(`no project-open-${project} button`));
    const marks = {};
    let obs;
    const timer = setTimeout(() => {
      obs?.disconnect();
      reject(new Error(`rows did not appear within 30 s: ${JSON.stringify(marks)}`));
    }, 30_000);
    const t0 = performance.now();
    const check = () => {
      if (marks.page === undefined && document.querySelector('[data-testid="project-page"]')) {
        marks.page = performance.now() - t0;
      }
      const rows = document.querySelectorAll('[data-testid="backups-row"]');
      const count = document.querySelector('[data-testid="backup-count"]')?.textContent;
      if (rows.length === 0 || count !== String(expected)) return;
      marks.rows = performance.now() - t0;
      obs.disconnect();
      clearTimeout(timer);
      requestAnimationFrame(() =>
        requestAnimationFrame(() => {
          marks.frame = performance.now() - t0;
          marks.rowCount = document.querySelectorAll('[data-testid="backups-row"]').length;
          marks.count = document.querySelector('[data-testid="backup-count"]')?.textContent;
          resolve(marks);
        }),
      );
    };
    obs = new MutationObserver(check);
    obs.observe(document.body, { childList: true, subtree: true, characterData: true });
    button.click();
  });
}

/** Back to the projects screen; resolves once the project's card is there again. */
function backHomeInPage(project) {
  return new Promise((resolve, reject) => {
    const back = document.querySelector('[data-testid="back-home"]');
    if (!back) return reject(new Error("no back-home button"));
    const sel = `[data-testid="project-open-${project}"]`;
    const timer = setTimeout(() => reject(new Error("home did not come back within 30 s")), 30_000);
    const obs = new MutationObserver(() => {
      if (!document.querySelector(sel)) return;
      obs.disconnect();
      clearTimeout(timer);
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(true)));
    });
    obs.observe(document.body, { childList: true, subtree: true });
    back.click();
  });
}

/** Jumps the list's viewport to the end; resolves when the last row is in the DOM. */
function scrollToEndInPage(expected) {
  return new Promise((resolve, reject) => {
    const viewport = document.querySelector('[data-testid="backups-viewport"]');
    if (!viewport) return reject(new Error("no backups-viewport"));
    const last = `[data-testid="backups-row"][data-index="${expected - 1}"]`;
    const timer = setTimeout(() => reject(new Error("the last row did not appear within 30 s")), 30_000);
    let obs;
    const t0 = performance.now();
    const done = () => {
      const t = performance.now() - t0;
      obs?.disconnect();
      clearTimeout(timer);
      requestAnimationFrame(() =>
        requestAnimationFrame(() => {
          const rows = [...document.querySelectorAll('[data-testid="backups-row"]')];
          resolve({
            lastRow: t,
            frame: performance.now() - t0,
            rowCount: rows.length,
            lastText: document.querySelector(last)?.querySelector('[data-testid="backup-path"]')?.textContent ?? null,
          });
        }),
      );
    };
    obs = new MutationObserver(() => {
      if (document.querySelector(last)) done();
    });
    obs.observe(viewport, { childList: true, subtree: true });
    viewport.scrollTop = viewport.scrollHeight;
  });
}

/** Back to the top, then scrolls to the end in `steps` equal steps, one per animation frame; reports frame intervals. */
function scrollThroughInPage(expected, steps) {
  return new Promise((resolve, reject) => {
    const viewport = document.querySelector('[data-testid="backups-viewport"]');
    if (!viewport) return reject(new Error("no backups-viewport"));
    viewport.scrollTop = 0;
    const last = `[data-testid="backups-row"][data-index="${expected - 1}"]`;
    const stepPx = (viewport.scrollHeight - viewport.clientHeight) / steps;
    const intervals = [];
    let maxRows = 0;
    let prev;
    let i = 0;
    const t0 = performance.now();
    const frame = (now) => {
      if (prev !== undefined) intervals.push(now - prev);
      prev = now;
      maxRows = Math.max(maxRows, document.querySelectorAll('[data-testid="backups-row"]').length);
      if (i < steps) {
        i += 1;
        viewport.scrollTop = Math.round(stepPx * i);
        requestAnimationFrame(frame);
      } else if (!document.querySelector(last) && performance.now() - t0 < 30_000) {
        requestAnimationFrame(frame); // the last scroll's rows come one frame later
      } else {
        resolve({ total: performance.now() - t0, intervals, maxRows, lastShown: Boolean(document.querySelector(last)) });
      }
    };
    requestAnimationFrame(() => requestAnimationFrame(frame));
  });
}

/** The IPC call alone (no rendering): list_backups over Tauri's invoke, timed in the page. */
function listBackupsIpcInPage(project) {
  const t0 = performance.now();
  return window.__TAURI_INTERNALS__.invoke("list_backups", { project }).then((r) => ({
    ms: performance.now() - t0,
    n: Array.isArray(r) ? r.length : (r?.data?.length ?? -1),
    bytes: JSON.stringify(r).length,
  }));
}

describe(`performance: a project with ${N} backups`, () => {
  let app;
  let seeded;
  let cold;

  before(async () => {
    const root = fs.mkdtempSync(path.join(env.OFFSITE_E2E_TMP, "perf-seed-"));
    const dataDir = path.join(root, "offsite-data");
    seeded = JSON.parse(
      execFileSync(seedBin(), [dataDir, "--project", PROJECT, "--backups", String(N), "--manifest-tables", String(MANIFEST_TABLES)], { encoding: "utf8" }),
    );
    console.log(
      `seeded ${seeded.backups} backups (manifests with ${seeded.manifest_tables} tables) in ${seeded.seconds} s into ${dataDir}`,
    );
    app = await launchApp({ name: "perf", dataDir });
    const first = await firstVisibleAt(app.browser, byTestId("app"));
    const card = await firstVisibleAt(app.browser, byTestId(`project-open-${PROJECT}`));
    cold = { first: first - app.timings.appStartedAt, card: card - app.timings.appStartedAt };
  });

  after(async () => app?.close());

  it("cold start: launch → first element, → the project's card (10,000 backups in the catalog)", () => {
    assert.ok(app.timings.appStartedAt, "the app process was found");
    recordMetric("perf_cold_start_first_element_ms", Math.round(cold.first));
    recordMetric("perf_cold_start_project_card_ms", Math.round(cold.card));
    assert.ok(cold.card >= cold.first && cold.first > 0);
  });

  it("list_backups over IPC alone (no rendering)", async () => {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await app.browser.execute(listBackupsIpcInPage, PROJECT));
    for (const r of runs) assert.equal(r.n, N);
    console.log(`list_backups IPC: ${runs.map((r) => `${r1(r.ms)} ms`).join(", ")} (${runs[0].bytes} bytes of JSON)`);
    recordMetric("perf_ipc_list_backups_first_ms", r1(runs[0].ms));
    recordMetric("perf_ipc_list_backups_median_ms", r1(median(runs.map((r) => r.ms))));
  });

  it(`open the project: click on its card → backups rows shown (${OPENS} times)`, async () => {
    const runs = [];
    for (let i = 0; i < OPENS; i++) {
      const m = await app.browser.execute(openProjectInPage, PROJECT, N);
      assert.equal(m.count, String(N), "the count shows every backup");
      assert.ok(m.rowCount > 0 && m.rowCount < 100, `the list is windowed: ${m.rowCount} rows in the DOM`);
      runs.push(m);
      if (i === 0) await app.screenshot("project-10k");
      if (i < OPENS - 1) await app.browser.execute(backHomeInPage, PROJECT);
    }
    console.log("open project (ms from click): page shown / rows shown / next frame");
    runs.forEach((m, i) => console.log(`  #${i + 1}: ${r1(m.page)} / ${r1(m.rows)} / ${r1(m.frame)}  (${m.rowCount} rows in the DOM)`));
    recordMetric("perf_open_project_rows_first_ms", r1(runs[0].rows));
    recordMetric("perf_open_project_frame_first_ms", r1(runs[0].frame));
    recordMetric("perf_open_project_rows_median_ms", r1(median(runs.map((m) => m.rows))));
    recordMetric("perf_open_project_frame_median_ms", r1(median(runs.map((m) => m.frame))));
    recordMetric("perf_open_project_dom_rows", runs[0].rowCount, "rows");
  });

  it("scroll to the end: last row shown", async () => {
    const runs = [];
    for (let i = 0; i < 3; i++) {
      // Back to the top first (and let that render) so every jump is a full one.
      await app.browser.execute(() => {
        document.querySelector('[data-testid="backups-viewport"]').scrollTop = 0;
        return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))));
      });
      const m = await app.browser.execute(scrollToEndInPage, N);
      assert.ok(m.rowCount > 0 && m.rowCount < 100, `the list is windowed: ${m.rowCount} rows`);
      assert.match(m.lastText ?? "", /perf10k-09999\.offsite\.tar\.gz$/);
      runs.push(m);
    }
    console.log(`scroll to end (ms): last row in DOM / next frame: ${runs.map((m) => `${r1(m.lastRow)} / ${r1(m.frame)}`).join(", ")}`);
    recordMetric("perf_scroll_to_end_last_row_median_ms", r1(median(runs.map((m) => m.lastRow))));
    recordMetric("perf_scroll_to_end_frame_median_ms", r1(median(runs.map((m) => m.frame))));
  });

  it("scroll through the whole list in 200 steps, one per frame", async () => {
    const m = await app.browser.execute(scrollThroughInPage, N, 200);
    assert.ok(m.lastShown, "the last row was shown");
    assert.ok(m.maxRows < 100, `the list stays windowed: at most ${m.maxRows} rows`);
    const sorted = [...m.intervals].sort((a, b) => a - b);
    const p95 = sorted[Math.floor(sorted.length * 0.95)];
    console.log(
      `scroll through: ${r1(m.total)} ms for ${m.intervals.length} frames; frame interval median ${r1(median(m.intervals))} ms, ` +
        `p95 ${r1(p95)} ms, max ${r1(sorted[sorted.length - 1])} ms`,
    );
    recordMetric("perf_scroll_through_frame_median_ms", r1(median(m.intervals)));
    recordMetric("perf_scroll_through_frame_p95_ms", r1(p95));
    recordMetric("perf_scroll_through_frame_max_ms", r1(sorted[sorted.length - 1]));
  });
});
