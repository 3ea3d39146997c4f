import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { DrillList } from "./DrillList";
import { DrillReportView } from "./DrillReportView";
import { reportFixture } from "./fixtures";
import { drillBackupName } from "./text";

// Backups are named by their date and type, never by their id (issue 44): drills too.
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const ID = "0199a3c4-7e1f-7a2b-9c3d-4e5f6a7b8c9d";
const names = new Map([[ID, { backup_type: "database" as const, created_at: "2026-11-23T03:00:00Z" }]]);

describe("a drill's backup is named by its type and time", () => {
  it("the past drills list", () => {
    render(
      <DrillList
        drills={[
          { id: "d1", backup_id: ID, started_at: "2026-11-24T10:00:00Z", finished_at: "2026-11-24T10:04:00Z", verdict: "passed", rto_seconds: 240, failed_check: null },
          { id: "d2", backup_id: "0199a3c4-0000-7a2b-9c3d-4e5f6a7b8c9d", started_at: "2026-11-20T10:00:00Z", finished_at: "2026-11-20T10:04:00Z", verdict: "passed", rto_seconds: 240, failed_check: null },
        ]}
        selected={null}
        names={names}
        onOpen={() => {}}
      />,
    );
    const cells = screen.getAllByTestId("drill-backup-name");
    expect(cells[0]).toHaveTextContent(/^Database backup of 2026-11-23 \d\d:00$/);
    expect(cells[1]).toHaveTextContent("A backup no longer in the list");
    expect(screen.getByTestId("drill-list").textContent).not.toMatch(UUID);
    // In the row's own size, as its other cells (drill-01 showed it smaller).
    expect(cells[0]).not.toHaveClass("small");
  });

  it("the drill's report", () => {
    render(<DrillReportView report={reportFixture({ backup_id: ID })} names={names} />);
    expect(screen.getByTestId("drill-report-backup")).toHaveTextContent(/^Database backup of 2026-11-23/);
    expect(screen.getByTestId("drill-report").textContent).not.toMatch(UUID);
  });

  it("a removed backup is named by the time its report recorded", () => {
    expect(drillBackupName(ID, new Map(), "2026-11-23T03:00:00Z")).toMatch(/^Backup of 2026-11-23 \d\d:00 \(no longer in the list\)$/);
    expect(drillBackupName(ID, new Map())).not.toMatch(UUID);
  });
});
