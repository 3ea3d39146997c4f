// Trusting a backup server's certificate: the user pastes the fingerprint `offsite serve` printed
// on the server, Offsite compares it with the one the server presented here. "Trust and save" waits
// for a match, or for the user's word that they compared the two by eye.
import { Fingerprint } from "../components/Fingerprint";
import { useId } from "react";

/** A fingerprint reduced to what identifies it: lower-case hex, without `SHA256:`, colons or spaces. */
export function normaliseFingerprint(fp: string): string {
  return fp
    .trim()
    .replace(/^sha-?256\s*:?\s*/i, "")
    .replace(/[\s:]/g, "")
    .toLowerCase();
}

/** Whether what was pasted is the fingerprint seen (case, colons, spaces and the prefix aside). */
export function fingerprintsMatch(pasted: string, seen: string): boolean {
  const a = normaliseFingerprint(pasted);
  return a !== "" && a === normaliseFingerprint(seen);
}

export type TrustState = { pasted: string; byEye: boolean };

/** "match" | "mismatch" | "empty": what the pasted text says against the fingerprint seen. */
export function comparison(state: TrustState, seen: string): "match" | "mismatch" | "empty" {
  if (state.pasted.trim() === "") return "empty";
  return fingerprintsMatch(state.pasted, seen) ? "match" : "mismatch";
}

/** Trust may be given: the pasted fingerprint matches, or none is pasted and the user compared by eye. */
export function canTrust(state: TrustState, seen: string): boolean {
  const c = comparison(state, seen);
  return c === "match" || (c === "empty" && state.byEye);
}

export function TrustCheck({
  seen,
  shown,
  state,
  onChange,
}: {
  /** The fingerprint the server presented. */
  seen: string;
  /** It as `offsite serve` prints it. */
  shown: string;
  state: TrustState;
  onChange: (s: TrustState) => void;
}) {
  const id = useId();
  const c = comparison(state, seen);
  return (
    <div className="notice small" data-testid="server-check" data-match={c}>
      <p>The server presents this certificate fingerprint:</p>
      <p className="mono" data-testid="server-check-fingerprint">
        <Fingerprint text={shown} />
      </p>
      <div className="field">
        <label htmlFor={`${id}-printed`}>Paste the fingerprint offsite serve printed on the server</label>
        <input
          id={`${id}-printed`}
          value={state.pasted}
          onChange={(e) => onChange({ ...state, pasted: e.target.value })}
          placeholder="SHA256:AB:CD:… (offsite serve fingerprint)"
          autoComplete="off"
          spellCheck={false}
          className="mono"
          aria-invalid={c === "mismatch"}
          data-testid="server-field-printed"
        />
      </div>
      {c === "match" && (
        <p className="notice-ok-text" role="status" data-testid="server-check-match">
          ✓ They match: this is the server that printed it.
        </p>
      )}
      {c === "mismatch" && (
        <p className="error" role="alert" data-testid="server-check-mismatch">
          They do not match. Another machine may be answering at this address (someone intercepting the connection
          could read the token and the backups). Do not trust it: check the address and the fingerprint on the server.
        </p>
      )}
      {c === "empty" && (
        <label className="check">
          <input
            type="checkbox"
            checked={state.byEye}
            onChange={(e) => onChange({ ...state, byEye: e.target.checked })}
            data-testid="server-check-by-eye"
          />{" "}
          I compared it by eye with the one offsite serve printed, character by character
        </label>
      )}
    </div>
  );
}
