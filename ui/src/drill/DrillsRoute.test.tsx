import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { DrillSummary } from "../bindings";
import { Main } from "../screens/Main";
import { summary } from "../screens/fixtures";
import { reportFixture } from "./fixtures";

const drill: DrillSummary = {
  id: "d-1",
  backup_id: "backup-0",
  started_at: "2026-11-24T05:00:00Z",
  finished_at: "2026-11-24T05:04:00Z",
  verdict: "failed",
  rto_seconds: 240,
  failed_check_id: "table:public.orders",
  failed_check_title: "Table public.orders: rows and content",
  report_path: "/data/drills/shop/d-1.json",
};

describe("the drills screen in the app", () => {
  it("lists the project's drills and starts a drill through start_drill", async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    const checks: { id: string; project_id: string; title: string | null; sql: string; expect: string; created_at: string }[] = [];
    mockIPC(
      (cmd, args) => {
        calls.push({ cmd, args });
        switch (cmd) {
          case "list_projects":
            return [summary("shop", null)];
          case "get_project":
            return summary("shop", null);
          case "list_jobs":
          case "list_backups":
          case "list_schedules":
          case "list_destinations":
          case "list_copies":
          case "removal_forecast":
            return [];
          case "list_drills":
            return [drill];
          case "get_drill":
            return { ...drill, project_id: "p-shop", job_id: "j", report: reportFixture({ drill_id: "d-1" }) };
          case "start_drill":
            return "job-d";
          case "pitr_status":
            return { enabled: false, windows: [], slot: null, rpo_seconds: null };
          case "verify_drill_signature":
            return { valid: false, key_id: null, detail: "the signature does not match" };
          case "save_drill_report":
            return "/tmp/offsite-drill-d1.html";
          case "list_validation_checks":
            return checks;
          case "get_drill_settings":
            return { server_url: null, server_password_saved: false, storage_sample: null };
          case "set_drill_settings": {
            const a = args as { serverUrl: string | null; storageSample: number | null };
            return { server_url: a.serverUrl, server_password_saved: true, storage_sample: a.storageSample };
          }
          case "add_validation_check": {
            const a = args as { sql: string; expect: string; title: string | null };
            const c = { id: `c${checks.length + 1}`, project_id: "p-shop", title: a.title, sql: a.sql, expect: a.expect, created_at: "" };
            checks.push(c);
            return c;
          }
          default:
            return null;
        }
      },
      { shouldMockEvents: true },
    );
    render(<Main initial={{ screen: "drills", name: "shop" }} />);
    const row = await screen.findByTestId("drill-row");
    expect(row).toHaveAttribute("data-verdict", "failed");
    expect(row).toHaveTextContent("Table public.orders: rows and content");
    fireEvent.click(screen.getByTestId("drill-open"));
    expect(await screen.findByTestId("drill-report")).toBeInTheDocument();
    // An edited report says so.
    await waitFor(() => expect(screen.getByTestId("drill-signature")).toHaveAttribute("data-state", "invalid"));
    expect(screen.getByTestId("drill-signature")).toHaveTextContent("the signature does not match");
    fireEvent.click(screen.getByTestId("drill-report-save"));
    expect(await screen.findByTestId("drill-report-saved")).toHaveTextContent("/tmp/offsite-drill-d1.html");
    expect(calls.find((c) => c.cmd === "save_drill_report")?.args).toEqual({ id: "d-1" });
    fireEvent.click(screen.getByTestId("drill-run"));
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === "start_drill")?.args).toEqual({ project: "shop", backup: null, server: null, at: null }),
    );
    // The drill settings go to the engine through set_drill_settings (the password too, once).
    fireEvent.click(await screen.findByTestId("drill-settings-server"));
    fireEvent.change(screen.getByTestId("drill-settings-url"), { target: { value: "postgres://drill@scratch/postgres" } });
    fireEvent.change(screen.getByTestId("drill-settings-password"), { target: { value: "pw" } });
    fireEvent.click(screen.getByTestId("drill-settings-save"));
    expect(await screen.findByTestId("drill-settings-saved")).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === "set_drill_settings")?.args).toEqual({
      project: "shop",
      serverUrl: "postgres://drill@scratch/postgres",
      serverPassword: "pw",
      storageSample: null,
    });
    // A validation query goes to the engine and comes back in the list.
    fireEvent.change(await screen.findByTestId("validation-check-sql"), { target: { value: "select count(*) from orders" } });
    fireEvent.change(screen.getByTestId("validation-check-expect-input"), { target: { value: ">= 1000" } });
    fireEvent.click(screen.getByTestId("validation-check-add"));
    expect(await screen.findByTestId("validation-check")).toHaveTextContent("select count(*) from orders");
    expect(calls.find((c) => c.cmd === "add_validation_check")?.args).toEqual({
      project: "shop",
      title: null,
      sql: "select count(*) from orders",
      expect: ">= 1000",
    });
  });
});
