// The store against mocked commands: what a batch of catalog changes fetches, and how often.
import { mockIPC } from "@tauri-apps/api/mocks";
import { waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { BackupRow, JobRecord, ProjectSummary } from "../bindings";
import { backup, summary } from "../screens/fixtures";
import type { Change, ChangeBatch, ChangeSource } from "./changes";
import { AppStore, keys, type Resource } from "./store";

type Call = { cmd: string; args: Record<string, unknown> };

const row = (b: ReturnType<typeof backup>): BackupRow => ({
  id: b.id,
  path: b.path,
  size: b.size,
  backup_type: b.backup_type,
  created_at: b.created_at,
  verified_at: b.verified_at,
  status: b.status,
  verify_problem: b.verify_problem,
});

/** A catalog of two projects whose answers the test can change; every command call is recorded. */
function catalog() {
  const calls: Call[] = [];
  const data = {
    projects: [summary("shop", backup(0)), summary("blog", null)],
    backups: { shop: [row(backup(0))], blog: [] as BackupRow[] } as Record<string, BackupRow[]>,
    jobs: [] as JobRecord[],
  };
  let gate: Promise<void> | null = null;
  mockIPC(async (cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    if (cmd.startsWith("plugin:event|")) return 1; // the job-event subscription: not counted here
    calls.push({ cmd, args });
    if (gate) await gate;
    switch (cmd) {
      case "list_projects":
        return data.projects;
      case "get_project":
        return data.projects.find((p) => p.project.name === args.name) ?? Promise.reject({ code: "not_found", message: "no such project", hint: null, retryable: false });
      case "list_backups":
        return data.backups[args.project as string] ?? [];
      case "list_jobs":
        return data.jobs;
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return {
    calls,
    data,
    /** Holds every answer until the returned function is called. */
    hold() {
      let open: () => void = () => {};
      gate = new Promise((r) => (open = r));
      return () => {
        gate = null;
        open();
      };
    },
  };
}

/** A change source the test drives by hand. */
function manualSource(complete = true) {
  let push: (batch: ChangeBatch) => void = () => {};
  const source: ChangeSource = {
    complete,
    listen: async (onBatch) => {
      push = onBatch;
      return () => {};
    },
  };
  return {
    source,
    push: (changes: Change[]) => push({ changes, reloadAll: false }),
    reloadAll: () => push({ changes: [], reloadAll: true }),
  };
}

const change = (entity: Change["entity"], id: string, project_id: string | null, seq = 1): Change => ({
  seq,
  entity,
  id,
  project_id,
  op: "upsert",
});

const count = (calls: Call[]) => {
  const out: Record<string, number> = {};
  for (const c of calls) {
    const what = c.cmd === "list_projects" ? c.cmd : `${c.cmd}(${String(c.args.name ?? c.args.project ?? "*")})`;
    out[what] = (out[what] ?? 0) + 1;
  }
  return out;
};

const ready = <T,>(r: Resource<T>): T => {
  if (r.status !== "ready") throw new Error(`not ready: ${r.status}`);
  return r.data;
};

let stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops) s();
  stops = [];
});

/** A connected store with every kind of data shown, loaded. */
async function loaded(complete = true) {
  const cat = catalog();
  const feed = manualSource(complete);
  const store = new AppStore({ changes: feed.source, coalesceMs: 20 });
  stops.push(store.connect());
  await store.ready();
  for (const k of [
    keys.projects(),
    keys.project("shop"),
    keys.backups("shop"),
    keys.backups("blog"),
    keys.jobs("shop"),
    keys.jobs("blog"),
    keys.jobs(),
  ]) {
    stops.push(store.retain(k));
  }
  await waitFor(() => expect(cat.calls).toHaveLength(7));
  await waitFor(() => expect(store.read(keys.jobs()).status).toBe("ready"));
  cat.calls.length = 0;
  return { ...cat, ...feed, store };
}

const settle = () => new Promise((r) => setTimeout(r, 80));

describe("the store's subscription", () => {
  it("fetches again what was loaded before the change stream was subscribed, so nothing changed in between is missed", async () => {
    const cat = catalog();
    let subscribed: () => void = () => {};
    const late = new Promise<void>((r) => (subscribed = r));
    const source: ChangeSource = {
      complete: true,
      listen: async () => {
        await late; // the subscription takes a while (a cold webview)
        return () => {};
      },
    };
    const store = new AppStore({ changes: source, coalesceMs: 20 });
    stops.push(store.connect());
    stops.push(store.retain(keys.projects()));
    await waitFor(() => expect(store.read(keys.projects()).status).toBe("ready"));
    expect((ready(store.read(keys.projects())) as ProjectSummary[]).map((p) => p.project.name)).toEqual(["shop", "blog"]);
    // Another process adds a project before the window is subscribed: no event will name it.
    cat.data.projects = [...cat.data.projects, summary("from-cli", null)];
    subscribed();
    await store.ready();
    await waitFor(() =>
      expect((ready(store.read(keys.projects())) as ProjectSummary[]).map((p) => p.project.name)).toEqual(["shop", "blog", "from-cli"]),
    );
  });
});

describe("the store", () => {
  it("loads what is shown once, and not again for a second screen showing it", async () => {
    const { store, calls } = await loaded();
    stops.push(store.retain(keys.backups("shop")));
    await settle();
    expect(calls).toEqual([]);
    expect(ready(store.read<BackupRow[]>(keys.backups("shop")))).toHaveLength(1);
  });

  it("a backup change refreshes that project's backups and its summary, nothing else", async () => {
    const { store, calls, data, push } = await loaded();
    const newer = backup(-1);
    data.backups.shop = [row(newer), ...(data.backups.shop ?? [])];
    data.projects[0] = summary("shop", newer, 2);
    push([change("backup", newer.id, "p-shop")]);
    await waitFor(() => expect(count(calls)).toEqual({ "list_backups(shop)": 1, "get_project(shop)": 1 }));
    await settle();
    expect(count(calls)).toEqual({ "list_backups(shop)": 1, "get_project(shop)": 1 });
    expect(ready(store.read<BackupRow[]>(keys.backups("shop"))).map((b) => b.id)).toEqual([newer.id, "backup-0"]);
    // The project list's row is the fresh summary too, without fetching the whole list.
    const list = ready(store.read<ProjectSummary[]>(keys.projects()));
    expect(list[0]?.backup_count).toBe(2);
    expect(list[1]?.project.name).toBe("blog");
  });

  it("a project change refreshes the list and that project; a job change that project's jobs", async () => {
    const { calls, push } = await loaded();
    push([change("project", "p-shop", "p-shop")]);
    await waitFor(() => expect(count(calls)).toEqual({ list_projects: 1, "get_project(shop)": 1 }));
    calls.length = 0;
    push([change("job", "job-9", "p-blog")]);
    await waitFor(() => expect(count(calls)).toEqual({ "list_jobs(blog)": 1, "list_jobs(*)": 1 }));
    await settle();
    expect(count(calls)).toEqual({ "list_jobs(blog)": 1, "list_jobs(*)": 1 });
  });

  it("coalesces a burst: many batches naming the same things fetch each once", async () => {
    const { calls, push } = await loaded();
    for (let i = 0; i < 25; i++) {
      push([change("backup", `b-${i}`, "p-shop", i), change("job", `j-${i}`, "p-shop", i)]);
    }
    // Waits for the fetches (an event), then for any more the burst would wrongly cause.
    await waitFor(() => expect(Object.keys(count(calls))).toHaveLength(4));
    await settle();
    expect(count(calls)).toEqual({
      "list_backups(shop)": 1,
      "get_project(shop)": 1,
      "list_jobs(shop)": 1,
      "list_jobs(*)": 1,
    });
  });

  it("a change that arrives while its data is being fetched fetches it once more, afterwards", async () => {
    const { calls, push, hold } = await loaded();
    const release = hold();
    push([change("backup", "b-1", "p-blog")]);
    await waitFor(() => expect(count(calls)["list_backups(blog)"]).toBe(1));
    push([change("backup", "b-2", "p-blog")]);
    push([change("backup", "b-3", "p-blog")]);
    await settle();
    expect(count(calls)["list_backups(blog)"]).toBe(1); // not two fetches at once
    release();
    await waitFor(() => expect(count(calls)["list_backups(blog)"]).toBe(2));
    await settle();
    expect(count(calls)["list_backups(blog)"]).toBe(2);
  });

  it("what no screen shows is only marked stale, and fetched when a screen shows it again", async () => {
    const cat = catalog();
    const feed = manualSource(true);
    const store = new AppStore({ changes: feed.source, coalesceMs: 20 });
    stops.push(store.connect());
    const release = store.retain(keys.backups("shop"));
    stops.push(store.retain(keys.project("shop")));
    await waitFor(() => expect(store.read(keys.backups("shop")).status).toBe("ready"));
    release();
    cat.calls.length = 0;
    feed.push([change("backup", "b-1", "p-shop")]);
    await waitFor(() => expect(count(cat.calls)["get_project(shop)"]).toBe(1));
    await settle();
    expect(count(cat.calls)).toEqual({ "get_project(shop)": 1 }); // the shown summary only
    stops.push(store.retain(keys.backups("shop")));
    expect(store.read(keys.backups("shop")).status).toBe("loading"); // known to be out of date
    await waitFor(() => expect(count(cat.calls)["list_backups(shop)"]).toBe(1));
    await waitFor(() => expect(store.read(keys.backups("shop")).status).toBe("ready"));
  });

  it("with a complete change stream, a screen that opens again shows what the store holds, unfetched", async () => {
    const { store, calls } = await loaded(true);
    for (const s of stops.splice(0)) s(); // every screen closes (and the store disconnects)
    stops.push(store.retain(keys.backups("shop")));
    expect(ready(store.read<BackupRow[]>(keys.backups("shop")))).toHaveLength(1);
    await settle();
    expect(calls).toEqual([]);
  });

  it("reloads everything shown when the feed says changes were missed", async () => {
    const { calls, reloadAll } = await loaded();
    reloadAll();
    await waitFor(() => expect(calls).toHaveLength(7));
    await settle();
    expect(calls).toHaveLength(7);
  });

  it("finds the project of a backup change that does not name it (a verification) from the rows it holds", async () => {
    const { calls, push } = await loaded();
    push([change("backup", "backup-0", null)]);
    await waitFor(() => expect(count(calls)).toEqual({ "list_backups(shop)": 1, "get_project(shop)": 1 }));
  });

  it("with a change stream that is not complete, a screen that opens again reloads what it shows", async () => {
    const { store, calls } = await loaded(false);
    const release = store.retain(keys.backups("blog")); // a second user: no reload
    await settle();
    expect(calls).toEqual([]);
    release();
    for (const s of stops.splice(0)) s(); // every screen closes
    stops.push(store.retain(keys.backups("blog")));
    expect(store.read(keys.backups("blog")).status).toBe("loading"); // not the copy from before
    await waitFor(() => expect(count(calls)).toEqual({ "list_backups(blog)": 1 }));
    await waitFor(() => expect(store.read(keys.backups("blog")).status).toBe("ready"));
  });
});
