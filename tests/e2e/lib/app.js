// Launches the real, built Offsite desktop app under WebDriver for one spec file:
//
//   tauri-driver (own process group, free ports) ─spawns→ WebKitWebDriver ─launches→ offsite-desktop
//
// Each launch gets its own data folder (OFFSITE_DATA_DIR) and its own XDG folders, so specs never
// share state and nothing is written into $HOME. tauri-driver passes its environment down to the app
// (the `tauri:options` capability has no env field), which is why every launch starts its own
// tauri-driver: that is how a spec gives the app a different environment.
//
// run.sh provides (see there): OFFSITE_E2E_APP, OFFSITE_E2E_TMP, OFFSITE_E2E_ARTIFACTS,
// OFFSITE_E2E_TAURI_DRIVER, OFFSITE_E2E_NATIVE_DRIVER and DISPLAY. Every process group started here
// is recorded in $OFFSITE_E2E_TMP/pgids/, and run.sh kills what is left even when a spec crashes.

import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { remote } from "webdriverio";

const env = process.env;

function required(name) {
  const value = env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the specs through tests/e2e/run.sh`);
  }
  return value;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; a tiny race is possible but harmless here). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`tauri-driver exited early (${child.exitCode ?? child.signalCode})`);
    }
    const open = await new Promise((resolve) => {
      const sock = net.connect(port, "127.0.0.1");
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`tauri-driver did not listen on port ${port} within ${timeoutMs} ms`);
}

function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

function groupAlive(pgid) {
  return killGroup(pgid, 0);
}

/** Folder-safe name. */
function slug(s) {
  return String(s).replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "app";
}

/**
 * When the app process (found by its unique OFFSITE_DATA_DIR) started, as a Date.now()-style
 * timestamp with 10 ms resolution, from /proc/<pid>/stat's start time against /proc/uptime.
 * Returns { pid, startedAt } or null when not found.
 */
function findAppProcess(dataDir) {
  const needle = `OFFSITE_DATA_DIR=${dataDir}\0`;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = fs.readFileSync(`/proc/${entry}/environ`, "latin1");
      if (!(environ + "\0").includes(needle)) continue;
      const comm = fs.readFileSync(`/proc/${entry}/comm`, "utf8").trim();
      if (comm !== path.basename(required("OFFSITE_E2E_APP")).slice(0, 15)) continue;
      const now = Date.now();
      const uptimeS = parseFloat(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]);
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the last ')' (comm may contain spaces); starttime is field 22 overall.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const startTicks = Number(fields[22 - 3]);
      const clkTck = Number(env.OFFSITE_E2E_CLK_TCK || 100);
      const startedAt = now - (uptimeS - startTicks / clkTck) * 1000;
      return { pid: Number(entry), startedAt };
    } catch {
      // process vanished or not ours to read
    }
  }
  return null;
}

/**
 * Starts the app and returns a handle:
 *   { browser, dataDir, home, timings, screenshot(name), close() }
 *
 * options.name    used for folder and screenshot names (default "app")
 * options.env     extra environment for the app (e.g. OFFSITE_PG_BIN, PGPASSWORD)
 * options.args    command-line arguments for the app
 * options.dataDir use this data folder instead of a fresh empty one
 * options.dark    true: the desktop's dark theme (GTK_THEME=Adwaita:dark; WebKitGTK then reports
 *                 `prefers-color-scheme: dark` and the app's "system" theme is dark)
 */
export async function launchApp(options = {}) {
  const app = required("OFFSITE_E2E_APP");
  const runTmp = required("OFFSITE_E2E_TMP");
  const artifacts = required("OFFSITE_E2E_ARTIFACTS");
  const tauriDriver = required("OFFSITE_E2E_TAURI_DRIVER");
  const nativeDriver = required("OFFSITE_E2E_NATIVE_DRIVER");
  required("DISPLAY");

  const name = slug(options.name ?? "app");
  const root = fs.mkdtempSync(path.join(runTmp, `${name}-`));
  const dataDir = options.dataDir ?? path.join(root, "offsite-data");
  const home = path.join(root, "home");
  const xdg = {
    XDG_DATA_HOME: path.join(root, "xdg-data"),
    XDG_CONFIG_HOME: path.join(root, "xdg-config"),
    XDG_CACHE_HOME: path.join(root, "xdg-cache"),
    XDG_STATE_HOME: path.join(root, "xdg-state"),
    XDG_RUNTIME_DIR: path.join(root, "xdg-runtime"),
  };
  for (const dir of [home, ...Object.values(xdg)]) fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(xdg.XDG_RUNTIME_DIR, 0o700);
  fs.mkdirSync(artifacts, { recursive: true });

  const port = await freePort();
  let nativePort = await freePort();
  while (nativePort === port) nativePort = await freePort();

  const childEnv = {
    ...env,
    HOME: home,
    ...xdg,
    OFFSITE_DATA_DIR: dataDir,
    // Software rendering under Xvfb: no DMA-BUF / GPU paths in WebKitGTK.
    WEBKIT_DISABLE_DMABUF_RENDERER: env.WEBKIT_DISABLE_DMABUF_RENDERER ?? "1",
    LIBGL_ALWAYS_SOFTWARE: env.LIBGL_ALWAYS_SOFTWARE ?? "1",
    NO_AT_BRIDGE: "1",
    ...(options.dark ? { GTK_THEME: "Adwaita:dark" } : {}),
    ...(options.env ?? {}),
  };
  const driverLog = path.join(root, "tauri-driver.log");
  const logFd = fs.openSync(driverLog, "a");
  const driver = spawn(
    tauriDriver,
    ["--port", String(port), "--native-port", String(nativePort), "--native-driver", nativeDriver],
    { env: childEnv, stdio: ["ignore", logFd, logFd], detached: true },
  );
  fs.closeSync(logFd);
  const pgid = driver.pid;
  const pgidDir = path.join(runTmp, "pgids");
  fs.mkdirSync(pgidDir, { recursive: true });
  const pgidFile = path.join(pgidDir, String(pgid));
  fs.writeFileSync(pgidFile, `${name}\n`);

  let browser;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (browser) {
      try {
        await browser.deleteSession(); // closes the app window and process
      } catch {
        // the app may already be gone; the process group is killed below anyway
      }
    }
    killGroup(pgid, "SIGTERM"); // tauri-driver stops WebKitWebDriver on SIGTERM
    for (let i = 0; i < 50 && groupAlive(pgid); i++) await sleep(100);
    if (killGroup(pgid, "SIGKILL")) await sleep(100);
    fs.rmSync(pgidFile, { force: true });
  };

  try {
    await waitForPort(port, driver, 15_000);
    // tauri-driver forwards the session request to WebKitWebDriver, which it starts beside itself:
    // under load that one may not listen yet ("Connection refused" → UND_ERR_SOCKET).
    await waitForPort(nativePort, driver, 15_000);
    const sessionRequestedAt = Date.now();
    browser = await remote({
      hostname: "127.0.0.1",
      port,
      logLevel: env.OFFSITE_E2E_WDIO_LOG ?? "warn",
      connectionRetryCount: 0,
      connectionRetryTimeout: 60_000,
      waitforTimeout: 15_000,
      capabilities: {
        // WebKitWebDriver speaks classic WebDriver only (no BiDi).
        "wdio:enforceWebDriverClassic": true,
        browserName: "wry",
        "tauri:options": { application: app, args: options.args ?? [] },
      },
    });
    const sessionCreatedAt = Date.now();
    retryStaleFinds(browser);
    // The embedded build serves the UI from tauri://localhost; a build without the
    // tauri/custom-protocol feature loads devUrl (http://localhost:5173) instead: wrong binary.
    const url = await browser.getUrl();
    if (/^https?:\/\/localhost:\d+/.test(url)) {
      throw new Error(
        `the app loads ${url}: a dev build, not the embedded one; build it with ` +
          "`cargo build -p offsite-desktop --features tauri/custom-protocol` (run.sh does)",
      );
    }
    const proc = findAppProcess(dataDir);
    const timings = {
      sessionRequestedAt,
      sessionCreatedAt,
      appPid: proc?.pid ?? null,
      appStartedAt: proc?.startedAt ?? null,
    };
    return {
      browser,
      dataDir,
      home,
      root,
      driverLog,
      timings,
      /**
       * Saves a PNG of the window into artifacts/e2e/<launch name>-<shot>.png; returns its path.
       * Then checks that the screen does not look broken (see `looksBroken`): it fails naming the
       * screen and what is wrong (the PNG is saved first, to be looked at).
       */
      async screenshot(shot) {
        const file = path.join(artifacts, `${name}-${slug(shot)}.png`);
        captureWindow(timings.appPid, file);
        const broken = await looksBroken(browser);
        if (broken.length > 0) {
          throw new Error(`the screen ${name}-${slug(shot)} looks broken (${file}):\n${broken.map((b) => `  - ${b}`).join("\n")}`);
        }
        // The same screen in a narrow window (issue 64: "at 1100×720 and at a narrow 800×600"),
        // saved beside it; then the window goes back to its size.
        if (env.OFFSITE_E2E_NARROW !== "0") {
          const narrowFile = path.join(artifacts, `${name}-${slug(shot)}-${NARROW.width}x${NARROW.height}.png`);
          const narrow = await atSize(browser, NARROW, async () => {
            captureWindow(timings.appPid, narrowFile);
            return looksBroken(browser);
          });
          if (narrow.length > 0) {
            const message = `the screen ${name}-${slug(shot)} looks broken at ${NARROW.width}×${NARROW.height} (${narrowFile}):\n${narrow.map((b) => `  - ${b}`).join("\n")}`;
            if (env.OFFSITE_E2E_NARROW === "report") fs.appendFileSync(path.join(artifacts, "narrow-problems.txt"), `${message}\n`);
            else throw new Error(message);
          }
        }
        return file;
      },
      close,
    };
  } catch (err) {
    await close();
    let log = "";
    try {
      log = fs.readFileSync(driverLog, "utf8").split("\n").slice(-30).join("\n");
    } catch {
      // no log
    }
    err.message += `\n--- last lines of ${driverLog} ---\n${log}`;
    throw err;
  }
}

/** The narrow window every screenshot is also checked at (tauri.conf.json allows 800 × 560). */
export const NARROW = { width: 800, height: 600 };

/**
 * Runs `f` with the window resized to `size` (waiting until the page has that width and has
 * been laid out), then puts the window back to the size it had, waiting for that too.
 */
export async function atSize(browser, size, f) {
  const before = await browser.getWindowSize();
  const inner = async (w) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const now = await browser.execute(
        () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(window.innerWidth)))),
      );
      if (w(now)) return;
      if (Date.now() > deadline) throw new Error(`the window did not take its new size (inner width ${now} px)`);
    }
  };
  const innerBefore = await browser.execute(() => window.innerWidth);
  await browser.setWindowSize(size.width, size.height);
  try {
    await inner((now) => now === size.width);
    return await f();
  } finally {
    await browser.setWindowSize(before.width, before.height);
    await inner((now) => now === innerBefore);
  }
}

/**
 * What makes the screen in the window look broken (issue 44's "looks broken" list, extended by
 * issue 64), as sentences; empty when nothing does:
 *   - text cut off: an element that hides or clips its overflow (not an intended scroll container,
 *     not an ellipsis or a line clamp that says it shortened) with a line of text running past its
 *     left or right edge, or past its top or bottom edge (vertical clipping);
 *   - overflow out of a card: something inside a `.panel` or `.card` (not inside a box of its own
 *     that scrolls or clips, not a pop-over) reaching more than 2 px into the card's left or right
 *     padding or past it;
 *   - a button cut by the top edge of the box it scrolls in, scrolled (half a "Done" at the top of
 *     a step that opened scrolled);
 *   - text under a sticky bar: a line of text that a `position: sticky` element (not its own
 *     ancestor) covers in part;
 *   - overlapping text: two lines of text of different elements in the same layer that cover each
 *     other (a column running into the next);
 *   - a primary or red button of a dialog's or the restore wizard's footer outside the window
 *     (below the fold, or off its side).
 * Run before every screenshot (`screenshot` above).
 */
export async function looksBroken(browser) {
  return browser.execute(() => {
    const problems = [];
    const visible = (el) => {
      const r = el.getBoundingClientRect();
      if (r.width < 2 || r.height < 2) return false;
      const s = getComputedStyle(el);
      return s.visibility !== "hidden" && s.display !== "none" && Number(s.opacity) !== 0;
    };
    const name = (el) => {
      const id = el.closest("[data-testid]")?.getAttribute("data-testid");
      const cls = typeof el.className === "string" && el.className.trim() ? `.${el.className.trim().split(/\s+/).join(".")}` : "";
      return `<${el.tagName.toLowerCase()}${cls}>${id ? ` in [data-testid="${id}"]` : ""}`;
    };
    const px = (n) => Math.round(n);
    // Inside a closed <details> (not its summary): not drawn, though WebKit still gives it boxes.
    const folded = (el) => {
      for (let d = el.closest("details:not([open])"); d; d = d.parentElement?.closest("details:not([open])")) {
        const summary = d.querySelector(":scope > summary");
        if (!summary?.contains(el)) return true;
      }
      return false;
    };
    const clamped = (s) => s.textOverflow === "ellipsis" || (s.webkitLineClamp && s.webkitLineClamp !== "none");
    // Text cut off at an element's edge, across (x) or down (y).
    for (const axis of ["x", "y"]) {
      for (const el of document.body.querySelectorAll("*")) {
        if (el instanceof SVGElement || el.matches("input, textarea, select, option, script, style")) continue;
        if (axis === "x" ? el.scrollWidth <= el.clientWidth + 1 : el.scrollHeight <= el.clientHeight + 1) continue;
        const s = getComputedStyle(el);
        const overflow = axis === "x" ? s.overflowX : s.overflowY;
        if (!/(hidden|clip)/.test(overflow) || clamped(s)) continue;
        if (!visible(el) || folded(el)) continue;
        const box = el.getBoundingClientRect();
        const left = box.left + el.clientLeft;
        const right = left + el.clientWidth;
        const top = box.top + el.clientTop;
        const bottom = top + el.clientHeight;
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        let cut = null;
        for (let t = walker.nextNode(); t && !cut; t = walker.nextNode()) {
          if (!t.textContent.trim() || folded(t.parentElement)) continue;
          // Text inside a scroll container or a clipping box below `el` is that box's (judged by
          // itself: an ellipsis there shortens it on purpose).
          let inner = false;
          for (let a = t.parentElement; a && a !== el; a = a.parentElement) {
            const as = getComputedStyle(a);
            const o = axis === "x" ? as.overflowX : as.overflowY;
            if (o !== "visible" || a.matches("input, textarea, select") || as.display === "none" || as.visibility === "hidden" || as.position === "fixed") {
              inner = true;
              break;
            }
          }
          if (inner) continue;
          const range = document.createRange();
          range.selectNodeContents(t);
          for (const r of range.getClientRects()) {
            if (r.width <= 0 || r.height <= 0) continue;
            const out = axis === "x" ? r.right > right + 1 || r.left < left - 1 : r.bottom > bottom + 1 || r.top < top - 1;
            if (out) {
              cut = t.textContent.trim().slice(0, 60);
              break;
            }
          }
        }
        if (cut !== null) {
          problems.push(
            axis === "x"
              ? `text cut off in ${name(el)}: "${cut}" (${el.scrollWidth} px wide in ${el.clientWidth} px, overflow ${overflow})`
              : `text cut off at the top or bottom of ${name(el)}: "${cut}" (${el.scrollHeight} px high in ${el.clientHeight} px, overflow ${overflow})`,
          );
        }
      }
    }

    // Something running out of a card's side.
    for (const card of document.querySelectorAll(".panel, .card")) {
      if (!visible(card) || folded(card)) continue;
      // Its content box: what runs into the padding already touches the border.
      const cb = card.getBoundingClientRect();
      const cs = getComputedStyle(card);
      const c = {
        left: cb.left + parseFloat(cs.borderLeftWidth) + parseFloat(cs.paddingLeft),
        right: cb.right - parseFloat(cs.borderRightWidth) - parseFloat(cs.paddingRight),
      };
      let worst = null;
      for (const el of card.querySelectorAll("*")) {
        if (el instanceof SVGElement && !(el instanceof SVGSVGElement)) continue;
        const r = el.getBoundingClientRect();
        if (r.width < 1 || r.height < 1) continue;
        const over = Math.max(r.right - c.right, c.left - r.left);
        if (over <= 2 || (worst && over <= worst.over) || folded(el)) continue;
        // Inside a box that scrolls or clips within the card, or a pop-over: not the card's.
        let own = true;
        for (let a = el; a && a !== card; a = a.parentElement) {
          const as = getComputedStyle(a);
          if ((a !== el && as.overflowX !== "visible") || as.position === "fixed" || as.position === "absolute" || as.display === "none" || as.visibility === "hidden") {
            own = false;
            break;
          }
        }
        if (own) worst = { el, over };
      }
      if (worst) {
        const text = worst.el.textContent.trim().replace(/\s+/g, " ").slice(0, 40);
        problems.push(`${name(worst.el)}${text ? ` ("${text}")` : ""} runs ${px(worst.over)} px out of the side of its card ${name(card)}`);
      }
    }

    // A button cut by the edge of the box it scrolls in.
    for (const b of document.querySelectorAll("button, .btn")) {
      if (!visible(b) || folded(b)) continue;
      const r = b.getBoundingClientRect();
      for (let a = b.parentElement; a && a !== document.body && a !== document.documentElement; a = a.parentElement) {
        const as = getComputedStyle(a);
        if (!/(auto|scroll)/.test(as.overflowY)) continue;
        const box = a.getBoundingClientRect();
        const top = box.top + a.clientTop;
        // Cut by the top edge: the box opened scrolled (its bottom edge cutting what follows is
        // how a box that scrolls shows there is more).
        if (a.scrollTop > 0 && r.top < top - 1 && r.bottom > top + 1) {
          problems.push(`the button "${b.textContent.trim().slice(0, 40)}" (${name(b)}) is cut by the top edge of the box it scrolls in (${name(a)}, scrolled ${px(a.scrollTop)} px)`);
        }
        break;
      }
    }

    // Every visible line of text, clipped to the boxes it scrolls or is clipped in; its layer is
    // its nearest fixed, absolute or sticky ancestor (texts of different layers may cover each
    // other on purpose: a dialog over the page, a pop-over).
    const lines = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      if (!t.textContent.trim()) continue;
      const parent = t.parentElement;
      if (!parent || parent.closest("script, style, option, select, textarea, svg") || folded(parent)) continue;
      let clip = { left: -Infinity, top: -Infinity, right: Infinity, bottom: Infinity };
      let layer = document.body;
      let hidden = false;
      for (let a = parent; a && a !== document.documentElement; a = a.parentElement) {
        const as = getComputedStyle(a);
        if (as.display === "none" || as.visibility === "hidden" || Number(as.opacity) === 0) {
          hidden = true;
          break;
        }
        if (as.overflowX !== "visible" || as.overflowY !== "visible") {
          const b = a.getBoundingClientRect();
          clip = {
            left: Math.max(clip.left, b.left + a.clientLeft),
            top: Math.max(clip.top, b.top + a.clientTop),
            right: Math.min(clip.right, b.left + a.clientLeft + a.clientWidth),
            bottom: Math.min(clip.bottom, b.top + a.clientTop + a.clientHeight),
          };
        }
        if (layer === document.body && /^(fixed|absolute|sticky)$/.test(as.position)) layer = a;
      }
      if (hidden) continue;
      const range = document.createRange();
      range.selectNodeContents(t);
      for (const r of range.getClientRects()) {
        const box = {
          left: Math.max(r.left, clip.left),
          top: Math.max(r.top, clip.top),
          right: Math.min(r.right, clip.right),
          bottom: Math.min(r.bottom, clip.bottom),
        };
        if (box.right - box.left < 1 || box.bottom - box.top < 1) continue;
        lines.push({ node: t, el: parent, layer, box, whole: r, text: t.textContent.trim().slice(0, 40) });
      }
    }

    // Text under a sticky bar (only part of the line: a line wholly under it is scrolled past).
    // A bar stuck to the bottom (or top) edge of a box that can still scroll down (or up) covers
    // what scrolling brings out from under it, as any edge does; text it covers when the box
    // cannot scroll further is never readable (help text under a dialog's sticky footer).
    const scroller = (el) => {
      for (let a = el.parentElement; a; a = a.parentElement) {
        if (/(auto|scroll)/.test(getComputedStyle(a).overflowY) && a.scrollHeight > a.clientHeight + 1) return a;
      }
      return document.scrollingElement ?? document.documentElement;
    };
    for (const bar of document.querySelectorAll("*")) {
      if (bar instanceof SVGElement) continue;
      const bs = getComputedStyle(bar);
      if (bs.position !== "sticky" || !visible(bar) || folded(bar)) continue;
      const box = scroller(bar);
      const stuckBottom = bs.bottom !== "auto" && bs.top === "auto";
      const more = stuckBottom ? box.scrollTop + box.clientHeight < box.scrollHeight - 1 : box.scrollTop > 0;
      if (more) continue;
      const b = bar.getBoundingClientRect();
      for (const l of lines) {
        // The bar's own text, and text of a layer above the bar's page (a dialog over it).
        if (bar.contains(l.node) || (l.layer !== document.body && !l.layer.contains(bar))) continue;
        const r = l.box;
        if (r.right <= b.left + 1 || r.left >= b.right - 1) continue;
        const covered = Math.min(r.bottom, b.bottom) - Math.max(r.top, b.top);
        if (covered > 1 && covered < r.bottom - r.top - 1) {
          problems.push(`the line "${l.text}" (${name(l.el)}) runs under the sticky ${name(bar)}: ${px(covered)} of its ${px(r.bottom - r.top)} px are covered`);
          break;
        }
      }
    }

    // Lines of text of different elements covering each other, in the same layer.
    const overlaps = new Set();
    lines.sort((a, b) => a.box.top - b.box.top);
    for (let i = 0; i < lines.length; i++) {
      const a = lines[i];
      for (let j = i + 1; j < lines.length && lines[j].box.top < a.box.bottom; j++) {
        const b = lines[j];
        if (a.node === b.node || a.layer !== b.layer) continue;
        const w = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left);
        const h = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
        // More than a sliver: a quarter of the lower line's height, and 3 px across.
        if (w <= 3 || h <= Math.min(a.box.bottom - a.box.top, b.box.bottom - b.box.top) / 4) continue;
        const key = `${a.text}|${b.text}`;
        if (overlaps.has(key)) continue;
        overlaps.add(key);
        problems.push(`the text "${a.text}" (${name(a.el)}) and "${b.text}" (${name(b.el)}) overlap (${px(w)}×${px(h)} px)`);
      }
    }

    // The buttons that finish a dialog or the wizard, in the window.
    const footers = ".scroll-panel-footer, .wizard-actions";
    for (const b of document.querySelectorAll(`:is(${footers}) :is(.btn-primary, .btn-danger)`)) {
      if (!visible(b)) continue;
      const r = b.getBoundingClientRect();
      if (r.top < -1 || r.left < -1 || r.bottom > window.innerHeight + 1 || r.right > window.innerWidth + 1) {
        problems.push(
          `the button "${b.textContent.trim()}" (${name(b)}) is outside the window: ` +
            `${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)} in ${window.innerWidth}×${window.innerHeight}`,
        );
      }
    }
    return problems;
  });
}

/** Whether `err` is WebDriver's "stale element reference" error. */
export function isStale(err) {
  return err?.name === "stale element reference" || /stale element/i.test(String(err?.message));
}

/**
 * WebKitWebDriver may answer a find with "stale element reference" when React replaces the matching
 * node while the find runs ("Stale element found when trying to create the node handle"): the find
 * itself, not a kept element, is stale. WebdriverIO refetches stale elements for element commands,
 * but not a find that fails this way, so the finds are asked again (up to 20 times, 50 ms apart).
 * specs/harness.test.js checks it.
 */
function retryStaleFinds(browser) {
  const retrying = async function (original, ...args) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await original(...args);
      } catch (err) {
        if (!isStale(err) || attempt >= 20) throw err;
        staleFindRetries += 1;
        await sleep(50);
      }
    }
  };
  // Only finds from the document: a find inside a kept element that went stale is stale for good.
  for (const name of ["findElement", "findElements"]) browser.overwriteCommand(name, retrying);
}

/** How many finds were asked again after a stale answer (reported by tests of this helper). */
export let staleFindRetries = 0;

/**
 * Waits until the element is displayed and returns the Date.now() at which it was first seen,
 * polling every `intervalMs` (a cold-start stopwatch; waitForDisplayed polls every 100 ms).
 */
export async function firstVisibleAt(browser, selector, { timeoutMs = 30_000, intervalMs = 10 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const el = await browser.$(selector);
    if ((await el.isExisting()) && (await el.isDisplayed())) return Date.now();
    if (Date.now() > deadline) {
      throw new Error(`${selector} not visible within ${timeoutMs} ms${await diagnose(browser, "not-visible")}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * The X window id of the app's top-level window: the one whose _NET_WM_PID is the app's pid (GTK
 * sets it), else the first window titled like the app (productName in tauri.conf.json).
 */
