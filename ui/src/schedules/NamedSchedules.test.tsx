import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ScheduleView } from "../bindings";
import { NamedSchedules } from "./NamedSchedules";

const base: ScheduleView = {
  project: "shop",
  kind: "backup",
  name: "hourly",
  backup_type: "database",
  selection: null,
  destinations: ["laptop"],
  retention: { keep_last: 24, keep_hourly: null, keep_daily: null, keep_weekly: null, keep_monthly: null, keep_yearly: null, keep_within: null },
  retention_from: "schedule",
  retention_rules: "keep-last 24",
  spec: "every 1h",
  when: { kind: "every", hours: 1 },
  time_zone: "UTC",
  verify_newest: null,
  paused: false,
  created_at: "2026-11-20T10:00:00Z",
  last_slot: null,
  retry_at: null,
  next_runs: ["2026-11-20T11:00:00Z"],
  tenant: null,
};

describe("NamedSchedules", () => {
  it("lists each named schedule with its destinations and whose retention", () => {
    render(
      <NamedSchedules
        list={[
          base,
          { ...base, name: "monthly", backup_type: "full", destinations: null, retention: null, retention_from: "project", retention_rules: "keep-daily 7" },
        ]}
      />,
    );
    const rows = screen.getAllByTestId("named-schedule");
    expect(rows.map((r) => r.dataset.name)).toEqual(["hourly", "monthly"]);
    const [hourly, monthly] = rows as [HTMLElement, HTMLElement];
    expect(within(hourly).getByTestId("named-schedule-destinations")).toHaveTextContent("laptop");
    expect(within(hourly).getByTestId("named-schedule-retention")).toHaveTextContent("its own (keep-last 24)");
    expect(within(monthly).getByTestId("named-schedule-destinations")).toHaveTextContent("every destination");
    expect(within(monthly).getByTestId("named-schedule-retention")).toHaveTextContent("the project's (keep-daily 7)");
  });

  it("shows nothing without named schedules", () => {
    const { container } = render(<NamedSchedules list={[]} />);
    expect(container).toBeEmptyDOMElement();
  });
});
