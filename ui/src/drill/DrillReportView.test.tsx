import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { DrillReportView } from "./DrillReportView";
import { reportFixture } from "./fixtures";

describe("DrillReportView", () => {
  it("lists every check with expected, found and status, and the verdict and RTO", () => {
    render(<DrillReportView report={reportFixture()} />);
    expect(screen.getByTestId("drill-report")).toHaveAttribute("data-verdict", "passed");
    expect(screen.getByTestId("drill-report-verdict")).toHaveTextContent("Passed");
    expect(screen.getByTestId("drill-report-rto")).toHaveTextContent(/^4 min$/);
    const rows = screen.getAllByTestId("drill-check");
    expect(rows.map((r) => r.getAttribute("data-check"))).toEqual(["verify", "table:public.orders", "table:public.events"]);
    const orders = rows[1]!;
    expect(within(orders).getAllByText("1204 rows, sha256 9f12…")).toHaveLength(2);
    expect(orders).toHaveTextContent("Passed");
    expect(rows[2]).toHaveAttribute("data-status", "not_comparable");
    expect(within(rows[2]!).getByTestId("drill-check-detail")).toHaveTextContent("row count compared instead");
    expect(screen.getByTestId("drill-report-counts")).toHaveTextContent("2 passed · 1 not comparable");
  });

  it("keeps a check's detail (the engine's line: ids, log positions) under a closed Details (issue 64 item 4)", () => {
    const at = {
      id: "point_in_time",
      title: "shop as it was at 2026-11-28 06:31:23 UTC",
      status: "passed" as const,
      expected: "the project as it was at that moment",
      actual: "the backup of 2026-11-28 06:00:02 UTC with 3 transactions replayed after it",
      detail: "shop as at 2026-11-28T06:31:23.443668Z: base c39820ee-144f-4804-981c-a7c1d1daa1a7 (taken 2026-11-28T06:00:02.231895Z) + 3 transactions replayed up to the commit at 2026-11-28T06:31:20.921657Z (LSN 0/2DDDAA0)",
    };
    render(<DrillReportView report={reportFixture({ checks: [at] })} />);
    const row = screen.getByTestId("drill-check");
    const details = within(row).getByTestId("drill-check-detail");
    expect(details.tagName).toBe("DETAILS");
    expect(details).not.toHaveAttribute("open");
    expect(within(details).getByText("Details")).toBeInTheDocument();
    expect(details.querySelector("[data-engine-text]")?.getAttribute("data-engine-text")).toContain("LSN 0/2DDDAA0");
  });

  it("says where and how fast in plain words; the engine's terms only behind Details (issue 44: drill-01)", () => {
    const { unmount } = render(
      <DrillReportView
        report={reportFixture({
          source_server_version: "15.18 (Debian 15.18-0+deb12u1)",
          target: { kind: "throwaway", server_version: "PostgreSQL 15.18 (Debian 15.18-0+deb12u1)", location: "private socket" },
          ran_by: { hostname: "vm", os: "linux x86_64", offsite_version: "offsite 0.1.0", pg_restore: "pg_restore (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" },
        })}
      />,
    );
    const facts = screen.getByTestId("drill-report-facts");
    expect(facts).not.toHaveTextContent(/private socket|RTO|Debian|pg_restore|SHA-256/);
    expect(screen.getByTestId("drill-report-target")).toHaveTextContent(
      "A throwaway server on this computer (PostgreSQL 15.18), removed afterwards",
    );
    expect(facts).toHaveTextContent("Backup made fromPostgreSQL 15.18");
    const technical = screen.getByTestId("drill-report-technical");
    expect(technical).not.toHaveAttribute("open");
    expect(technical).toHaveTextContent("RTO (recovery time objective)");
    expect(screen.getByTestId("drill-report-target-raw")).toHaveTextContent("private socket (PostgreSQL 15.18 (Debian 15.18-0+deb12u1))");
    unmount();
    render(
      <DrillReportView
        report={reportFixture({ target: { kind: "server", server_version: "PostgreSQL 16.4", location: "db.example.com:5432/offsite_drill_01" } })}
      />,
    );
    expect(screen.getByTestId("drill-report-target")).toHaveTextContent("The scratch server db.example.com:5432 (PostgreSQL 16.4)");
  });

  it("shows a failed verdict and the failed check's values", () => {
    const base = reportFixture();
    const checks = base.checks.map((c) =>
      c.id === "table:public.orders" ? { ...c, status: "failed" as const, actual: "0 rows" } : c,
    );
    render(<DrillReportView report={{ ...base, checks, verdict: "failed" }} />);
    expect(screen.getByTestId("drill-report-verdict")).toHaveTextContent("Failed");
    const failed = screen.getAllByTestId("drill-check").find((r) => r.getAttribute("data-status") === "failed")!;
    expect(failed).toHaveTextContent("0 rows");
  });

  it("says whether the signature verifies, and saves the report on request", () => {
    const onSave = vi.fn();
    const { rerender } = render(
      <DrillReportView report={reportFixture()} signature={{ status: "valid", detail: null }} onSave={onSave} />,
    );
    expect(screen.getByTestId("drill-signature")).toHaveAttribute("data-state", "valid");
    fireEvent.click(screen.getByTestId("drill-report-save"));
    expect(onSave).toHaveBeenCalledTimes(1);
    rerender(
      <DrillReportView
        report={reportFixture()}
        signature={{ status: "invalid", detail: "signature mismatch" }}
        save={{ status: "saved", path: "/tmp/shop-drill.html" }}
        onSave={onSave}
      />,
    );
    expect(screen.getByTestId("drill-signature")).toHaveAttribute("data-state", "invalid");
    expect(screen.getByTestId("drill-report-saved")).toHaveTextContent("/tmp/shop-drill.html");
  });

  it("writes a checksum in a check as its first and last 8 characters, whole in its title (drill-01 spread it over three lines)", () => {
    const sha = "028b49eea643b9f90f03ab8bacd6ae1fbdd346022a1e7ff006692e88b9e660c6";
    const report = reportFixture();
    report.checks = report.checks.map((c) =>
      c.id === "verify" ? { ...c, expected: `sha256 ${sha}, every file in the archive matches its SHA-256`, actual: `sha256 ${sha}, 4 of 4 files match` } : c,
    );
    render(<DrillReportView report={report} />);
    const verify = screen.getAllByTestId("drill-check")[0]!;
    const hashes = verify.querySelectorAll(".hash-short");
    expect(hashes).toHaveLength(2);
    expect(hashes[0]).toHaveTextContent(/^028b49ee…b9e660c6$/);
    expect(hashes[0]).toHaveAttribute("title", sha);
    expect(verify).toHaveTextContent("sha256 028b49ee…b9e660c6, every file in the archive matches its SHA-256");
    expect(verify).not.toHaveTextContent(sha);
  });
});
