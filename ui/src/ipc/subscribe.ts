// Subscribing a component to a Tauri event source for as long as it is mounted.
import type { UnlistenFn } from "@tauri-apps/api/event";
import { useEffect, useRef } from "react";

/** Something that calls `handler` for each event until the returned unlisten function is called. */
export type Source<T> = (handler: (event: T) => void) => Promise<UnlistenFn>;

/**
 * Stops a subscription; a failure to stop (the window closing, or a test's IPC mock already
 * gone) is nothing to report: the listener is gone with it. Tauri's unlisten is async, so its
 * rejection is caught too (it once surfaced as an unhandled rejection after a test).
 */
function stopQuietly(unlisten: UnlistenFn) {
  try {
    const r: unknown = unlisten();
    if (r instanceof Promise) r.catch(() => {});
  } catch {
    // as above
  }
}

/**
 * Calls `handler` for each event of `source` while mounted; unsubscribes on unmount (also when the
 * subscription resolves after it). A rejected subscription (not running inside Tauri, or no
 * permission) simply means no events.
 */
export function useSubscription<T>(source: Source<T>, handler: (event: T) => void) {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => {
    let active = true;
    let stop: UnlistenFn | null = null;
    source((e) => active && latest.current(e)).then(
      (unlisten) => {
        if (active) stop = unlisten;
        else stopQuietly(unlisten);
      },
      () => {},
    );
    return () => {
      active = false;
      if (stop) stopQuietly(stop);
    };
  }, [source]);
}
