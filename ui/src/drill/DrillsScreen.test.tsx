import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { StoreProvider } from "../store";
import { backup } from "../screens/fixtures";
import type { DrillRow } from "./DrillList";
import { type DrillApi, DrillsScreen, drillIdOf } from "./DrillsScreen";
import { reportFixture } from "./fixtures";
import { hourWindow } from "../test/windows";

const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });

function fakeApi(over: Partial<DrillApi> = {}) {
  const drills: DrillRow[] = [];
  const api: DrillApi = {
    list: vi.fn(() => ok([...drills])),
    report: vi.fn((id: string) => ok(reportFixture({ drill_id: id }))),
    verify: vi.fn(() => ok({ valid: true, detail: null })),
    save: vi.fn(() => ok("/tmp/shop-drill.html")),
    start: vi.fn(() => ok("job-d")),
    defaultTarget: () => Promise.resolve({ kind: "throwaway" as const }),
    checks: {
      list: vi.fn(() => ok([])),
      add: vi.fn(() => ok(null)),
      remove: vi.fn(() => ok(null)),
    },
    ...over,
  };
  return { api, drills };
}

function mount(api: DrillApi, backups = [backup(0), backup(1, { status: "corrupt" })]) {
  mockIPC(
    (cmd) => {
      if (cmd === "list_backups") return backups;
      if (cmd === "list_jobs") return [];
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
  render(
    <StoreProvider>
      <DrillsScreen project="shop" api={api} onBack={() => {}} />
    </StoreProvider>,
  );
}

describe("DrillsScreen", () => {
  it("two backups of the same second read differently among the choices (issue 44)", async () => {
    const { api } = fakeApi();
    const at = "2026-11-26T18:12:16Z";
    mount(api, [backup(0, { id: "b-new", created_at: at, size: 41_472 }), backup(1, { id: "b-old", created_at: at, size: 41_472 })]);
    await waitFor(() => expect(screen.getByTestId("drill-backup").querySelectorAll("option").length).toBe(3));
    const labels = Array.from(screen.getByTestId("drill-backup").querySelectorAll("option")).slice(1).map((o) => o.textContent);
    expect(new Set(labels).size).toBe(2);
    expect(labels[0]).toMatch(/:12:16 \(2 of 2\) · 40\.5 KB$/);
    expect(labels[1]).toMatch(/:12:16 \(1 of 2\) · 40\.5 KB$/);
  });

  it("runs a drill, shows its progress, then lists it and opens its report with the signature", async () => {
    const { api, drills } = fakeApi();
    mount(api);
    expect(await screen.findByTestId("drills-empty")).toBeInTheDocument();
    // A corrupt backup is no choice for a drill.
    await waitFor(() => expect(screen.getByTestId("drill-backup").querySelectorAll("option")).toHaveLength(2));
    fireEvent.click(screen.getByTestId("drill-run"));
    await waitFor(() => expect(api.start).toHaveBeenCalledWith("shop", { backup: null, target: { kind: "throwaway" } }));
    await act(async () => {
      await emit("job-progress", {
        job_id: "job-d",
        phase: "restoring",
        bytes_done: 10,
        bytes_total: 100,
        bytes_per_sec: 5,
        finished: false,
      });
    });
    expect(await screen.findByTestId("job-running")).toHaveAttribute("data-job-id", "job-d");
    expect(screen.getByTestId("drill-run")).toBeDisabled();
    drills.push({
      id: "d-1",
      backup_id: "backup-0",
      started_at: "2026-11-24T05:00:00Z",
      finished_at: "2026-11-24T05:04:00Z",
      verdict: "passed",
      rto_seconds: 240,
      failed_check: null,
    });
    await act(async () => {
      await emit("job-finished", {
        job_id: "job-d",
        kind: "drill",
        ok: true,
        error: null,
        result: { kind: "drill", report: reportFixture({ drill_id: "d-1" }) },
      });
    });
    expect(await screen.findByTestId("drill-row")).toHaveAttribute("data-verdict", "passed");
    expect(await screen.findByTestId("drill-report")).toHaveAttribute("data-verdict", "passed");
    await waitFor(() => expect(screen.getByTestId("drill-signature")).toHaveAttribute("data-state", "valid"));
    expect(api.report).toHaveBeenCalledWith("d-1");
    fireEvent.click(screen.getByTestId("drill-report-save"));
    expect(await screen.findByTestId("drill-report-saved")).toHaveTextContent("/tmp/shop-drill.html");
  });

  it("shows a refused start and keeps the form", async () => {
    const { api } = fakeApi({
      start: vi.fn(() =>
        Promise.resolve({
          ok: false as const,
          error: { code: "not_found" as const, message: "no PostgreSQL server binaries found", hint: "install postgresql", retryable: false },
        }),
      ),
    });
    mount(api);
    fireEvent.click(await screen.findByTestId("drill-run"));
    expect(await screen.findByTestId("drill-start-error")).toHaveAttribute("data-code", "not_found");
    expect(screen.queryByTestId("job-running")).toBeNull();
  });

  it("drills the project at a point in time where it has restorable windows, refused times said as the engine says them", async () => {
    const windows = [hourWindow()];
    const { api } = fakeApi({
      windows: vi.fn(() => ok(windows)),
      start: vi.fn(() =>
        Promise.resolve({
          ok: false as const,
          error: {
            code: "invalid_input" as const,
            message: "no restorable window holds 2026-11-26T07:00:00Z; nearest restorable times: before 2026-11-26T06:00:00Z, after none",
            hint: null,
            retryable: false,
          },
        }),
      ),
    });
    mount(api);
    await waitFor(() => expect(screen.getByTestId("drill-backup")).toHaveTextContent("A point in time…"));
    expect(api.windows).toHaveBeenCalledWith("shop");
    fireEvent.change(screen.getByTestId("drill-backup"), { target: { value: "@time" } });
    fireEvent.click(screen.getByTestId("drill-run"));
    await waitFor(() => expect(api.start).toHaveBeenCalledWith("shop", { backup: null, target: { kind: "throwaway" }, at: "2026-11-26T06:00:00Z" }));
    expect(await screen.findByTestId("drill-start-error")).toHaveTextContent("nearest restorable times");
  });

  it("reads the drill id only from a drill job's result", () => {
    expect(drillIdOf({ kind: "drill", report: { drill_id: "d-9" } })).toBe("d-9");
    expect(drillIdOf({ kind: "backup", backup: {} })).toBeNull();
    expect(drillIdOf(null)).toBeNull();
  });

  it("lists a drill another process recorded when the catalog's change feed names it", async () => {
    const { api, drills } = fakeApi();
    mount(api);
    expect(await screen.findByTestId("drills-empty")).toBeInTheDocument();
    drills.push({
      id: "d-sched",
      backup_id: "b0",
      started_at: "2026-12-01T04:00:00Z",
      finished_at: "2026-12-01T04:01:00Z",
      verdict: "passed",
      rto_seconds: 42,
      failed_check: null,
    });
    await act(async () => {
      await emit("catalog-changed", {
        changes: [{ seq: 9, entity: "drill", id: "d-sched", project_id: "p-shop", op: "upsert" }],
        reload_all: false,
      });
    });
    await waitFor(() => expect(screen.getByTestId("drill-row")).toHaveAttribute("data-drill", "d-sched"));
  });

  it("shows the drill settings and runs from the saved target once saved", async () => {
    const saved = { server_url: "postgres://drill@scratch:5432/postgres", server_password_saved: true, storage_sample: 10 };
    const settings = {
      get: vi.fn(() => ok({ server_url: null, server_password_saved: false, storage_sample: null })),
      save: vi.fn(() => ok(saved)),
    };
    const { api } = fakeApi({ settings });
    mount(api);
    expect(await screen.findByTestId("drill-settings-form")).toBeInTheDocument();
    expect(screen.getByTestId("drill-run-target")).toHaveAttribute("data-kind", "throwaway");
    // The page asks once where drills restore (issue 44): the settings' radios, no second pair.
    expect(screen.queryByTestId("drill-target-throwaway")).not.toBeInTheDocument();
    expect(screen.getByTestId("drill-settings-target-note")).toHaveTextContent("scheduled drills both use this");
    fireEvent.click(screen.getByTestId("drill-settings-server"));
    fireEvent.change(screen.getByTestId("drill-settings-url"), { target: { value: saved.server_url } });
    fireEvent.change(screen.getByTestId("drill-settings-password"), { target: { value: "pw" } });
    fireEvent.click(screen.getByTestId("drill-settings-storage-sample"));
    fireEvent.change(screen.getByTestId("drill-settings-sample-size"), { target: { value: "10" } });
    await act(async () => fireEvent.click(screen.getByTestId("drill-settings-save")));
    expect(settings.save).toHaveBeenCalledWith("shop", { serverUrl: saved.server_url, password: "pw", storageSample: 10 });
    // "Run drill now" starts from what was saved.
    await waitFor(() => expect(screen.getByTestId("drill-run-target")).toHaveAttribute("data-kind", "server"));
    expect(screen.getByTestId("drill-run-target")).toHaveTextContent("postgres on scratch");
  });
});
