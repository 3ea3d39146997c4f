// The drill screen's calls, through the generated commands. Parts whose engine side is not in
// this build are absent (the screen then leaves them out: no dead buttons).
import { useMemo } from "react";
import { commands, type DrillSummary } from "../bindings";
import type { DrillGlance } from "./text";
import { call } from "../ipc/call";
import { useStore } from "../store";
import type { DrillRow } from "./DrillList";
import type { DrillApi } from "./DrillsScreen";

/** A catalog drill summary as the list shows it. */
export function drillRow(s: DrillSummary): DrillRow {
  return {
    id: s.id,
    backup_id: s.backup_id,
    started_at: s.started_at,
    finished_at: s.finished_at,
    verdict: s.verdict,
    rto_seconds: s.rto_seconds,
    failed_check: s.failed_check_title,
  };
}

export function useDrillApi(): DrillApi {
  const store = useStore();
  return useMemo<DrillApi>(
    () => ({
      list: async (project) => {
        const r = await call(commands.listDrills(project));
        return r.ok ? { ok: true, data: r.data.map(drillRow) } : r;
      },
      report: async (id) => {
        const r = await call(commands.getDrill(id));
        return r.ok ? { ok: true, data: r.data.report } : r;
      },
      verify: async (id) => {
        const r = await call(commands.verifyDrillSignature(id));
        return r.ok ? { ok: true, data: { valid: r.data.valid, detail: r.data.detail } } : r;
      },
      save: (id) => call(commands.saveDrillReport(id)),
      start: async (project, request) => {
        const started = await store.startDrill(
          project,
          request.backup,
          request.target.kind === "server" ? request.target.url : null,
          request.at ?? null,
        );
        return started.ok ? { ok: true, data: started.id } : started;
      },
      windows: async (project) => {
        const r = await call(commands.pitrStatus(project));
        return r.ok ? { ok: true, data: r.data.windows } : r;
      },
      defaultTarget: async (project) => {
        const r = await call(commands.getDrillSettings(project));
        return r.ok && r.data.server_url ? { kind: "server", url: r.data.server_url } : { kind: "throwaway" };
      },
      settings: {
        get: (project) => call(commands.getDrillSettings(project)),
        save: (project, s) => call(commands.setDrillSettings(project, s.serverUrl, s.password, s.storageSample)),
      },
      checks: {
        list: async (project) => {
          const r = await call(commands.listValidationChecks(project));
          return r.ok ? { ok: true, data: r.data.map((c) => ({ id: c.id, sql: c.sql, expect: c.expect, title: c.title })) } : r;
        },
        add: (project, sql, expect) => call(commands.addValidationCheck(project, null, sql, expect)),
        remove: (project, id) => call(commands.removeValidationCheck(project, id)),
      },
    }),
    [store],
  );
}

/** What the project card and page say about a summary's drill. */
export function glance(s: DrillSummary | null | undefined): DrillGlance | null {
  if (!s) return null;
  return { finished_at: s.finished_at, verdict: s.verdict, rto_seconds: s.rto_seconds, failed_check: s.failed_check_title };
}
