// Vault's root key in the restore review: whether the target project has the backup's key (the
// engine's plan says it, never the key itself), and a box to set it there when they differ.
import type { ConfigPlan } from "../../bindings";

export function VaultKey({
  plan,
  chosen,
  onToggle,
}: {
  plan: ConfigPlan;
  chosen: boolean;
  onToggle: (on: boolean) => void;
}) {
  const v = plan.vault;
  return (
    <>
      <h5>Vault</h5>
      <p className="small" data-testid="wizard-vault-note" data-state={v.state}>
        {v.note}
      </p>
      {v.state === "differs" && (
        <label className="check">
          <input
            type="checkbox"
            checked={chosen}
            onChange={(e) => onToggle(e.target.checked)}
            data-testid="wizard-vault-key"
          />{" "}
          Set {plan.project}’s Vault root key to the backup’s before the database is restored (it
          replaces {plan.project}’s own key)
        </label>
      )}
    </>
  );
}