function appWindowId(pid, title = "Offsite") {
  const tree = execFileSync("xwininfo", ["-root", "-tree"], { encoding: "utf8" });
  const ids = [...tree.matchAll(/^\s+(0x[0-9a-f]+) "([^"]*)"/gm)].map((m) => ({ id: m[1], title: m[2] }));
  // GTK gives the app several X windows with its pid (some never mapped): take the largest
  // viewable one, which is the main window.
  const viewable = [];
  for (const w of ids) {
    try {
      const prop = execFileSync("xprop", ["-id", w.id, "_NET_WM_PID"], { encoding: "utf8" });
      if (!(pid && new RegExp(`= ${pid}\\b`).test(prop))) continue;
      const info = execFileSync("xwininfo", ["-id", w.id], { encoding: "utf8" });
      if (!/Map State:\s+IsViewable/.test(info)) continue;
      const width = Number(/Width:\s+(\d+)/.exec(info)?.[1] ?? 0);
      const height = Number(/Height:\s+(\d+)/.exec(info)?.[1] ?? 0);
      viewable.push({ id: w.id, area: width * height });
    } catch {
      // window gone
    }
  }
  viewable.sort((a, b) => b.area - a.area);
  if (viewable.length > 0) return viewable[0].id;
  const byTitle = ids.find((w) => w.title === title);
  if (byTitle) return byTitle.id;
  throw new Error(`no X window of the app (pid ${pid}) on ${env.DISPLAY}:\n${tree}`);
}

