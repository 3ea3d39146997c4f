// Steps and helpers the specs share: the throwaway PostgreSQL server (from run.sh), polling, and
// adding a project through the form as a user does.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Key } from "webdriverio";
import { byTestId, diagnose, freePort, isStale } from "./app.js";

/** The throwaway cluster run.sh started for specs marked `// e2e: needs postgres`. */
export const pg = {
  host: process.env.OFFSITE_E2E_PG_HOST,
  port: process.env.OFFSITE_E2E_PG_PORT,
  user: process.env.OFFSITE_E2E_PG_USER,
  password: process.env.OFFSITE_E2E_PG_PASSWORD,
  bin: process.env.OFFSITE_E2E_PG_BIN,
};

export function requirePg() {
  for (const [k, v] of Object.entries(pg)) assert.ok(v, `OFFSITE_E2E_PG_${k.toUpperCase()} is set (run.sh)`);
}

/** Runs SQL in `database` as the superuser; returns psql's unaligned output. */
export function psql(database, sql) {
  return execFileSync(
    path.join(pg.bin, "psql"),
    ["-h", pg.host, "-p", pg.port, "-U", pg.user, "-d", database, "-v", "ON_ERROR_STOP=1", "-q", "-At", "-c", sql],
    { env: { ...process.env, PGPASSWORD: pg.password }, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" },
  ).trim();
}

/** Where .ci/setup.sh installs moto's S3 server. */
const MOTO = "/opt/offsite/moto-venv/bin/moto_server";
const S3_SCRIPT = `
import sys, boto3
endpoint, op, path = sys.argv[1:4]
bucket, _, key = path.partition("/")
c = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="AKIDE2E", aws_secret_access_key="e2e-secret-value")
if op == "put":
    c.put_object(Bucket=bucket, Key=key, Body=sys.stdin.buffer.read())
else:
    try:
        sys.stdout.write(c.get_object(Bucket=bucket, Key=key)["Body"].read().decode())
    except c.exceptions.NoSuchKey:
        sys.exit(3)
`;

/**
 * A real S3-compatible server (moto) on a free loopback port, up when this returns:
 * `{ endpoint, put(path, body), stop() }` (`put("bucket")` makes a bucket, `put("bucket/key", body)`
 * an object; moto accepts any keys). Call `stop()` in `after`.
 */
export async function startMoto() {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(MOTO, ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore", detached: true });
  const stop = () => {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  };
  for (let i = 0; ; i++) {
    const up = await fetch(`${endpoint}/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (i > 150) {
      stop();
      assert.fail(`moto did not start on ${endpoint}`);
    }
    await sleep(100);
  }
  const put = async (p, body) => {
    const r = await fetch(`${endpoint}/${p}`, { method: "PUT", body });
    assert.ok(r.ok, `PUT ${p}: ${r.status}`);
  };
  // Once the app has used the server with keys, moto answers unsigned requests with 403: these
  // two sign theirs (boto3, from moto's own virtualenv), as a user's S3 client would.
  const signed = (op, p, body) => {
    const r = spawnSync(path.join(path.dirname(MOTO), "python"), ["-c", S3_SCRIPT, endpoint, op, p], {
      input: body ?? "",
      encoding: "utf8",
    });
    if (op === "get" && r.status === 3) return null;
    assert.equal(r.status, 0, `${op} ${p}: ${r.stderr}`);
    return r.stdout;
  };
  /** Writes the object, signed. */
  const putSigned = async (p, body) => void signed("put", p, body);
  /** The object's body, or null when there is none. */
  const get = async (p) => signed("get", p);
  return { endpoint, put, putSigned, get, stop };
}

/** `pg_dump -Fc` of `database` into `file`, as a user's own dump would be made. */
export function pgDumpCustom(database, file) {
  execFileSync(
    path.join(pg.bin, "pg_dump"),
    ["-h", pg.host, "-p", pg.port, "-U", pg.user, "-Fc", "-f", file, database],
    { env: { ...process.env, PGPASSWORD: pg.password }, stdio: ["ignore", "ignore", "inherit"] },
  );
}

/**
 * The `offsite` command line run.sh built (OFFSITE_E2E_CLI), on the data folder `dataDir()` names
 * (the app's), as a user would run it in a terminal: `offsite(...args)` returns stdout.
 */
export function offsiteCli(dataDir) {
  const cli = process.env.OFFSITE_E2E_CLI;
  assert.ok(cli, "OFFSITE_E2E_CLI is set (run.sh builds the offsite binary)");
  return (...args) =>
    execFileSync(cli, ["--data-dir", dataDir(), ...args], {
      env: { ...process.env, OFFSITE_PG_BIN: pg.bin },
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
    });
}

/** Polls `check` every `intervalMs` until it returns a truthy value; returns it. */
export async function until(browser, label, check, { timeoutMs = 120_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value;
    try {
      value = await check();
    } catch (err) {
      // The DOM changed under the check (that is what is being waited for): ask again.
      if (!isStale(err)) throw err;
    }
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${label}: not within ${timeoutMs} ms${await diagnose(browser, label)}`);
    await sleep(intervalMs);
  }
}

/**
 * Empties the text field `id` as a user does: click it, select all (Ctrl+A), Backspace.
 *
 * Not `clearValue` (nor `setValue`, which starts with it) on a field that holds text: WebDriver's
 * clear empties the field without the app seeing it (React still holds the old text), so a
 * re-render before the first typed key (the store refreshing the screen on a catalog change, up to
 * half a second after a save) puts the old text back and the keys are typed after it. That is how
 * schedule.test.js once saved the default cron expression "30 2 * * *" with the typed one appended.
 * Every step here is a key the app sees, so its state never differs from the field's.
 */
export async function clearAsUser(app, id) {
  const el = app.browser.$(byTestId(id));
  await el.click();
  await app.browser.keys([Key.Ctrl, "a"]);
  await app.browser.keys([Key.Backspace]);
  assert.equal(await el.getValue(), "", `the field ${id} is empty`);
}

/** Replaces what the text field `id` holds with `text` as a user does (`clearAsUser`, then the keys). */
export async function typeInto(app, id, text) {
  await clearAsUser(app, id);
  const el = app.browser.$(byTestId(id));
  if (String(text) !== "") await el.addValue(String(text));
  assert.equal(await el.getValue(), String(text), `the field ${id} holds what was typed`);
}

/**
 * Fills the add-project form with the throwaway server's fields (`password` as given) and clicks
 * Test connection; returns "report" or "error" (what the form showed).
 */
export async function fillProjectForm(app, { name, database = "postgres", password = pg.password }) {
  const $ = (id) => app.browser.$(byTestId(id));
  await $("add-project-form").waitForDisplayed();
  await typeInto(app, "field-name", name);
  await $("mode-fields").click();
  await typeInto(app, "field-host", pg.host);
  await typeInto(app, "field-port", pg.port);
  await typeInto(app, "field-user", pg.user);
  await typeInto(app, "field-database", database);
  await $("field-tls").selectByAttribute("value", "disable");
  await typeInto(app, "field-password", password);
  await $("test-connection").click();
  return until(app.browser, "test connection", async () =>
    (await $("test-report").isExisting()) ? "report" : (await $("test-error").isExisting()) ? "error" : null,
  );
}

/**
 * Opens a tab of the project page (`backups`, `sources`, `schedules`, `activity`) and waits for
 * its content.
 */
export async function openTab(app, tab) {
  // Clicked again when its content does not show: a click that lands while the project page is
  // still rendering (just opened from an import) was lost once in a full run.
  const content = app.browser.$(`[data-testid="tab-${tab}"]`);
  for (let attempt = 1; ; attempt++) {
    await app.browser.$(`[data-testid="project-tab-${tab}"]`).click();
    try {
      await content.waitForDisplayed({ timeout: 10_000 });
      return;
    } catch (e) {
      if (attempt === 3) throw e;
    }
  }
}
