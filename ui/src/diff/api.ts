// The Diff view's calls, through the generated commands. A point in time is made by the engine's
// job (`start_open_at`: the base restored, the changes replayed, dumped into a temporary archive the
// app holds), followed through the store, and compared like any backup by that archive's path.
import { useMemo } from "react";
import { commands, type DiffReport } from "../bindings";
import { call } from "../ipc/call";
import { type AppStore, useStore } from "../store";
import type { DiffApi } from "./DiffScreen";

export function diffApiWith(store: AppStore): DiffApi {
  return {
    backups: async (project) => {
      const r = await call(commands.listBackups(project));
      if (!r.ok) return r;
      return { ok: true, data: r.data.map((b) => ({ id: b.id, created_at: b.created_at, path: b.path, backup_type: b.backup_type, size: b.size })) };
    },
    windows: async (project) => {
      const r = await call(commands.pitrStatus(project));
      return r.ok ? { ok: true, data: r.data.windows } : r;
    },
    compare: (from, to, ticket) => call(commands.diffBackups(from, to, { tables: [], rows: false, offset: 0, limit: 0 }, ticket)),
    rows: async (from, to, schema, table, offset, limit, ticket) => {
      const r = await call(commands.diffBackups(from, to, { tables: [{ schema, table }], rows: true, offset, limit }, ticket));
      if (!r.ok) return r;
      const t = (r.data as DiffReport).tables[0];
      if (!t) return { ok: false, error: { code: "not_found", message: `${schema}.${table} is in neither side`, hint: null, retryable: false } };
      return { ok: true, data: t };
    },
    cancel: (ticket) => commands.cancelDiff(ticket),
    openAt: async (project, at, onStarted) => {
      await store.ready();
      const started = await call(commands.startOpenAt(project, at));
      if (!started.ok) return started;
      const jobId = started.data;
      onStarted?.(() => void store.cancel(jobId));
      return new Promise((resolve) => {
        store.follow(jobId, {
          onProgress: () => {},
          onFinished: (f) =>
            resolve(
              f.ok && f.result?.kind === "at_state"
                ? { ok: true, data: f.result.archive }
                : { ok: false, error: f.error ?? { code: "internal", message: "The job ended without a result.", hint: null, retryable: false } },
            ),
        });
      });
    },
    closeAt: (archive) => commands.closeAt(archive).then(
      () => undefined,
      () => undefined,
    ),
  };
}

export function useDiffApi(): DiffApi {
  const store = useStore();
  return useMemo(() => diffApiWith(store), [store]);
}
