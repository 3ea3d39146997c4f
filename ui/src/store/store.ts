// The window's one store: what the catalog holds (project summaries, each project's backups, job
// history) and the jobs running in this window (progress, finish). Screens read it through the
// hooks in hooks.ts; nothing else calls the list commands or listens to the job events.
//
// - Data is fetched through the generated `commands.*` when a screen first asks for it, and then
//   kept. A batch of catalog changes (changes.ts) refreshes exactly what it names: a backup change
//   → that project's backups and its summary; a project change → the project list and that
//   project; a job change → that project's jobs (and the all-projects list). Bursts are coalesced:
//   a key is fetched once per `coalesceMs`, and a change that arrives while its key is being
//   fetched fetches it once more afterwards. What no screen shows is only marked stale and fetched
//   when a screen asks for it again.
// - One subscription to `job-progress` and `job-finished` for the whole app, made when the store
//   connects (before any job can start). Events of a job that arrive before `start_*` has returned
//   its id are kept on the job and merged when it is registered.
import {
  type BackupRow,
  type BackupType,
  commands,
  type ErrorPayload,
  events,
  type ImportTo,
  type JobFilter,
  type JobFinished,
  type JobKind,
  type JobProgress,
  type JobStarted,
  type JobTrigger,
  type Phase,
  type ProjectSummary,
  type RestoreRequest,
} from "../bindings";
import { toErrorPayload } from "../ipc/errors";
import { type Change, type ChangeSource, catalogChanges } from "./changes";

/** A piece of catalog data as a screen sees it. */
export type Resource<T> =
  | { status: "loading" }
  | { status: "ready"; data: T }
  | { status: "error"; error: ErrorPayload };

/** What the store holds, by key. */
export type Key =
  | { kind: "projects" }
  | { kind: "project"; name: string }
  | { kind: "backups"; project: string }
  | { kind: "jobs"; project: string | null }
  | { kind: "status" }
  | { kind: "health" }
  | { kind: "schedules"; project: string }
  | { kind: "retention"; project: string }
  | { kind: "components"; project: string }
  | { kind: "history"; filter: JobFilter };

/** How many jobs the history lists: of one project, and of all (the home screen's last states). */
export const JOBS_LIMIT_PROJECT = 20;
export const JOBS_LIMIT_ALL = 200;

export const keys = {
  projects: (): Key => ({ kind: "projects" }),
  project: (name: string): Key => ({ kind: "project", name }),
  backups: (project: string): Key => ({ kind: "backups", project }),
  jobs: (project?: string | null): Key => ({ kind: "jobs", project: project ?? null }),
  /** Every project's next run, overdue state and newest good backup. */
  status: (): Key => ({ kind: "status" }),
  /** Every project's health, worst first, with the summary line (the dashboard). */
  health: (): Key => ({ kind: "health" }),
  schedules: (project: string): Key => ({ kind: "schedules", project }),
  retention: (project: string): Key => ({ kind: "retention", project }),
  /** A project's storage, Supabase ref and default backup type (never a secret). */
  components: (project: string): Key => ({ kind: "components", project }),
  /** Every job of every project matching a filter (the history screen). */
  history: (filter: JobFilter): Key => ({ kind: "history", filter: normalFilter(filter) }),
};

/** A filter with every field present (null: any), so equal filters share one key. */
export function normalFilter(f: JobFilter): JobFilter {
  return {
    project: f.project ?? null,
    kind: f.kind ?? null,
    trigger: f.trigger ?? null,
    state: f.state ?? null,
    limit: f.limit ?? null,
  };
}

export function keyString(k: Key): string {
  switch (k.kind) {
    case "projects":
      return "projects";
    case "project":
      return `project:${k.name}`;
    case "backups":
      return `backups:${k.project}`;
    case "jobs":
      return k.project === null ? "jobs:*" : `jobs:${k.project}`;
    case "status":
      return "status";
    case "health":
      return "health";
    case "schedules":
      return `schedules:${k.project}`;
    case "retention":
      return `retention:${k.project}`;
    case "components":
      return `components:${k.project}`;
    case "history": {
      const f = normalFilter(k.filter);
      return `history:${JSON.stringify([f.project, f.kind, f.trigger, f.state, f.limit])}`;
    }
  }
}

