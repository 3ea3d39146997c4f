import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { ConfigPlan } from "../../bindings";
import { configPlan } from "../fixtures";
import { FunctionsTable } from "./FunctionsTable";

const plan: ConfigPlan = {
  ...configPlan,
  functions: [
    { slug: "hello-world", name: "Hello world", action: "update", size: 40_000, verify_jwt: true, problem: null },
    { slug: "stripe-webhook", name: "stripe-webhook", action: "create", size: 2048, verify_jwt: false, problem: null },
    { slug: "same", name: "same", action: "unchanged", size: 10, verify_jwt: true, problem: null },
    { slug: "odd", name: "odd", action: "cannot", size: 0, verify_jwt: null, problem: "the backup holds its settings but not its code" },
  ],
};

describe("FunctionsTable", () => {
  it("offers a box only for the functions that would change, and says why one cannot be deployed", () => {
    const onToggle = vi.fn();
    render(<FunctionsTable plan={plan} chosen={new Set()} onToggle={onToggle} />);
    const boxes = screen.getAllByTestId("wizard-function-choose");
    expect(boxes.map((b) => b.getAttribute("aria-label"))).toEqual(["Deploy hello-world again", "Deploy stripe-webhook again"]);
    expect(screen.getByTestId("wizard-functions-summary")).toHaveTextContent("Nothing will be deployed: tick the functions");
    const rows = screen.getAllByTestId("wizard-function");
    expect(rows[0]).toHaveTextContent("Differs from the project’s: will be updated");
    expect(rows[1]).toHaveTextContent("Not in the project: will be created");
    expect(rows[2]).toHaveTextContent("The project runs the same code");
    expect(rows[3]).toHaveTextContent("Cannot be deployed from this backup: the backup holds its settings but not its code");
    fireEvent.click(boxes[1]!);
    expect(onToggle).toHaveBeenCalledWith("stripe-webhook", true);
  });

  it("says what will be deployed and that secrets must be set again", () => {
    render(
      <FunctionsTable plan={{ ...plan, will_deploy: ["stripe-webhook"] }} chosen={new Set(["stripe-webhook"])} onToggle={() => {}} />,
    );
    expect(screen.getByTestId("wizard-functions-summary")).toHaveTextContent(
      "Will deploy 1 of them again: stripe-webhook. Their secrets are not in the backup",
    );
    expect(screen.getAllByTestId("wizard-function-choose")[1]).toBeChecked();
  });

  it("shows nothing for a backup without functions", () => {
    const { container } = render(<FunctionsTable plan={configPlan} chosen={new Set()} onToggle={() => {}} />);
    expect(container).toBeEmptyDOMElement();
  });
});
