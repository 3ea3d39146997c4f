import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { DrillRunForm, scratchUrlProblem } from "./DrillRunForm";

const backups = [
  { id: "b2", created_at: "2026-11-24T04:00:00Z", label: "database · 1.0 MiB" },
  { id: "b1", created_at: "2026-11-23T04:00:00Z", label: "database · 1.0 MiB" },
];

describe("DrillRunForm", () => {
  it("runs the newest backup into a throwaway cluster by default", () => {
    const onRun = vi.fn();
    render(<DrillRunForm backups={backups} defaultTarget={{ kind: "throwaway" }} running={false} onRun={onRun} />);
    fireEvent.click(screen.getByTestId("drill-run"));
    expect(onRun).toHaveBeenCalledWith({ backup: null, target: { kind: "throwaway" } });
  });

  it("takes a chosen backup and a scratch server URL, refusing a URL that is not postgres://", () => {
    const onRun = vi.fn();
    render(<DrillRunForm backups={backups} defaultTarget={{ kind: "throwaway" }} running={false} onRun={onRun} />);
    fireEvent.change(screen.getByTestId("drill-backup"), { target: { value: "b1" } });
    fireEvent.click(screen.getByTestId("drill-target-server"));
    fireEvent.change(screen.getByTestId("drill-server-url"), { target: { value: "mysql://x" } });
    fireEvent.click(screen.getByTestId("drill-run"));
    expect(onRun).not.toHaveBeenCalled();
    expect(screen.getByTestId("drill-server-url-error")).toBeInTheDocument();
    fireEvent.change(screen.getByTestId("drill-server-url"), { target: { value: " postgres://u:p@db:5432/postgres " } });
    fireEvent.click(screen.getByTestId("drill-run"));
    expect(onRun).toHaveBeenCalledWith({ backup: "b1", target: { kind: "server", url: "postgres://u:p@db:5432/postgres" } });
  });

  it("starts from the target the settings name, and cannot start twice", () => {
    render(
      <DrillRunForm
        backups={backups}
        defaultTarget={{ kind: "server", url: "postgres://u@scratch/postgres" }}
        running={true}
        onRun={() => {}}
      />,
    );
    expect(screen.getByTestId("drill-server-url")).toHaveValue("postgres://u@scratch/postgres");
    expect(screen.getByTestId("drill-run")).toBeDisabled();
    expect(scratchUrlProblem("")).not.toBeNull();
    expect(scratchUrlProblem("postgresql://h/db")).toBeNull();
  });
});
