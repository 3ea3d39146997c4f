// The project header's status (issue 44): the same checklist the home card shows, from the
// engine's health of this project — "N of M done", backups paused when the recovery key waits,
// then every item with its why and, for the open ones, its Fix.
import type { CheckItem } from "../bindings";
import { busyWhileBackingUp, ChecklistBadge, ChecklistItems, PausedBanner } from "../dashboard/Checklist";
import { HealthBadge } from "../dashboard/HealthBadge";
import { useHealth } from "../store";
import { AutostartNote } from "../schedules/AutostartOffer";

type Props = {
  project: string;
  onFix: (item: CheckItem) => void;
  /** A backup of the project runs now: its "Back up now" waits, saying why. */
  backingUp?: boolean;
};

export function ProjectChecklist({ project, onFix, backingUp = false }: Props) {
  const health = useHealth();
  if (health.status !== "ready") return null;
  const h = health.data.projects.find((p) => p.project === project);
  if (!h) return null;
  const scheduled = h.schedule !== null && !h.paused && h.checklist.items.some((i) => i.id === "scheduled" && i.state === "done");
  return (
    <section className="project-status" aria-label="Protection checklist" data-testid="project-status" data-health={h.health}>
      <div className="project-status-head">
        <HealthBadge health={h.health} label={h.health_label} />
        <ChecklistBadge checklist={h.checklist} />
      </div>
      <PausedBanner checklist={h.checklist} onFix={onFix} testId="project-paused" />
      <ChecklistItems
        checklist={h.checklist}
        show="all"
        onFix={onFix}
        pausedBanner={!!onFix}
        testId="project-checklist"
        busy={busyWhileBackingUp(backingUp)}
        // The header's split "Back up now" is the page's one (issue 64 item 7: projects-03 showed
        // a second "Back up now" in the checklist, under the first).
        offeredAbove={{ back_up_now: "“Back up now” is at the top of the page." }}
        // "✓ Scheduled" while Offsite does not start at login: said, with the turn-on (issue 44).
        notes={{ scheduled: <AutostartNote active={scheduled} testId="project-autostart" /> }}
      />
    </section>
  );
}
