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

  it("takes a chosen backup and restores where the settings say, asking no second time (issue 44)", () => {
    const onRun = vi.fn();
    render(
      <DrillRunForm
        backups={backups}
        defaultTarget={{ kind: "server", url: "postgres://u@scratch:5432/postgres" }}
        running={false}
        onRun={onRun}
      />,
    );
    // No radios of its own: one choice, the drill settings'.
    expect(screen.queryAllByRole("radio")).toHaveLength(0);
    expect(screen.queryByTestId("drill-target-server")).not.toBeInTheDocument();
    expect(screen.getByTestId("drill-run-target")).toHaveTextContent("the scratch server postgres on scratch");
    expect(screen.getByTestId("drill-run-target")).toHaveTextContent("scheduled drills use the same");
    fireEvent.change(screen.getByTestId("drill-backup"), { target: { value: "b1" } });
    fireEvent.click(screen.getByTestId("drill-run"));
    expect(onRun).toHaveBeenCalledWith({ backup: "b1", target: { kind: "server", url: "postgres://u@scratch:5432/postgres" } });
  });

  it("cannot start twice; a scratch URL must be postgres://", () => {
    render(<DrillRunForm backups={backups} defaultTarget={{ kind: "throwaway" }} running={true} onRun={() => {}} />);
    expect(screen.getByTestId("drill-run-target")).toHaveAttribute("data-kind", "throwaway");
    expect(screen.getByTestId("drill-run")).toBeDisabled();
    expect(scratchUrlProblem("")).not.toBeNull();
    expect(scratchUrlProblem("mysql://x")).not.toBeNull();
    expect(scratchUrlProblem("postgresql://h/db")).toBeNull();
  });
});
