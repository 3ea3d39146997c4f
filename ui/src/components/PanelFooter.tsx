// A dialog's buttons in a footer of their own, below a body that scrolls (issue 44: restore-11,
// import-02). A sticky bar over the scrolling content sliced a line of it at the bar's edge; here
// the content scrolls in its own box, which ends where the footer begins, so nothing runs under
// the buttons. A section deep inside the dialog (the import form) puts its buttons in the footer
// with <PanelFooter>, rendered into the footer through a portal; outside such a panel it renders
// in place, as an ordinary row of buttons.
import { createContext, type HTMLAttributes, type ReactNode, type Ref, useContext, useState } from "react";
import { createPortal } from "react-dom";

const Slot = createContext<HTMLElement | null | undefined>(undefined);

type PanelProps = {
  /** The panel's own element and attributes (a dialog, a section). */
  className: string;
  testId: string;
  children: ReactNode;
  /** Buttons of the panel itself, first in the footer. */
  footer?: ReactNode;
  panelRef?: Ref<HTMLDivElement>;
} & Omit<HTMLAttributes<HTMLDivElement>, "className" | "children">;

/**
 * A panel of two rows: a body that scrolls (`<testId>-body`) and a footer (`<testId>-footer`) that
 * holds `footer` and whatever a <PanelFooter> inside the body renders. An empty footer is hidden.
 */
export function ScrollPanel({ className, testId, children, footer, panelRef, ...attrs }: PanelProps) {
  const [slot, setSlot] = useState<HTMLElement | null>(null);
  return (
    <div ref={panelRef} className={`${className} scroll-panel`} data-testid={testId} {...attrs}>
      <div className="scroll-panel-body" data-testid={`${testId}-body`}>
        <Slot.Provider value={slot}>{children}</Slot.Provider>
      </div>
      <div className="scroll-panel-footer" ref={setSlot} data-testid={`${testId}-footer`}>
        {footer}
      </div>
    </div>
  );
}

/**
 * Buttons that belong in the enclosing ScrollPanel's footer. A submit button moved there is no
 * longer inside its form: give it `form={formId}`.
 */
export function PanelFooter({ children, testId }: { children: ReactNode; testId?: string }) {
  const slot = useContext(Slot);
  const row = (
    <div className="form-actions" data-testid={testId}>
      {children}
    </div>
  );
  if (slot === undefined) return row; // not in a ScrollPanel: in place
  if (slot === null) return null; // the footer is not mounted yet (first render)
  return createPortal(row, slot);
}
