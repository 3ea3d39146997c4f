// Issue 44 (restore-11, import-02): a dialog's buttons are in a footer of their own, beside (not
// inside) the body that scrolls, wherever in the body they are declared.
import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { Dialog } from "./Dialog";
import { PanelFooter, ScrollPanel } from "./PanelFooter";

describe("ScrollPanel and PanelFooter", () => {
  it("a PanelFooter deep in a dialog's body renders in the footer, after the body", () => {
    render(
      <Dialog title="Remove?" onCancel={() => {}} testId="d">
        <section>
          <p data-testid="text">Long text</p>
          <PanelFooter>
            <button type="button" data-testid="ok">
              OK
            </button>
          </PanelFooter>
        </section>
      </Dialog>,
    );
    const body = screen.getByTestId("d-body");
    const footer = screen.getByTestId("d-footer");
    expect(body).toContainElement(screen.getByTestId("text"));
    expect(body).not.toContainElement(screen.getByTestId("ok"));
    expect(footer).toContainElement(screen.getByTestId("ok"));
    // Siblings: the footer follows the body in the dialog, not inside what scrolls.
    expect(body.nextElementSibling).toBe(footer);
    expect(screen.getByTestId("d")).toHaveClass("scroll-panel");
    expect(body).toHaveClass("scroll-panel-body");
    expect(footer).toHaveClass("scroll-panel-footer");
  });

  it("a submit button moved to the footer still submits its form (form attribute)", () => {
    const submit = vi.fn((e: React.FormEvent) => e.preventDefault());
    render(
      <ScrollPanel className="panel" testId="p">
        <form id="f1" onSubmit={submit}>
          <input aria-label="x" />
          <PanelFooter>
            <button type="submit" form="f1" data-testid="go">
              Go
            </button>
          </PanelFooter>
        </form>
      </ScrollPanel>,
    );
    expect(screen.getByTestId("p-footer")).toContainElement(screen.getByTestId("go"));
    fireEvent.click(screen.getByTestId("go"));
    expect(submit).toHaveBeenCalledTimes(1);
  });

  it("outside a ScrollPanel the buttons stay in place", () => {
    render(
      <div data-testid="here">
        <PanelFooter testId="row">
          <button type="button">A</button>
        </PanelFooter>
      </div>,
    );
    expect(screen.getByTestId("here")).toContainElement(screen.getByTestId("row"));
    expect(screen.getByTestId("row")).toHaveClass("form-actions");
  });
});

describe("the wizard's panel fits the window below its top", () => {
  it("as tall as the window leaves below its top, never less than 320 px", async () => {
    const { fitHeight } = await import("./useFitToViewport");
    expect(fitHeight(150, 720)).toBe(554); // 720 − 150 − 16 below
    expect(fitHeight(600, 720)).toBe(320);
  });
});
