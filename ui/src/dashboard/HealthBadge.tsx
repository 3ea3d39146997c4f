// The project's state in a word, an icon and a colour (never colour alone).
import type { Health } from "../bindings";

const ICON: Record<Health, string> = {
  protected: "✓",
  at_risk: "!",
  unprotected: "✕",
};

export function HealthBadge({ health, label }: { health: Health; label: string }) {
  return (
    <span className={`health-badge health-${health}`} data-testid="project-health" data-health={health}>
      <span className="health-icon" aria-hidden="true">
        {ICON[health]}
      </span>
      {label}
    </span>
  );
}
