// A restore plan's warning reads as a sentence first; the engine's words (archive format, raw
// byte counts, pg_restore flags) wait behind "Details" (issue 44).
import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { DETAILS, Warning } from "./ReviewStep";

const note =
  "The backup is unpacked into a temporary folder first (it needs 3.8 MB of free disk, freed again afterwards), then restored by several workers at once: faster, but not one transaction." +
  DETAILS +
  "this backup is a directory dump (archive format 2): it is extracted to a private temporary folder (4007056 bytes of temporary disk, removed afterwards) and restored by pg_restore -j 2";

describe("a restore plan's warning", () => {
  it("shows the sentence, and the engine's words only behind Details", () => {
    render(
      <ul>
        <Warning text={note} />
      </ul>,
    );
    const li = screen.getByTestId("wizard-warning");
    const details = within(li).getByTestId("wizard-warning-details") as HTMLDetailsElement;
    expect(details.open).toBe(false);
    // The visible sentence has no engine words.
    const visible = (li.firstChild?.textContent ?? "") as string;
    expect(visible).toMatch(/^The backup is unpacked/);
    for (const word of ["archive format", "4007056", "pg_restore", "directory dump"]) expect(visible).not.toContain(word);
    expect(within(details).getByText("Details")).toBeInTheDocument();
    fireEvent.click(within(details).getByText("Details"));
    expect(details).toHaveTextContent("pg_restore -j 2");
  });

  it("shows a warning without details as it is", () => {
    render(
      <ul>
        <Warning text="The target has no role app_owner." />
      </ul>,
    );
    expect(screen.getByTestId("wizard-warning")).toHaveTextContent("The target has no role app_owner.");
    expect(screen.queryByTestId("wizard-warning-details")).toBeNull();
  });
});
