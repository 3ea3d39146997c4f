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

describe("a foreign key the restore keeps or adds back (the plan's notes)", () => {
  it("says a sentence first; the constraint and the words 'foreign key' only behind Details (issue 44)", () => {
    // As the engine writes them (offsite_core::postgres::restore::select).
    const kept =
      "the table public.orders keeps its link to public.customers, which is not restored: the target's public.customers must hold the rows it points to\nDetails: foreign key orders_customer_id_fkey of public.orders";
    const plan: SelectionPlan = { tables: ["public.orders"], what: "both", into_schema: null, dependencies: [], notes: [kept], left_out_keys: [] };
    render(
      <SelectionPicker
        tables={[{ schema: "public", table: "orders" }, { schema: "public", table: "customers" }]}
        selection={{ schemas: [], tables: ['"public"."orders"'], what: "both", into_schema: null }}
        plan={plan}
        view={{ mode: "tables", filter: "" }}
        onChange={() => {}}
        onView={() => {}}
      />,
    );
    const note = screen.getByTestId("wizard-selection-note");
    const details = screen.getByTestId("wizard-selection-note-detail");
    expect(details.tagName).toBe("DETAILS");
    expect(details).not.toHaveAttribute("open");
    expect(details).toHaveTextContent("foreign key orders_customer_id_fkey of public.orders");
    const visible = note.textContent!.replace(details.textContent!, "");
    expect(visible).toMatch(/^The table public\.orders keeps its link to public\.customers, which is not restored: .* points to\. $/);
    expect(visible).not.toMatch(/foreign key|_fkey|Details:/i);
  });
});
