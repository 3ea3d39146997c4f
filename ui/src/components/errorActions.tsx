// Who can take an error's next step: the app provides what it can do from anywhere (Settings, a
// project's credentials form), a screen adds what only it can (verify another of its backups, show
// the backup folder); ErrorNotice shows a button for each action of the error that has a handler.
import { createContext, type ReactNode, useContext, useMemo } from "react";
import type { ErrorActionKind } from "../ipc/errorDisplay";

export type ErrorActionHandlers = Partial<Record<ErrorActionKind, () => void>>;

const ErrorActionsContext = createContext<ErrorActionHandlers>({});

/** Handlers for the errors shown inside; the nearest provider's win, the outer ones still apply. */
export function ErrorActionsProvider({ value, children }: { value: ErrorActionHandlers; children: ReactNode }) {
  const outer = useContext(ErrorActionsContext);
  const merged = useMemo(() => ({ ...outer, ...defined(value) }), [outer, value]);
  return <ErrorActionsContext.Provider value={merged}>{children}</ErrorActionsContext.Provider>;
}

export function useErrorActions(): ErrorActionHandlers {
  return useContext(ErrorActionsContext);
}

function defined(h: ErrorActionHandlers): ErrorActionHandlers {
  return Object.fromEntries(Object.entries(h).filter(([, f]) => typeof f === "function"));
}
