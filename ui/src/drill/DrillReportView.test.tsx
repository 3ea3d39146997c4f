import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { DrillReportView } from "./DrillReportView";
import { reportFixture } from "./fixtures";

describe("DrillReportView", () => {
  it("lists every check with expected, found and status, and the verdict and RTO", () => {
    render(<DrillReportView report={reportFixture()} />);
    expect(screen.getByTestId("drill-report")).toHaveAttribute("data-verdict", "passed");
    expect(screen.getByTestId("drill-report-verdict")).toHaveTextContent("Passed");
    expect(screen.getByTestId("drill-report-rto")).toHaveTextContent("RTO 4 min");
    const rows = screen.getAllByTestId("drill-check");
    expect(rows.map((r) => r.getAttribute("data-check"))).toEqual(["verify", "table:public.orders", "table:public.events"]);
    const orders = rows[1]!;
    expect(within(orders).getAllByText("1204 rows, sha256 9f12…")).toHaveLength(2);
    expect(orders).toHaveTextContent("Passed");
    expect(rows[2]).toHaveAttribute("data-status", "not_comparable");
    expect(within(rows[2]!).getByTestId("drill-check-detail")).toHaveTextContent("row count compared instead");
    expect(screen.getByTestId("drill-report-counts")).toHaveTextContent("2 passed · 1 not comparable");
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
});