export type LiveJob = {
  id: string;
  kind: JobKind | null;
  /** Project name the job is about (null: not started by a screen that shows it). */
  project: string | null;
  /** Project name (backup), archive path (verify, import). */
  subject: string | null;
  startedAt: number;
  progress: JobProgress | null;
  /** The phases the job went through, in order (each once): the steps it has done. */
  phases: Phase[];
  finished: JobFinished | null;
  cancelling: boolean;
  /**
   * Whether a screen shows this job in its context now (the backup server's or the artifact
   * bucket's own panel): then the page's job list above the tabs leaves it out, so one job is
   * never shown twice (issue 44: remote-03/04).
   */
  placed: boolean;
  /**
   * What started it when not this window: the scheduler (`schedule`, `catch_up`, `retry`) or the
   * retention after a scheduled run. Null: a job this window started.
   */
  startedBy?: JobTrigger | null;
};

export type StartResult = { ok: true; id: string } | { ok: false; error: ErrorPayload };

export type JobHandlers = {
  onProgress: (p: JobProgress) => void;
  onFinished: (f: JobFinished) => void;
};

type Fetched<T> = { status: "ok"; data: T } | { status: "error"; error: unknown };

type Entry = {
  key: Key;
  state: Resource<unknown>;
  /** Screens showing it now. */
  users: number;
  /** A change named it while no screen showed it: fetch when one does. */
  stale: boolean;
  /** Fetched at least once (or being fetched). */
  started: boolean;
  inFlight: boolean;
  /** Fetch once more when the current fetch ends (a change came meanwhile). */
  again: boolean;
};

const LOADING: Resource<never> = { status: "loading" };

export type StoreOptions = {
  /** Where catalog changes come from (tests pass their own). */
  changes?: ChangeSource;
  /** How long a burst of changes is gathered before fetching (ms). */
  coalesceMs?: number;
};

export class AppStore {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<() => void>();
  private readonly finishedListeners = new Set<(f: JobFinished) => void>();
  private readonly followers = new Map<string, JobHandlers>();
  private live: Record<string, LiveJob> = {};
  private liveList: LiveJob[] = [];
  /** Job id → how many mounted views show it in context (`place`). */
  private readonly placements = new Map<string, number>();
  /** Project id → name, from every summary fetched. */
  private readonly names = new Map<string, string>();
  private readonly pending = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly changes: ChangeSource;
  private readonly coalesceMs: number;
  private connection: { active: boolean; stops: (() => void)[] } | null = null;
  private readyPromise: Promise<void> = Promise.resolve();
  /** Drills recorded per project name (and `*`: of a project not known by id, or a reload). */
  private readonly drillChanges = new Map<string, number>();

  constructor(options: StoreOptions = {}) {
    this.changes = options.changes ?? catalogChanges;
    this.coalesceMs = options.coalesceMs ?? 50;
  }

  // ------------------------------------------------------------------ subscription (React)

  /** For `useSyncExternalStore`: called after every change of what the store holds. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  private emitChange() {
    for (const l of [...this.listeners]) l();
  }

  // ------------------------------------------------------------------ events

  /**
   * Subscribes to the job events and the catalog changes (once; call the returned function to
   * stop). Jobs started before the subscription is made wait for it (`ready`).
   */
  connect(): () => void {
    if (this.connection) return () => {};
    const connection = { active: true, stops: [] as (() => void)[] };
    this.connection = connection;
    const keep = (stop: () => void) => {
      if (connection.active) connection.stops.push(stop);
      else stop();
    };
    this.readyPromise = (async () => {
      try {
        keep(await events.jobProgress.listen((e) => this.onProgress(e.payload)));
        keep(await events.jobFinished.listen((e) => this.onFinished(e.payload)));
        keep(await events.jobStarted.listen((e) => this.onStarted(e.payload)));
      } catch {
        // No event system (outside Tauri, or not allowed): jobs still start, without live updates.
      }
      try {
        keep(
          await this.changes.listen(
            (batch) => (batch.reloadAll ? this.reloadAll() : this.apply(batch.changes)),
            (cb) => this.onJobFinished(cb),
          ),
        );
        // What screens loaded before the subscription existed may have changed in between (the
        // CLI in a terminal right as the window opens): fetch it once more, now that no later
        // change can be missed.
        if (connection.active) this.reloadAll();
      } catch {
        // No change stream: screens still load what they show when they open.
      }
    })();
    return () => {
      connection.active = false;
      for (const stop of connection.stops) stop();
      connection.stops = [];
      if (this.connection === connection) this.connection = null;
      this.followers.clear();
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      this.pending.clear();
    };
  }

