// The updater's status (`update_status`), kept current by the `update-status` event, and its two
// actions: "Check now" and "Install and restart". The rules (at most one automatic check a day,
// never an install while a job runs) are the app's; this only shows and asks.
import { useCallback, useEffect, useState } from "react";
import { commands, type ErrorPayload, events, type UpdateStatus } from "../bindings";
import { toErrorPayload } from "../ipc/errors";
import { type Source, useSubscription } from "../ipc/subscribe";

const updateEvents: Source<UpdateStatus> = (handler) => events.updateStatus.listen((e) => handler(e.payload));

export type UpdateView = {
  /** `null` until loaded (or when it could not be loaded: see `error`). */
  status: UpdateStatus | null;
  /** The last action's (or the first load's) error. */
  error: ErrorPayload | null;
  /** An action is under way. */
  busy: boolean;
  checkNow: () => Promise<void>;
  install: () => Promise<void>;
};

/** The newer of two statuses: an answer computed before a change can arrive after the event that
 * announced it (an install's "installing" after its own "failed"), so the higher revision wins. */
export function newer(current: UpdateStatus | null, next: UpdateStatus): UpdateStatus {
  return current && current.revision > next.revision ? current : next;
}

export function useUpdateStatus(): UpdateView {
  const [status, setLatest] = useState<UpdateStatus | null>(null);
  const setStatus = useCallback((next: UpdateStatus) => setLatest((current) => newer(current, next)), []);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let active = true;
    commands.updateStatus().then(
      (r) => {
        if (!active) return;
        if (r.status === "ok") setStatus(r.data);
        else setError(toErrorPayload(r.error));
      },
      (e: unknown) => active && setError(toErrorPayload(e)),
    );
    return () => {
      active = false;
    };
  }, [setStatus]);

  useSubscription(updateEvents, setStatus);

  const run = useCallback(async (action: () => ReturnType<typeof commands.updateStatus>) => {
    setBusy(true);
    setError(null);
    try {
      const r = await action();
      if (r.status === "ok") setStatus(r.data);
      else setError(toErrorPayload(r.error));
    } catch (e) {
      setError(toErrorPayload(e));
    } finally {
      setBusy(false);
    }
  }, [setStatus]);

  return {
    status,
    error,
    busy,
    checkNow: useCallback(() => run(commands.checkForUpdate), [run]),
    install: useCallback(() => run(commands.installUpdate), [run]),
  };
}
