// A place on the same disk as the local backups is shown with the engine's reason and is not
// counted as one more place (issue 42: the 3-2-1 count is true to the disks).
import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { CopyMarks } from "./CopyMarks";

describe("CopyMarks", () => {
  it("does not count a copy on the same medium again and shows why", () => {
    const note = "usb is on the same disk as the local backups: one medium, not two";
    render(
      <CopyMarks
        copies={[
          { place: "This computer", kind: "local", ok: true },
          { place: "usb", kind: "destination", ok: true, same_medium_as: "This computer", note },
          { place: "bucket", kind: "destination", ok: true },
        ]}
      />,
    );
    expect(screen.getByTestId("project-copies")).toHaveAttribute("aria-label", "Kept in 2 of 3 places");
    expect(screen.getByTestId("project-copies")).toHaveAttribute("data-count", "2");
    expect(screen.getByTestId("copy-mark-note")).toHaveTextContent(note);
    const usb = screen.getAllByTestId("copy-mark")[1];
    expect(usb).toHaveAttribute("data-same-medium", "This computer");
    expect(usb).toHaveAttribute("title", note);
  });
});
