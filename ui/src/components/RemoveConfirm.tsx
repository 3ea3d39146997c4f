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
    <div className="notice notice-warn small" role="alert" data-testid={`${testId}-confirm`}>
      <p>{children}</p>
      <div className="form-actions">
        <button type="button" className="btn btn-small btn-danger" onClick={onRemove} data-testid={`${testId}-yes`}>
          Remove
        </button>
        <button type="button" className="btn btn-small btn-quiet" onClick={onKeep} data-testid={`${testId}-no`}>
          Keep
        </button>
      </div>
    </div>
  );
}
