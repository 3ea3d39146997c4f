import { act, fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ValidationChecks } from "./ValidationChecks";

const checks = [{ id: "c1", sql: "select count(*) from auth.users", expect: ">= 1000" }];

describe("ValidationChecks", () => {
  it("lists the checks and removes one", () => {
    const onRemove = vi.fn();
    render(<ValidationChecks checks={checks} onAdd={async () => null} onRemove={onRemove} />);
    expect(screen.getByTestId("validation-check")).toHaveTextContent("select count(*) from auth.users");
    expect(screen.getByTestId("validation-check-expect")).toHaveTextContent(">= 1000");
    fireEvent.click(screen.getByTestId("validation-check-remove"));
    expect(onRemove).toHaveBeenCalledWith("c1");
  });

  it("adds a check with SQL and expectation, and shows the engine's refusal", async () => {
    const onAdd = vi
      .fn()
      .mockResolvedValueOnce({ code: "invalid_input", message: "cannot read the expectation “lots”", hint: null, retryable: false })
      .mockResolvedValueOnce(null);
    render(<ValidationChecks checks={[]} onAdd={onAdd} onRemove={() => {}} />);
    expect(screen.getByTestId("validation-checks-empty")).toBeInTheDocument();
    expect(screen.getByTestId("validation-check-add")).toBeDisabled();
    fireEvent.change(screen.getByTestId("validation-check-sql"), { target: { value: " select 1 " } });
    fireEvent.change(screen.getByTestId("validation-check-expect-input"), { target: { value: "lots" } });
    await act(async () => fireEvent.click(screen.getByTestId("validation-check-add")));
    expect(onAdd).toHaveBeenLastCalledWith("select 1", "lots");
    expect(screen.getByTestId("validation-check-add-error")).toHaveAttribute("data-code", "invalid_input");
    expect(screen.getByTestId("validation-check-sql")).toHaveValue(" select 1 ");
    fireEvent.change(screen.getByTestId("validation-check-expect-input"), { target: { value: "= 1" } });
    await act(async () => fireEvent.click(screen.getByTestId("validation-check-add")));
    expect(screen.queryByTestId("validation-check-add-error")).toBeNull();
    expect(screen.getByTestId("validation-check-sql")).toHaveValue("");
  });
});
