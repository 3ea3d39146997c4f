// The project page's Protection tab (issue 44): what keeps the backups safe, apart from what they
// are made from (Sources): how new backups are encrypted, the destinations copies go to, the
// 3-2-1 count the engine makes of them, when a backup is suspicious (the canary) and the
// project's recovery targets (RPO, RTO).
import { checkWhy } from "../../dashboard/Checklist";
import { CanarySection } from "../../protection/CanarySection";
import { EncryptionPanel } from "../../protection/EncryptionPanel";
import { TargetsSection } from "../../protection/TargetsSection";
import { DestinationsPanel, ProtectionGlance, type ProtectionData } from "../../protection/ProtectionPanels";
import type { DestinationRecord, Protection } from "../../bindings";
import type { LoadState } from "../../protection/types";
import { useHealth } from "../../store";
import { plural } from "../../words";
import { type Light, SourceCard } from "./SourcesTab";
import "./tabs.css";

type Props = {
  project: string;
  protection: ProtectionData;
  /** Bumped to open the recovery key's confirmation (a Fix elsewhere asked for it). */
  confirmRequest: number;
  onEncryptionChanged: () => void;
};

export function ProtectionTab({ project, protection, confirmRequest, onEncryptionChanged }: Props) {
  const dests = protection.data.destinations;
  // The encryption light is the checklist's "Encryption ready" item: green only when done,
  // amber while backups wait for a key or its confirmation.
  const health = useHealth();
  const row = health.status === "ready" ? health.data.projects.find((p) => p.project === project) : undefined;
  const item = row?.checklist.items.find((i) => i.id === "encryption");
  const encryptionLight: Light = !item ? "untested" : item.state === "done" ? "ok" : item.state === "off" ? "off" : "warn";
  return (
    <div className="tab-protection" data-testid="tab-protection">
      <section className="panel" aria-label="3-2-1" data-testid="protection-321">
        <h3 className="panel-title">3-2-1</h3>
        <p className="small muted">
          Three copies of every backup, on two separate disks, one of them away from this computer.
        </p>
        <ProtectionGlance data={protection.data} />
      </section>
      <div className="source-grid">
        <SourceCard id="encryption" title="Encryption" light={encryptionLight} line={item ? checkWhy(item) : "how new backups are encrypted"}>
          <EncryptionPanel project={project} confirmRequest={confirmRequest} onChanged={onEncryptionChanged} />
        </SourceCard>
        <SourceCard id="destinations" title="Destinations" {...destinationsCard(dests, protection.data.protection)}>
          <DestinationsPanel project={project} protection={protection} copies={row?.copies ?? []} />
        </SourceCard>
        <SourceCard id="canary" title="Suspicious backups" line="when a backup that shrank is flagged">
          <CanarySection project={project} />
        </SourceCard>
        <SourceCard id="targets" title="Recovery targets" line="how much loss and downtime you accept">
          <TargetsSection project={project} />
        </SourceCard>
      </div>
    </div>
  );
}

/**
 * The Destinations card's light and line, from the same 3-2-1 count the panel above shows: green
 * only when the copies meet it, amber with the engine's reason when destinations exist but count
 * less than they seem (a folder on the same disk, nothing offsite, a copy missing).
 */
export function destinationsCard(dests: LoadState<DestinationRecord[]>, p: LoadState<Protection>): { light?: Light | undefined; line: string } {
  if (dests.status === "error") return { light: "warn", line: "the destinations could not be read" };
  if (dests.status !== "ready") return { line: "…" };
  const n = plural(dests.data.length, "destination");
  if (dests.data.length === 0) return { light: "off", line: "none: every backup is on this computer only" };
  if (p.status !== "ready") return { light: p.status === "error" ? "warn" : undefined, line: n };
  if (p.data.meets_321) return { light: "ok", line: `${n} · 3-2-1 met` };
  // The count in the glossary's words (issue 64: the engine's summary said "1 medium, none offsite").
  const counted = `${plural(p.data.copies, "copy")} on ${plural(p.data.media, "separate disk")}, ${p.data.offsite ? "1" : "none"} away from this computer`;
  return { light: "warn", line: `${n} · ${p.data.notes[0] ?? counted}` };
}