  /** Resolves once the job events are subscribed: start jobs after it, so no event is missed. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Calls `cb` with every finished job (after the store is updated). */
  onJobFinished(cb: (f: JobFinished) => void): () => void {
    this.finishedListeners.add(cb);
    return () => {
      this.finishedListeners.delete(cb);
    };
  }

  private onProgress(p: JobProgress) {
    this.updateJob(p.job_id, (job) =>
      job.finished
        ? job
        : {
            ...job,
            progress: p,
            phases: job.phases.includes(p.phase) ? job.phases : [...job.phases, p.phase],
          },
    );
    this.followers.get(p.job_id)?.onProgress(p);
  }

  /** A job this window did not start (the scheduler's): shown under its project as the window's own are. */
  private onStarted(s: JobStarted) {
    this.updateJob(s.job_id, (job) => ({
      ...job,
      kind: s.kind,
      project: s.project,
      subject: s.project,
      startedBy: s.trigger,
    }));
  }

  private onFinished(f: JobFinished) {
    const before = this.live[f.job_id];
    this.updateJob(f.job_id, (job) => ({ ...job, kind: job.kind ?? f.kind, finished: f, cancelling: false }));
    // A scheduler's job that succeeded leaves no card: what it made is in the lists (the catalog's
    // changes), and the scheduler's notification said it. A failure stays, saying why.
    if (before?.startedBy && f.ok) this.dismiss(f.job_id);
    const follower = this.followers.get(f.job_id);
    if (follower) {
      this.followers.delete(f.job_id);
      follower.onFinished(f);
    }
    for (const cb of [...this.finishedListeners]) cb(f);
  }

  // ------------------------------------------------------------------ live jobs

  liveJobs(): LiveJob[] {
    return this.liveList;
  }

  liveJob(id: string): LiveJob | null {
    return this.live[id] ?? null;
  }

  private updateJob(id: string, change: (job: LiveJob) => LiveJob) {
    const before = this.live[id] ?? { ...blank(id), placed: this.placements.has(id) };
    this.live = { ...this.live, [id]: change(before) };
    this.liveList = Object.values(this.live).sort((a, b) => b.startedAt - a.startedAt);
    this.emitChange();
  }

  private async start(
    kind: JobKind,
    project: string | null,
    subject: string | null,
    run: () => ReturnType<typeof commands.startBackup>,
  ): Promise<StartResult> {
    await this.readyPromise; // subscribed before the job starts
    try {
      const result = await run();
      if (result.status === "error") return { ok: false, error: toErrorPayload(result.error) };
      const id = result.data;
      this.updateJob(id, (job) => ({ ...job, kind, project, subject }));
      return { ok: true, id };
    } catch (e) {
      return { ok: false, error: toErrorPayload(e) };
    }
  }

  /** Back up `project`; `type` null: the project's default type. */
  startBackup = (project: string, type: BackupType | null = null, note: string | null = null) =>
    this.start("backup", project, project, () => commands.startBackup(project, type, note));

  /** One archive per value of tenant `name`'s root key, split from `project`'s newest good backup. */
  startTenantBackup = (project: string, name: string) =>
    this.start("backup", project, `${project} · tenant ${name}`, () => commands.startTenantBackup(project, name));

  /** Back up `project` on its backup server and download the archive (verified, registered). */
  startRemoteBackup = (project: string, type: BackupType | null = null) =>
    this.start("backup", project, project, () => commands.startRemoteBackup(project, type));

  /** Download the backups the project's server has and this computer does not. */
  startPull = (project: string) => this.start("pull", project, project, () => commands.startPull(project));

  /** Restore what the one request chose (database, storage, configuration) as one job; it shows under `project`. */
  startRestore = (project: string, request: RestoreRequest) =>
    this.start("restore", project, request.archive, () => commands.startRestore(request));

