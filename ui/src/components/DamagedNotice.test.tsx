import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { DamagedNotice } from "./DamagedNotice";

describe("a damaged archive's notice", () => {
  it("keeps the engine's detail (the bad part and its checksums) behind Details, the hint in front", () => {
    render(
      <DamagedNotice
        testId="d"
        error={{
          code: "integrity",
          message: "the archive is damaged: database.dump does not match its checksum",
          hint: "Nothing was imported. Use another copy of this backup.",
          detail: "bad member database.dump (sha256 9f86d081884c != 60303ae22b99)",
          retryable: false,
        }}
      />,
    );
    expect(screen.getByTestId("d-hint")).toHaveTextContent(/^Nothing was imported\. Use another copy of this backup\.$/);
    const details = screen.getByTestId("d-details");
    expect(details).not.toHaveAttribute("open");
    expect(details).toHaveTextContent("bad member database.dump");
    expect(screen.getByTestId("d-next").textContent).not.toContain("bad member");
  });
});
