// "Recover these rows…" through the generated commands and the app's job store.
import { useMemo } from "react";
import { commands } from "../bindings";
import { call } from "../ipc/call";
import { useProjects, useStore } from "../store";
import type { RecoverApi } from "./RecoverWizard";

/** The wizard's commands, and the saved projects it can recover into (`project` first). */
export function useRecover(project: string): { api: RecoverApi; projects: string[] } {
  const store = useStore();
  const list = useProjects();
  const projects = useMemo(() => {
    const names = list.status === "ready" ? list.data.map((p) => p.project.name) : [];
    return [project, ...names.filter((n) => n !== project)];
  }, [list, project]);
  const api = useMemo<RecoverApi>(
    () => ({
      plan: (request) => call(commands.planRecover(request)),
      start: async (request) => {
        await store.ready();
        return call(commands.startRecover(request));
      },
      undo: async (undoId, password) => {
        await store.ready();
        return call(commands.startRecoverUndo(undoId, password));
      },
      follow: (jobId, handlers) => store.follow(jobId, handlers),
      cancel: (jobId) => store.cancel(jobId),
    }),
    [store],
  );
  return { api, projects };
}
