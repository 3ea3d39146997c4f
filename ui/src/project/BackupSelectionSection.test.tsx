import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { BackupSelection } from "../bindings";
import { BackupSelectionSection, selectionOf, type SelectionApi } from "./BackupSelectionSection";

function fakeApi(saved: BackupSelection = {}) {
  const sent: BackupSelection[] = [];
  const api: SelectionApi = {
    get: async () => ({ ok: true, data: saved }),
    set: async (s) => {
      sent.push(s);
      if ((s.tables ?? []).includes("public."))
        return { ok: false, error: { code: "invalid_input", message: "\"public.\" is not a table name", hint: "write schema.table", retryable: false } };
      return { ok: true, data: s };
    },
  };
  return { api, sent };
}

describe("BackupSelectionSection", () => {
  it("starts on Everything (default) and says restores and drills hold only what was chosen", async () => {
    render(<BackupSelectionSection api={fakeApi().api} />);
    expect(await screen.findByTestId("selection-everything")).toBeChecked();
    expect(screen.getByTestId("selection-saved")).toHaveTextContent("Everything");
    expect(screen.queryByTestId("selection-exclude_table_data")).toBeNull();
    expect(screen.getByTestId("selection-section")).toHaveTextContent("Restores and drills of these backups hold only what was chosen");
  });

  it("saves chosen lists, one name a line, and a log table kept without its rows", async () => {
    const { api, sent } = fakeApi();
    render(<BackupSelectionSection api={api} />);
    fireEvent.click(await screen.findByTestId("selection-chosen"));
    fireEvent.change(screen.getByTestId("selection-exclude_table_data"), { target: { value: "public.logs\n audit.events \n" } });
    fireEvent.change(screen.getByTestId("selection-exclude_schemas"), { target: { value: "scratch" } });
    fireEvent.click(screen.getByTestId("selection-save"));
    await screen.findByTestId("selection-notice");
    expect(sent).toEqual([{ exclude_table_data: ["public.logs", "audit.events"], exclude_schemas: ["scratch"] }]);
    expect(screen.getByTestId("selection-saved")).toHaveTextContent("keep the table but not its rows: public.logs, audit.events");
  });

  it("shows a saved selection and goes back to everything with an empty one", async () => {
    const { api, sent } = fakeApi({ tables: ["public.orders"] });
    render(<BackupSelectionSection api={api} />);
    expect(await screen.findByTestId("selection-chosen")).toBeChecked();
    expect(screen.getByTestId("selection-tables")).toHaveValue("public.orders");
    fireEvent.click(screen.getByTestId("selection-everything"));
    fireEvent.click(screen.getByTestId("selection-save"));
    await waitFor(() => expect(sent).toEqual([{}]));
    expect(await screen.findByTestId("selection-section")).toHaveAttribute("data-everything", "true");
  });

  it("shows the engine's refusal of a name and keeps what was typed", async () => {
    const { api } = fakeApi();
    render(<BackupSelectionSection api={api} />);
    fireEvent.click(await screen.findByTestId("selection-chosen"));
    fireEvent.change(screen.getByTestId("selection-tables"), { target: { value: "public." } });
    fireEvent.click(screen.getByTestId("selection-save"));
    expect(await screen.findByTestId("selection-error")).toHaveTextContent("is not a table name");
    expect(screen.getByTestId("selection-tables")).toHaveValue("public.");
  });

  it("without a way to change it, says what the saved selection holds", async () => {
    render(<BackupSelectionSection api={{ get: async () => ({ ok: true, data: { exclude_table_data: ["public.logs"] } }) }} />);
    expect(await screen.findByTestId("selection-saved")).toHaveTextContent("keep the table but not its rows: public.logs");
    expect(screen.queryByTestId("selection-save")).toBeNull();
    expect(screen.getByTestId("selection-section")).toHaveTextContent("Restores and drills of these backups hold only what was chosen");
  });

  it("leaves empty lists out", () => {
    expect(selectionOf({ schemas: " \n", exclude_schemas: "", tables: "a.b\nc.d", exclude_tables: "", exclude_table_data: "" })).toEqual({ tables: ["a.b", "c.d"] });
  });
});
