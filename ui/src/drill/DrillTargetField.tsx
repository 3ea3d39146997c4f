// Where a drill restores, as both drill forms ask it: a throwaway cluster Offsite starts on this
// computer, or a scratch server (the form around it asks for the URL).
import type { DrillTargetChoice } from "./DrillRunForm";

export type DrillTargetKind = DrillTargetChoice["kind"];

type Props = {
  legend: string;
  /** The radio group's name. */
  name: string;
  /** The radios' test ids are `${testIdPrefix}-throwaway` and `${testIdPrefix}-server`. */
  testIdPrefix: string;
  kind: DrillTargetKind;
  onChange: (kind: DrillTargetKind) => void;
};

export function DrillTargetField({ legend, name, testIdPrefix, kind, onChange }: Props) {
  return (
    <fieldset className="field">
      <legend>{legend}</legend>
      <label className="check">
        <input
          type="radio"
          name={name}
          checked={kind === "throwaway"}
          onChange={() => onChange("throwaway")}
          data-testid={`${testIdPrefix}-throwaway`}
        />{" "}
        A throwaway server on this computer (removed afterwards)
      </label>
      <label className="check">
        <input
          type="radio"
          name={name}
          checked={kind === "server"}
          onChange={() => onChange("server")}
          data-testid={`${testIdPrefix}-server`}
        />{" "}
        A scratch server
      </label>
    </fieldset>
  );
}
