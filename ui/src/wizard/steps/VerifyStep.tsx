// Step 2: the integrity check of the chosen archive, member by member.
import { memberWords } from "./memberWords";
import { ErrorNotice } from "../../components/ErrorNotice";
import { formatBytes } from "../../components/format";
import type { Action, WizardState } from "../steps";
import { ComponentsRestore } from "./ComponentsRestore";
import { Progress } from "./Progress";
import { sentenceCase } from "../../words";

type Props = {
  state: WizardState;
  dispatch: (a: Action) => void;
  /** The other saved projects (where storage can go). */
  projects: string[];
  onRetry: () => void;
};

export function VerifyStep({ state, dispatch, projects, onRetry }: Props) {
  const v = state.verify;
  return (
    <div>
      <p className="mono small path" data-testid="wizard-verify-path">
        <bdi>{state.source?.path}</bdi>
      </p>
      {(v.status === "idle" || v.status === "running") && (
        <>
          <p data-testid="wizard-verify-running">Checking every file in the archive against its SHA-256 checksum…</p>
          <Progress progress={v.status === "running" ? v.progress : null} />
        </>
      )}
      {v.status === "error" && (
        <>
          <ErrorNotice error={v.error} testId="wizard-verify-error" />
          <button type="button" className="btn" onClick={onRetry} data-testid="wizard-verify-retry">
            Check again
          </button>
        </>
      )}
      {v.status === "done" && (
        <>
          <div
            className={`notice ${v.report.ok ? "notice-ok" : "notice-error"}`}
            role="status"
            data-testid="wizard-verify-result"
            data-ok={String(v.report.ok)}
          >
            <p className="notice-title">
              {v.report.ok
                ? `Verified: ${formatBytes(v.report.bytes_verified)} checked (uncompressed)`
                : `Archive damaged${v.report.first_bad ? `: ${memberWords(v.report.first_bad).toLowerCase()}` : ""}. It cannot be restored.`}
            </p>
            <p className="small" data-testid="wizard-verify-sidecar">
              Checksum file beside it:{" "}
              {v.report.sidecar.status === "match"
                ? "matches"
                : v.report.sidecar.status === "missing"
                  ? "none (the manifest's checksums still cover every byte)"
                  : "does not match"}
            </p>
          </div>
          <table className="history-table wizard-table" data-testid="wizard-verify-members">
            <thead>
              <tr>
                <th>Part</th>
                <th className="num">Size</th>
                <th>Result</th>
              </tr>
            </thead>
            <tbody>
              {v.report.members.map((m) => (
                <tr key={m.name} data-testid="wizard-verify-member" data-ok={String(m.ok)}>
                  <td title={m.name} data-testid="wizard-verify-member-name">
                    {memberWords(m.name)}
                  </td>
                  <td className="num">{formatBytes(m.actual_size)}</td>
                  <td className={m.ok ? "state-succeeded" : "state-failed"}>{m.ok ? "OK" : (m.problem ?? "bad")}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {v.report.problems.length > 0 && (
            <ul className="job-problems" data-testid="wizard-verify-problems">
              {v.report.problems.map((p) => (
                <li key={p}>{sentenceCase(p)}</li>
              ))}
            </ul>
          )}
          {!v.report.ok && (
            <button type="button" className="btn" onClick={onRetry} data-testid="wizard-verify-retry">
              Check again
            </button>
          )}
          {v.report.ok && state.source && (
            <ComponentsRestore
              manifest={v.report.manifest}
              project={state.project}
              projects={projects}
              components={state.components}
              onDatabase={(on) => dispatch({ type: "setDatabase", on })}
              onStorage={(choice) => dispatch({ type: "setStorage", choice })}
              onConfig={(choice) => dispatch({ type: "setConfig", choice })}
            />
          )}
        </>
      )}
    </div>
  );
}
