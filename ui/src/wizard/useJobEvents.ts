// Follows single jobs by id through `job-progress` / `job-finished`. The subscription is made at
// mount, before any job starts; events of a job that arrive before `start_*` has returned its id
// are kept and replayed when the job is followed, so nothing is missed.
import { useCallback, useEffect, useRef } from "react";
import { events, type JobFinished, type JobProgress } from "../bindings";

export type JobHandlers = {
  onProgress: (p: JobProgress) => void;
  onFinished: (f: JobFinished) => void;
};

type Buffered = { progress: JobProgress | null; finished: JobFinished | null };

const MAX_BUFFERED = 50;

export function useJobEvents() {
  const followed = useRef(new Map<string, JobHandlers>());
  const buffered = useRef(new Map<string, Buffered>());
  const ready = useRef<Promise<void>>(Promise.resolve());

  useEffect(() => {
    let active = true;
    const stops: (() => void)[] = [];
    const keep = (id: string, change: (b: Buffered) => Buffered) => {
      const map = buffered.current;
      map.set(id, change(map.get(id) ?? { progress: null, finished: null }));
      if (map.size > MAX_BUFFERED) {
        const oldest = map.keys().next().value;
        if (oldest !== undefined) map.delete(oldest);
      }
    };
    ready.current = (async () => {
      try {
        const stopProgress = await events.jobProgress.listen((e) => {
          const h = followed.current.get(e.payload.job_id);
          if (h) h.onProgress(e.payload);
          else keep(e.payload.job_id, (b) => ({ ...b, progress: e.payload }));
        });
        const stopFinished = await events.jobFinished.listen((e) => {
          const h = followed.current.get(e.payload.job_id);
          if (h) {
            followed.current.delete(e.payload.job_id);
            h.onFinished(e.payload);
          } else keep(e.payload.job_id, (b) => ({ ...b, finished: e.payload }));
        });
        if (active) stops.push(stopProgress, stopFinished);
        else {
          stopProgress();
          stopFinished();
        }
      } catch {
        // No event system: jobs still run; the wizard then waits without live updates.
      }
    })();
    return () => {
      active = false;
      for (const stop of stops) stop();
      followed.current.clear();
    };
  }, []);

  /** Resolves once subscribed: start jobs after it, so their first events are seen. */
  const whenReady = useCallback(() => ready.current, []);

  /** Follow one job; events that came before are replayed at once. Returns an unfollow. */
  const follow = useCallback((jobId: string, handlers: JobHandlers) => {
    const early = buffered.current.get(jobId);
    buffered.current.delete(jobId);
    if (early?.finished) {
      if (early.progress) handlers.onProgress(early.progress);
      handlers.onFinished(early.finished);
      return () => {};
    }
    followed.current.set(jobId, handlers);
    if (early?.progress) handlers.onProgress(early.progress);
    return () => {
      followed.current.delete(jobId);
    };
  }, []);

  return { whenReady, follow };
}
