// Live jobs of this window: one subscription to `job-progress` / `job-finished` for the whole app,
// made before any job starts (so no event is missed), and a store keyed by job id. Events of a job
// may arrive before `start_*` has returned its id; they are kept and merged when it is registered.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import {
  commands,
  type ErrorPayload,
  events,
  type ImportTo,
  type JobFinished,
  type JobKind,
  type JobProgress,
} from "../bindings";
import { toErrorPayload } from "../ipc/errors";

export type LiveJob = {
  id: string;
  kind: JobKind | null;
  /** Project name (backup) or archive path (verify) the job is about. */
  project: string | null;
  subject: string | null;
  startedAt: number;
  progress: JobProgress | null;
  finished: JobFinished | null;
  cancelling: boolean;
};

type StartResult = { ok: true; id: string } | { ok: false; error: ErrorPayload };

type JobsApi = {
  jobs: LiveJob[];
  ready: boolean;
  startBackup: (project: string) => Promise<StartResult>;
  startVerify: (project: string, path: string) => Promise<StartResult>;
  /** Import `path` into a project (verified first); the job's project is the target's name. */
  startImport: (path: string, into: ImportTo) => Promise<StartResult>;
  cancel: (id: string) => Promise<void>;
  dismiss: (id: string) => void;
  /** Called with every finished job (after the store is updated). */
  onFinished: (cb: (f: JobFinished) => void) => () => void;
};

const JobsContext = createContext<JobsApi | null>(null);

function blank(id: string): LiveJob {
  return {
    id,
    kind: null,
    project: null,
    subject: null,
    startedAt: Date.now(),
    progress: null,
    finished: null,
    cancelling: false,
  };
}

export function JobsProvider({ children }: { children: ReactNode }) {
  const [jobs, setJobs] = useState<Record<string, LiveJob>>({});
  const [ready, setReady] = useState(false);
  const listeners = useRef(new Set<(f: JobFinished) => void>());
  const readyPromise = useRef<Promise<void> | null>(null);

  const update = useCallback((id: string, change: (job: LiveJob) => LiveJob) => {
    setJobs((all) => ({ ...all, [id]: change(all[id] ?? blank(id)) }));
  }, []);

  useEffect(() => {
    let active = true;
    const stops: (() => void)[] = [];
    const subscribe = async () => {
      try {
        const stopProgress = await events.jobProgress.listen((e) => {
          const p = e.payload;
          update(p.job_id, (job) => (job.finished ? job : { ...job, progress: p }));
        });
        const stopFinished = await events.jobFinished.listen((e) => {
          const f = e.payload;
          update(f.job_id, (job) => ({ ...job, kind: job.kind ?? f.kind, finished: f, cancelling: false }));
          for (const cb of listeners.current) cb(f);
        });
        if (active) {
          stops.push(stopProgress, stopFinished);
        } else {
          stopProgress();
          stopFinished();
        }
      } catch {
        // No event system (should not happen in the app); jobs still start, without live updates.
      }
      if (active) setReady(true);
    };
    readyPromise.current = subscribe();
    return () => {
      active = false;
      for (const stop of stops) stop();
    };
  }, [update]);

  const onFinished = useCallback((cb: (f: JobFinished) => void) => {
    listeners.current.add(cb);
    return () => {
      listeners.current.delete(cb);
    };
  }, []);

  const start = useCallback(
    async (
      kind: JobKind,
      project: string,
      subject: string | null,
      run: () => ReturnType<typeof commands.startBackup>,
    ): Promise<StartResult> => {
      await readyPromise.current; // subscribed before the job starts
      try {
        const result = await run();
        if (result.status === "error") return { ok: false, error: toErrorPayload(result.error) };
        const id = result.data;
        update(id, (job) => ({ ...job, kind, project, subject }));
        return { ok: true, id };
      } catch (e) {
        return { ok: false, error: toErrorPayload(e) };
      }
    },
    [update],
  );

  const api = useMemo<JobsApi>(
    () => ({
      jobs: Object.values(jobs).sort((a, b) => b.startedAt - a.startedAt),
      ready,
      startBackup: (project) => start("backup", project, project, () => commands.startBackup(project)),
      startVerify: (project, path) => start("verify", project, path, () => commands.startVerify(path)),
      startImport: (path, into) =>
        start("import", "project" in into && into.project ? into.project : (into.new_project?.name ?? ""), path, () =>
          commands.startImport(path, into, true),
        ),
      cancel: async (id) => {
        update(id, (job) => ({ ...job, cancelling: true }));
        try {
          const result = await commands.cancelJob(id);
          if (result.status === "error" || !result.data) update(id, (job) => ({ ...job, cancelling: false }));
        } catch {
          update(id, (job) => ({ ...job, cancelling: false }));
        }
      },
      dismiss: (id) =>
        setJobs((all) => {
          const { [id]: _gone, ...rest } = all;
          return rest;
        }),
      onFinished,
    }),
    [jobs, ready, start, update, onFinished],
  );

  return <JobsContext.Provider value={api}>{children}</JobsContext.Provider>;
}

export function useJobs(): JobsApi {
  const api = useContext(JobsContext);
  if (!api) throw new Error("useJobs outside <JobsProvider>");
  return api;
}

/** Calls `cb` whenever a job finishes; the latest `cb` is used. */
export function useJobFinished(cb: (f: JobFinished) => void) {
  const { onFinished } = useJobs();
  const ref = useRef(cb);
  ref.current = cb;
  useEffect(() => onFinished((f) => ref.current(f)), [onFinished]);
}
