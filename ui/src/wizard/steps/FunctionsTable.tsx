// The backup's Edge Functions in the restore review: what deploying each would do (the engine's
// plan says it), a box to tick for each one that would change, and why one cannot be deployed.
import type { ConfigPlan, FunctionAction } from "../../bindings";
import { formatBytes } from "../../components/format";

const WHAT: Record<FunctionAction, string> = {
  create: "Not in the project: will be created",
  update: "Differs from the project’s: will be updated",
  unchanged: "The project runs the same code",
  cannot: "Cannot be deployed from this backup",
};

export function FunctionsTable({
  plan,
  chosen,
  onToggle,
}: {
  plan: ConfigPlan;
  chosen: Set<string>;
  onToggle: (slug: string, on: boolean) => void;
}) {
  if (plan.functions.length === 0) return null;
  const changing = plan.functions.filter((f) => f.action === "create" || f.action === "update").length;
  return (
    <>
      <h5>Edge Functions</h5>
      <p className="small" data-testid="wizard-functions-summary">
        {plan.will_deploy.length > 0
          ? `Will deploy ${plan.will_deploy.length} of them again: ${plan.will_deploy.join(", ")}. Their secrets are not in the backup: set them again afterwards.`
          : changing > 0
            ? "Nothing will be deployed: tick the functions to bring back."
            : "The project runs the same functions as the backup."}
      </p>
      <table className="history-table wizard-table" data-testid="wizard-functions">
        <thead>
          <tr>
            <th />
            <th>Function</th>
            <th>What happens</th>
            <th>Size</th>
          </tr>
        </thead>
        <tbody>
          {plan.functions.map((f) => {
            const can = f.action === "create" || f.action === "update";
            return (
              <tr key={f.slug} data-testid="wizard-function" data-slug={f.slug} data-action={f.action}>
                <td>
                  {can && (
                    <input
                      type="checkbox"
                      aria-label={`Deploy ${f.slug} again`}
                      checked={chosen.has(f.slug)}
                      onChange={(e) => onToggle(f.slug, e.target.checked)}
                      data-testid="wizard-function-choose"
                    />
                  )}
                </td>
                <td>
                  {f.name}
                  {f.name !== f.slug && <span className="muted mono small"> {f.slug}</span>}
                </td>
                <td className="small">
                  {WHAT[f.action]}
                  {f.problem ? `: ${f.problem}` : ""}
                </td>
                <td className="small">{formatBytes(f.size)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