  /**
   * A restore drill of `project`: `backup` null is the newest good one; `server` null a throwaway
   * cluster; `at` (RFC 3339) the project as it was then instead of a backup.
   */
  startDrill = (project: string, backup: string | null, server: string | null, at: string | null = null) =>
    this.start("drill", project, at ? `${project} at ${at}` : project, () => commands.startDrill(project, backup, server, at));

  startVerify = (project: string, path: string) =>
    this.start("verify", project, path, () => commands.startVerify(path));

  /**
   * Import `path` into a project (verified first); the job's project is the target's name.
   * `database`: the one to take from a `pg_dumpall` file that holds several.
   */
  startImport = (path: string, into: ImportTo, database: string | null = null) =>
    this.start("import", "project" in into && into.project ? into.project : (into.new_project?.name ?? ""), path, () =>
      commands.startImport(path, into, true, database),
    );

  /**
   * Asks a job to stop; resolves true when the app accepted (its `job-finished` follows with
   * `cancelled`), false when it refused (the job is not running any more).
   */
  cancel = async (id: string): Promise<boolean> => {
    this.updateJob(id, (job) => ({ ...job, cancelling: true }));
    try {
      const result = await commands.cancelJob(id);
      if (result.status === "ok" && result.data) return true;
    } catch {
      // refused below
    }
    this.updateJob(id, (job) => ({ ...job, cancelling: false }));
    return false;
  };

  /**
   * A screen shows job `id` in its own context from now on (see `LiveJob.placed`); returns the
   * call that gives it back when that screen goes away (another tab: the list above shows it).
   */
  place = (id: string): (() => void) => {
    this.placements.set(id, (this.placements.get(id) ?? 0) + 1);
    if (id in this.live) this.updateJob(id, (job) => ({ ...job, placed: true }));
    return () => {
      const n = (this.placements.get(id) ?? 1) - 1;
      if (n > 0) this.placements.set(id, n);
      else this.placements.delete(id);
      if (n <= 0 && id in this.live) this.updateJob(id, (job) => ({ ...job, placed: false }));
    };
  };

  dismiss = (id: string) => {
    if (!(id in this.live)) return;
    const { [id]: _gone, ...rest } = this.live;
    this.live = rest;
    this.liveList = this.liveList.filter((j) => j.id !== id);
    this.emitChange();
  };

  /**
   * Follows one job by id (a screen that started it through a command of its own): what already
   * arrived is replayed at once, the rest as it comes. Returns an unfollow.
   */
  follow(jobId: string, handlers: JobHandlers): () => void {
    const early = this.live[jobId];
    if (early?.finished) {
      if (early.progress) handlers.onProgress(early.progress);
      handlers.onFinished(early.finished);
      return () => {};
    }
    this.followers.set(jobId, handlers);
    if (early?.progress) handlers.onProgress(early.progress);
    return () => {
      if (this.followers.get(jobId) === handlers) this.followers.delete(jobId);
    };
  }

  // ------------------------------------------------------------------ catalog data

  /** What a screen reads: the current state of `key` (stable until it changes). */
  read<T>(key: Key): Resource<T> {
    return (this.entries.get(keyString(key))?.state ?? LOADING) as Resource<T>;
  }

  /**
   * A screen shows `key` (from its mount until the returned function is called): fetched the
   * first time, when it went stale meanwhile, and — while the change stream is not complete — each
   * time a screen opens it, as every screen did before the store. Data that is (or may be) out of
   * date is not shown meanwhile: the screen shows "loading" as it did before, until the answer.
   */
  retain(key: Key): () => void {
    const entry = this.entry(key);
    entry.users += 1;
    const reopened = entry.users === 1 && !this.changes.complete && !entry.inFlight;
    if (!entry.started || entry.stale || reopened) {
      if (entry.started && entry.state.status !== "loading") {
        entry.state = LOADING;
        this.emitChange();
      }
      this.load(entry);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      entry.users -= 1;
    };
  }

  /** Fetches `key` again now (a Retry button). */
  reload(key: Key) {
    this.load(this.entry(key));
  }

