// Steps and helpers the specs share: the throwaway PostgreSQL server (from run.sh), polling, and
// adding a project through the form as a user does.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
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

/** Polls `check` every `intervalMs` until it returns a truthy value; returns it. */
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
 * Fills the add-project form with the throwaway server's fields (`password` as given) and clicks
 * Test connection; returns "report" or "error" (what the form showed).
 */
export async function fillProjectForm(app, { name, database = "postgres", password = pg.password }) {
  const $ = (id) => app.browser.$(byTestId(id));
  await $("add-project-form").waitForDisplayed();
  await $("field-name").setValue(name);
  await $("mode-fields").click();
  await $("field-host").setValue(pg.host);
  await $("field-port").clearValue();
  await $("field-port").setValue(pg.port);
  await $("field-user").clearValue();
  await $("field-user").setValue(pg.user);
  await $("field-database").clearValue();
  await $("field-database").setValue(database);
  await $("field-tls").selectByAttribute("value", "disable");
  await $("field-password").setValue(password);
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
  await app.browser.$(`[data-testid="project-tab-${tab}"]`).click();
  await app.browser.$(`[data-testid="tab-${tab}"]`).waitForDisplayed({ timeout: 10_000 });
}
