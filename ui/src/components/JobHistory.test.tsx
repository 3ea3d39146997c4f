// The Activity table's size column says one number per backup across screens (issue 44,
// screens-light-08: "74.6 KB" under "Bytes" for a backup the Backups list shows as 40.5 KB, and
// "0 B" for a copy that had nothing new to send).
import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { JobRecord } from "../bindings";
import { JobTable } from "./JobHistory";

const job = (over: Partial<JobRecord>): JobRecord => ({
  id: "j",
  project_id: "p",
  kind: "backup",
  state: "succeeded",
  started_at: "2026-11-26T13:34:00Z",
  finished_at: "2026-11-26T13:34:01Z",
  bytes_done: 76_390,
  bytes_total: null,
  error_code: null,
  error_message: null,
  error_hint: null,
  backup_id: "b1",
  ...over,
});

describe("the jobs table's size column", () => {
  it("shows a backup's size as the Backups list does, 'already there' for a copy with nothing to send", () => {
    render(
      <JobTable
        jobs={[
          job({ id: "a" }),
          job({ id: "s", kind: "sync", bytes_done: 0, backup_id: null }),
          job({ id: "v", kind: "verify", bytes_done: 41_472, backup_id: "b1" }),
          job({ id: "r", kind: "restore", bytes_done: 2048, backup_id: null }),
        ]}
        backupSizes={new Map([["b1", 41_472]])}
      />,
    );
    expect(screen.getByRole("columnheader", { name: "Size" })).toBeInTheDocument();
    expect(screen.queryByRole("columnheader", { name: "Bytes" })).not.toBeInTheDocument();
    const sizes = screen.getAllByTestId("job-history-row-size").map((c) => c.textContent);
    expect(sizes).toEqual(["40.5 KB", "already there", "40.5 KB", "2.0 KB"]);
  });
});

describe("a failed job's detail", () => {
  it("is kept behind Details, not in the sentence (issue 44)", () => {
    render(
      <JobTable
        jobs={[
          job({
            id: "f",
            state: "failed",
            backup_id: null,
            error_code: "connection",
            error_message: "the server does not answer",
            error_hint: null,
            error_detail: "connection refused (os error 111)",
          }),
          job({ id: "ok" }),
        ]}
        backupSizes={new Map()}
      />,
    );
    const details = screen.getAllByTestId("job-history-row-detail");
    expect(details).toHaveLength(1);
    expect(details[0]!.tagName).toBe("DETAILS");
    expect(details[0]).not.toHaveAttribute("open");
    expect(details[0]).toHaveTextContent("connection refused (os error 111)");
    const cell = details[0]!.closest("td")!;
    expect((cell.textContent ?? "").replace(details[0]!.textContent ?? "", "")).not.toMatch(/os error/);
    expect(cell).toHaveTextContent(/the server does not answer/);
  });
});

describe("a job whose process died", () => {
  it("shows as Interrupted, with what the next start found (issue 63)", () => {
    render(
      <JobTable
        jobs={[
          job({
            id: "k",
            kind: "restore",
            state: "interrupted",
            backup_id: null,
            error_code: "interrupted",
            error_message: "interrupted (Offsite stopped while it ran): what it had created was dropped again",
            error_hint: "run the restore again",
          }),
        ]}
        backupSizes={new Map()}
      />,
    );
    const state = screen.getByText("Interrupted");
    expect(state).toHaveClass("state-interrupted");
    expect(state.closest("tr")).toHaveTextContent(/what it had created was dropped again/);
  });
});