  /** The id of the project with this name, when the store has seen it. */
  projectId(name: string): string | null {
    for (const [id, n] of this.names) if (n === name) return id;
    return null;
  }

  private entry(key: Key): Entry {
    const ks = keyString(key);
    let e = this.entries.get(ks);
    if (!e) {
      e = { key, state: LOADING, users: 0, stale: false, started: false, inFlight: false, again: false };
      this.entries.set(ks, e);
    }
    return e;
  }

  /**
   * Applies a batch of catalog changes: each named entity is refreshed (or, when no screen shows
   * it, marked stale), once per burst.
   */
  apply = (changes: Change[]) => {
    const touched = new Set<string>();
    const mark = (key: Key) => touched.add(keyString(key));
    // A project's health reads its backups, copies, jobs, drills and schedules: any change may move it.
    if (changes.length > 0) mark(keys.health());
    for (const c of changes) {
      switch (c.entity) {
        case "project": {
          mark(keys.projects());
          // A project change is also a change of its schedules or retention policy (the
          // catalog's triggers name the project): its status, schedules and policy may differ.
          mark(keys.status());
          const name = this.names.get(c.id);
          if (name !== undefined) {
            mark(keys.project(name));
            mark(keys.schedules(name));
            mark(keys.retention(name));
            mark(keys.components(name));
          } else {
            for (const e of this.entries.values()) {
              if (e.key.kind === "schedules" || e.key.kind === "retention" || e.key.kind === "components") mark(e.key);
            }
          }
          if (c.op === "delete") this.names.delete(c.id); // a new project may take its name
          break;
        }
        case "backup": {
          mark(keys.status()); // the newest good backup, overdue
          const name = this.projectOfBackup(c);
          if (name !== null) {
            mark(keys.backups(name));
            this.markSummary(name, mark);
          } else {
            // Not a project the store knows by id: the list learns it; backups of projects whose
            // id the store has not seen are fetched again.
            mark(keys.projects());
            for (const e of this.entries.values()) {
              if (e.key.kind === "backups" && !this.knowsName(e.key.project)) mark(e.key);
            }
          }
          break;
        }
        case "drill": {
          // A drill recorded (by a schedule, the command line): the project's "proven
          // restorable" line, the status, and an open drill screen's list.
          mark(keys.status());
          const name = c.project_id !== null ? this.names.get(c.project_id) : undefined;
          if (name !== undefined) this.markSummary(name, mark);
          else mark(keys.projects());
          this.bumpDrills(name ?? "*");
          break;
        }
        case "job": {
          const name = (c.project_id !== null ? this.names.get(c.project_id) : undefined) ?? this.live[c.id]?.project ?? null;
          mark(keys.jobs(null));
          for (const e of this.entries.values()) if (e.key.kind === "history") mark(e.key);
          if (name) mark(keys.jobs(name));
          else if (c.project_id !== null || !this.live[c.id]) {
            for (const e of this.entries.values()) if (e.key.kind === "jobs") mark(e.key);
          }
          break;
        }
      }
    }
    for (const ks of touched) this.refresh(ks);
  };

  /** Fetches `ks` in the next burst when a screen shows it; else marks it stale. */
  private refresh(ks: string) {
    const e = this.entries.get(ks);
    if (!e || !e.started) return; // never asked for: fetched when a screen asks
    if (!this.shown(e)) {
      e.stale = true;
      return;
    }
    this.pending.add(ks);
    if (this.timer === null) this.timer = setTimeout(() => this.flush(), this.coalesceMs);
  }

  /** A screen shows it: itself, or (a project's summary) as a row of the shown project list. */
  private shown(e: Entry): boolean {
    if (e.users > 0) return true;
    if (e.key.kind !== "project") return false;
    const list = this.entries.get(keyString(keys.projects()));
    return list !== undefined && list.users > 0 && list.state.status === "ready";
  }

  /** Changes were missed (the feed was pruned past them): everything is fetched again. */
  reloadAll = () => {
    for (const ks of this.entries.keys()) this.refresh(ks);
    this.bumpDrills("*");
  };

  /** How many times the catalog named a drill of `project` (0: never since the store began). */
  drillsVersion = (project: string): number => (this.drillChanges.get(project) ?? 0) + (this.drillChanges.get("*") ?? 0);

