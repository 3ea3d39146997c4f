// A certificate fingerprint ("SHA256:AB:CD:…") that wraps only between bytes, never inside one
// (issue 44: fingerprints broke mid-byte, which makes comparing them by eye error-prone).
import { Fragment } from "react";

/** The text split after each ':' with a line-break opportunity, and no break anywhere else. */
export function Fingerprint({ text }: { text: string }) {
  const parts = text.split(/(?<=:)/);
  return (
    <span className="fingerprint mono">
      {parts.map((p, i) => (
        <Fragment key={i}>
          {p}
          {i < parts.length - 1 && <wbr />}
        </Fragment>
      ))}
    </span>
  );
}
