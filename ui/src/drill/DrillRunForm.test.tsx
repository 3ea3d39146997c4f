import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { AT_TIME, DrillRunForm, scratchUrlProblem } from "./DrillRunForm";
import { localFieldToUtc } from "../wizard/pitr/time";
import { hourWindow } from "../test/windows";

const backups = [
  { id: "b2", created_at: "2026-11-24T04:00:00Z", label: "database · 1.0 MB" },
  { id: "b1", created_at: "2026-11-23T04:00:00Z", label: "database · 1.0 MB" },
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
    // Says why beside it (issue 64 item 6).
    expect(screen.getByTestId("drill-run-why")).toHaveTextContent("A drill of this project is running now.");
    expect(scratchUrlProblem("")).not.toBeNull();
    expect(scratchUrlProblem("mysql://x")).not.toBeNull();
    expect(scratchUrlProblem("postgresql://h/db")).toBeNull();
  });

  describe("a point in time", () => {
    const windows = [hourWindow()];

    it("is offered only where the project has restorable windows", () => {
      const view = render(<DrillRunForm backups={backups} defaultTarget={{ kind: "throwaway" }} running={false} onRun={() => {}} />);
      expect(screen.getByTestId("drill-backup")).not.toHaveTextContent("A point in time");
      view.rerender(
        <DrillRunForm backups={backups} defaultTarget={{ kind: "throwaway" }} running={false} onRun={() => {}} windows={windows} />,
      );
      expect(screen.getByTestId("drill-backup")).toHaveTextContent("A point in time…");
      expect(screen.queryByTestId("drill-at")).not.toBeInTheDocument();
    });

    it("drills the chosen second, starting at the newest restorable one, the windows beside it", () => {
      const onRun = vi.fn();
      render(
        <DrillRunForm backups={backups} defaultTarget={{ kind: "throwaway" }} running={false} onRun={onRun} windows={windows} />,
      );
      fireEvent.change(screen.getByTestId("drill-backup"), { target: { value: AT_TIME } });
      const field = screen.getByTestId("drill-at") as HTMLInputElement;
      expect(localFieldToUtc(field.value)).toBe("2026-11-26T06:00:00Z");
      expect(screen.getByTestId("drill-at-windows")).toHaveTextContent(/restorable 2026-11-2\d \d\d:00:00 to 2026-11-2\d \d\d:00:00/);
      fireEvent.change(field, { target: { value: "2026-11-26T05:30:15" } });
      fireEvent.click(screen.getByTestId("drill-run"));
      expect(onRun).toHaveBeenCalledWith({ backup: null, target: { kind: "throwaway" }, at: localFieldToUtc("2026-11-26T05:30:15") });
    });

    it("starts nothing without a time", () => {
      const onRun = vi.fn();
      render(
        <DrillRunForm backups={backups} defaultTarget={{ kind: "throwaway" }} running={false} onRun={onRun} windows={windows} />,
      );
      fireEvent.change(screen.getByTestId("drill-backup"), { target: { value: AT_TIME } });
      expect(screen.queryByTestId("drill-run-why")).toBeNull();
      fireEvent.change(screen.getByTestId("drill-at"), { target: { value: "" } });
      expect(screen.getByTestId("drill-run")).toBeDisabled();
      expect(screen.getByTestId("drill-run-why")).toHaveTextContent("Enter a date and time to drill.");
      fireEvent.submit(screen.getByTestId("drill-run-form"));
      expect(onRun).not.toHaveBeenCalled();
    });
  });
});
