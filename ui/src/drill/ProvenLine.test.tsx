import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ProvenLine } from "./ProvenLine";

const NOW = Date.parse("2026-11-24T12:00:00Z");

describe("ProvenLine", () => {
  it("marks its state for styling and tests", () => {
    const { rerender } = render(<ProvenLine last={null} lastPassed={null} now={NOW} />);
    expect(screen.getByTestId("project-proven")).toHaveAttribute("data-state", "never");
    expect(screen.getByTestId("project-proven")).toHaveTextContent("Never proven");
    const failed = { finished_at: "2026-11-22T12:00:00Z", verdict: "failed" as const, rto_seconds: null, failed_check: "Table public.orders" };
    rerender(<ProvenLine last={failed} lastPassed={null} now={NOW} />);
    expect(screen.getByTestId("project-proven")).toHaveAttribute("data-state", "failed");
    expect(screen.getByTestId("project-proven")).toHaveTextContent("Last drill failed 2 days ago: Table public.orders");
  });
});
