// The parity report of a restore (the engine's, part by part): what the backup's source had
// against what the restore's target has now (its database, storage and configuration), and what
// differs, by name.
import type { ParityReport, PartVerdict } from "../../bindings";

const VERDICT: Record<PartVerdict, string> = {
  equal: "The same",
  differs: "Differs",
  not_compared: "Not compared",
};

export function ParitySection({ parity }: { parity: ParityReport }) {
  const differing = parity.parts.filter((p) => p.verdict === "differs").length;
  const summary =
    parity.parts.length === 0
      ? "Not compared with the backup’s source."
      : differing === 0
        ? `Every part compared is the same as in the backup’s source (${parity.parts.length}).`
        : `${differing} of ${parity.parts.length} parts differ from the backup’s source.`;
  return (
    <section className="wizard-section" data-testid="wizard-report-parity" data-equal={String(parity.equal)}>
      <h4>Compared with the backup’s source</h4>
      <p className="small" data-testid="wizard-report-parity-summary">
        {summary}
        {parity.note ? ` ${parity.note.charAt(0).toUpperCase()}${parity.note.slice(1)}.` : ""}
      </p>
      {parity.parts.length > 0 && (
        <table className="history-table wizard-table">
          <thead>
            <tr>
              <th>Part</th>
              <th>Result</th>
              <th>Compared</th>
            </tr>
          </thead>
          <tbody>
            {parity.parts.map((p) => (
              <tr
                key={`${p.part}:${p.evidence}`}
                data-testid="wizard-report-parity-part"
                data-part={p.part}
                data-evidence={p.evidence}
                data-verdict={p.verdict}
              >
                <td>
                  {p.name}
                  {p.differences.length > 0 && (
                    <ul className="small mono">
                      {p.differences.map((d) => (
                        <li key={d}>{d}</li>
                      ))}
                    </ul>
                  )}
                  {p.note && <p className="small muted">{p.note}</p>}
                </td>
                <td className={p.verdict === "differs" ? "destroys" : undefined}>{VERDICT[p.verdict]}</td>
                <td className="small">{p.compared}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
