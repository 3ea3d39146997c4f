import { type KeyboardEvent, type ReactNode, useEffect, useId, useRef } from "react";
import { ScrollPanel } from "./PanelFooter";

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

type Props = {
  title: string;
  children: ReactNode;
  /** Escape, and the caller's Cancel button. */
  onCancel: () => void;
  testId?: string;
  /** Buttons in the footer below the scrolling body (or <PanelFooter> inside `children`). */
  footer?: ReactNode;
};

/**
 * A modal dialog: focus moves into it (its first field, else its first button), Tab and Shift+Tab
 * stay inside it, Escape cancels, and focus returns to where it was when it closes.
 */
export function Dialog({ title, children, onCancel, testId = "dialog", footer }: Props) {
  const id = useId();
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const el = box.current;
    const first = el?.querySelector<HTMLElement>("input:not([disabled])") ?? el?.querySelector<HTMLElement>(FOCUSABLE);
    (first ?? el)?.focus();
    return () => {
      if (before?.isConnected) before.focus();
    };
  }, []);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      e.preventDefault();
      onCancel();
      return;
    }
    if (e.key !== "Tab" || !box.current) return;
    const items = Array.from(box.current.querySelectorAll<HTMLElement>(FOCUSABLE));
    if (items.length === 0) {
      e.preventDefault();
      return;
    }
    const first = items[0]!;
    const last = items[items.length - 1]!;
    const active = document.activeElement;
    if (e.shiftKey && (active === first || !box.current.contains(active))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (active === last || !box.current.contains(active))) {
      e.preventDefault();
      first.focus();
    }
  };

  return (
    <div className="dialog-backdrop" data-testid={`${testId}-backdrop`}>
      <ScrollPanel
        panelRef={box}
        className="dialog panel"
        role="dialog"
        aria-modal="true"
        aria-labelledby={`${id}-title`}
        tabIndex={-1}
        onKeyDown={onKeyDown}
        testId={testId}
        footer={footer}
      >
        <h2 id={`${id}-title`} className="dialog-title">
          {title}
        </h2>
        {children}
      </ScrollPanel>
    </div>
  );
}
