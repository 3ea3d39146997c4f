// The second question before removing something that takes a secret out of the keychain.
import type { ReactNode } from "react";

/** Test ids: `<testId>-confirm`, `<testId>-yes`, `<testId>-no`. */
export function RemoveConfirm({
  testId,
  onRemove,
  onKeep,
  children,
}: {
  testId: string;
  onRemove: () => void;
  onKeep: () => void;
  children: ReactNode;
}) {
  return (
    // The app's reading size whatever the list around it uses (issue 64 item 7: inside a small
    // list, "small" on the question made the sentence that decides the removal the tiniest text
    // on the screen, schedule-07).
    <div className="notice notice-warn remove-confirm" role="alert" data-testid={`${testId}-confirm`}>
      <p>{children}</p>
      <div className="form-actions">
        <button type="button" className="btn btn-danger" onClick={onRemove} data-testid={`${testId}-yes`}>
          Remove
        </button>
        <button type="button" className="btn btn-quiet" onClick={onKeep} data-testid={`${testId}-no`}>
          Keep
        </button>
      </div>
    </div>
  );
}
