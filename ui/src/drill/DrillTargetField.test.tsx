import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { DrillTargetField } from "./DrillTargetField";

describe("DrillTargetField", () => {
  it("shows the chosen target under the legend and reports the other one when clicked", () => {
    const onChange = vi.fn();
    render(<DrillTargetField legend="Restore into" name="t" testIdPrefix="x" kind="throwaway" onChange={onChange} />);
    expect(screen.getByRole("group", { name: "Restore into" })).toBeInTheDocument();
    expect(screen.getByTestId("x-throwaway")).toBeChecked();
    expect(screen.getByTestId("x-server")).not.toBeChecked();
    fireEvent.click(screen.getByTestId("x-server"));
    expect(onChange).toHaveBeenCalledWith("server");
  });

  it("names both radios with the group name so only one is chosen", () => {
    const onChange = vi.fn();
    render(<DrillTargetField legend="Where" name="group-a" testIdPrefix="y" kind="server" onChange={onChange} />);
    expect(screen.getByTestId("y-server")).toBeChecked();
    expect(screen.getByTestId("y-throwaway")).toHaveAttribute("name", "group-a");
    expect(screen.getByTestId("y-server")).toHaveAttribute("name", "group-a");
    fireEvent.click(screen.getByTestId("y-throwaway"));
    expect(onChange).toHaveBeenCalledWith("throwaway");
  });
});
