// Subscribing a component to a Tauri event source for as long as it is mounted.
import type { UnlistenFn } from "@tauri-apps/api/event";
import { useEffect, useRef } from "react";

/** Something that calls `handler` for each event until the returned unlisten function is called. */
export type Source<T> = (handler: (event: T) => void) => Promise<UnlistenFn>;

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
        else unlisten();
      },
      () => {},
    );
    return () => {
      active = false;
      stop?.();
    };
  }, [source]);
}