  private bumpDrills(project: string) {
    this.drillChanges.set(project, (this.drillChanges.get(project) ?? 0) + 1);
    this.emitChange();
  }

  /** A project's summary lives in its own entry and in the list: refresh it where it is shown. */
  private markSummary(name: string, mark: (k: Key) => void) {
    const list = this.entries.get(keyString(keys.projects()));
    const one = this.entries.get(keyString(keys.project(name)));
    if (one?.started) mark(keys.project(name));
    if (list?.started) {
      if (list.users > 0 && list.state.status === "ready") {
        // The list shows it: one get_project updates the list's row (see `store()`).
        this.entry(keys.project(name)).started = true;
        mark(keys.project(name));
      } else mark(keys.projects());
    }
  }

  private knowsName(name: string): boolean {
    return this.projectId(name) !== null;
  }

  private projectOfBackup(c: Change): string | null {
    if (c.project_id !== null) return this.names.get(c.project_id) ?? null;
    for (const e of this.entries.values()) {
      if (e.key.kind !== "backups" || e.state.status !== "ready") continue;
      if ((e.state.data as BackupRow[]).some((b) => b.id === c.id)) return e.key.project;
    }
    return null;
  }

  private flush() {
    this.timer = null;
    const due = [...this.pending];
    this.pending.clear();
    for (const ks of due) {
      const e = this.entries.get(ks);
      if (e) this.load(e);
    }
  }

  private load(entry: Entry) {
    entry.started = true;
    entry.stale = false;
    if (entry.inFlight) {
      entry.again = true;
      return;
    }
    entry.inFlight = true;
    void this.fetch(entry.key).then((r) => {
      entry.inFlight = false;
      this.store(entry, r);
      if (entry.again) {
        entry.again = false;
        this.load(entry);
      }
    });
  }

  private async fetch(key: Key): Promise<Fetched<unknown>> {
    try {
      switch (key.kind) {
        case "projects":
          return await commands.listProjects();
        case "project":
          return await commands.getProject(key.name);
        case "backups":
          return await commands.listBackups(key.project);
        case "jobs":
          return await commands.listJobs(key.project, key.project === null ? JOBS_LIMIT_ALL : JOBS_LIMIT_PROJECT);
        case "status":
          return await commands.projectStatus();
        case "health":
          return await commands.health();
        case "schedules":
          return await commands.listSchedules(key.project);
        case "retention":
          return await commands.getRetention(key.project);
        case "components":
          return await commands.getComponents(key.project);
        case "history":
          return await commands.jobHistory(normalFilter(key.filter));
      }
    } catch (e) {
      return { status: "error", error: e };
    }
  }

  private store(entry: Entry, r: Fetched<unknown>) {
    if (r.status === "error") {
      entry.state = { status: "error", error: toErrorPayload(r.error) };
      // A summary that cannot be fetched any more (a project removed or renamed): the list knows.
      if (entry.key.kind === "project") this.refresh(keyString(keys.projects()));
      this.emitChange();
      return;
    }
    entry.state = { status: "ready", data: r.data };
    if (entry.key.kind === "projects") {
      // The list is every project: ids it no longer holds are gone (or renamed).
      this.names.clear();
      for (const s of r.data as ProjectSummary[]) this.names.set(s.project.id, s.project.name);
    } else if (entry.key.kind === "project") {
      const summary = r.data as ProjectSummary;
      this.names.set(summary.project.id, summary.project.name);
      this.patchList(summary);
    }
    this.emitChange();
  }

  /** Puts a freshly fetched summary into the project list, in place. */
  private patchList(summary: ProjectSummary) {
    const list = this.entries.get(keyString(keys.projects()));
    if (!list || list.state.status !== "ready") return;
    const rows = list.state.data as ProjectSummary[];
    const i = rows.findIndex((s) => s.project.id === summary.project.id);
    if (i < 0) return;
    const next = rows.slice();
    next[i] = summary;
    list.state = { status: "ready", data: next };
  }
}

function blank(id: string): LiveJob {
  return {
    id,
    kind: null,
    project: null,
    subject: null,
    startedAt: Date.now(),
    progress: null,
    phases: [],
    finished: null,
    cancelling: false,
    placed: false,
  };
}