/**
 * Captures the app's window from the X server into a PNG (ImageMagick `import`). WebDriver's own
 * screenshot command hangs with WebKitWebDriver under Xvfb (WebKitGTK 2.4x: the request never
 * returns and wedges the session), so screenshots are taken at the X level: the same pixels.
 */
export function captureWindow(pid, file) {
  let last;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const id = appWindowId(pid);
      execFileSync("import", ["-display", env.DISPLAY, "-window", id, file], { stdio: ["ignore", "ignore", "pipe"] });
      return file;
    } catch (e) {
      last = e; // the window may be between map states: try again shortly
      execFileSync("sleep", ["0.2"]);
    }
  }
  // The whole screen still shows what the user sees (the app is the only window under Xvfb).
  try {
    execFileSync("import", ["-display", env.DISPLAY, "-window", "root", file], { stdio: ["ignore", "ignore", "pipe"] });
    return file;
  } catch {
    throw last;
  }
}

/**
 * Saves a screenshot and the page source into artifacts/e2e/failure-<label>-*.{png,html}; returns
 * a text (URL, where the files are) to append to an error message. Never throws.
 */
export async function diagnose(browser, label) {
  const dir = env.OFFSITE_E2E_ARTIFACTS;
  if (!dir) return "";
  const base = path.join(dir, `failure-${slug(label)}-${Date.now()}`);
  const lines = [];
  try {
    lines.push(`url: ${await browser.getUrl()}`);
  } catch (e) {
    lines.push(`url: unavailable (${e.message.split("\n")[0]})`);
  }
  try {
    captureWindow(null, `${base}.png`);
    lines.push(`screenshot: ${base}.png`);
  } catch (e) {
    lines.push(`screenshot failed: ${e.message.split("\n")[0]}`);
  }
  try {
    fs.writeFileSync(`${base}.html`, await browser.getPageSource());
    lines.push(`page source: ${base}.html`);
  } catch (e) {
    lines.push(`page source failed: ${e.message.split("\n")[0]}`);
  }
  // What the screen says, in the error itself: CI keeps the test's output, not always its files.
  try {
    const text = await browser.execute(() => document.body.innerText);
    lines.push(`screen text: ${String(text).replace(/\s+/g, " ").slice(0, 1500)}`);
  } catch (e) {
    lines.push(`screen text unavailable: ${e.message.split("\n")[0]}`);
  }
  return `\n${lines.join("\n")}`;
}

/** `[data-testid="id"]`: the way specs select elements. */
export const byTestId = (id) => `[data-testid="${id}"]`;

/** Records a named number into artifacts/e2e/metrics.json (merged across specs) and prints it. */
export function recordMetric(key, value, unit = "ms") {
  // one of several runs at once (run.sh's OFFSITE_E2E_SHARDS): a file per run, merged at the end
  const file = process.env.OFFSITE_E2E_METRICS || path.join(required("OFFSITE_E2E_ARTIFACTS"), "metrics.json");
  let all = {};
  try {
    all = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    // first metric of the run
  }
  all[key] = { value, unit };
  fs.writeFileSync(file, JSON.stringify(all, null, 2) + "\n");
  console.log(`e2e metric: ${key} = ${value} ${unit}`);
}
