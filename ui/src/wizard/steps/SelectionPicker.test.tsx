import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { SelectionPlan } from "../../bindings";
import { leftOutWords, SelectionPicker } from "./SelectionPicker";

const key = { table: "public.orders", constraint: "orders_customer_id_fkey", references: ["public.customers"] };

describe("a foreign key the restore leaves out", () => {
  it("is said in words: which table will not check what, and why", () => {
    expect(leftOutWords(key)).toBe(
      "public.orders will not check that its customers exist, because public.customers is not restored.",
    );
    expect(
      leftOutWords({ ...key, references: ["public.customers", "sales.regions"] }),
    ).toBe(
      "public.orders will not check that its customers and regions exist, because public.customers and sales.regions are not restored.",
    );
  });

  it("shows the sentence, with the constraint's name only behind Details", () => {
    const plan: SelectionPlan = {
      tables: ["public.orders"],
      what: "both",
      into_schema: "yesterday",
      dependencies: [],
      notes: [],
      left_out_keys: [key],
    };
    render(
      <SelectionPicker
        tables={[{ schema: "public", table: "orders" }, { schema: "public", table: "customers" }]}
        selection={{ schemas: [], tables: ['"public"."orders"'], what: "both", into_schema: "yesterday" }}
        plan={plan}
        view={{ mode: "tables", filter: "" }}
        onChange={() => {}}
        onView={() => {}}
      />,
    );
    const line = screen.getByTestId("wizard-selection-left-out");
    expect(line).toHaveTextContent("public.orders will not check that its customers exist");
    const details = screen.getByTestId("wizard-selection-left-out-detail");
    expect(details.tagName).toBe("DETAILS");
    expect(details).not.toHaveAttribute("open");
    expect(details).toHaveTextContent("orders_customer_id_fkey");
    // The name appears nowhere but in the closed Details.
    expect(line.textContent!.replace(details.textContent!, "")).not.toContain("orders_customer_id_fkey");
  });
});
