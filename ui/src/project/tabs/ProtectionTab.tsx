// The project page's Protection tab (issue 44): what keeps the backups safe, apart from what they
// are made from (Sources): how new backups are encrypted, the destinations copies go to, and the
// 3-2-1 count the engine makes of them.
import { checkWhy } from "../../dashboard/Checklist";
import { EncryptionPanel } from "../../protection/EncryptionPanel";
import { DestinationsPanel, ProtectionGlance, type ProtectionData } from "../../protection/ProtectionPanels";
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
  const item = health.status === "ready" ? health.data.projects.find((p) => p.project === project)?.checklist.items.find((i) => i.id === "encryption") : undefined;
  const encryptionLight: Light = !item ? "untested" : item.state === "done" ? "ok" : item.state === "off" ? "off" : "warn";
  return (
    <div className="tab-protection" data-testid="tab-protection">
      <section className="panel" aria-label="3-2-1" data-testid="protection-321">
        <h3 className="panel-title">3-2-1</h3>
        <p className="small muted">
          Three copies of every backup, on two different media, one of them away from this computer.
        </p>
        <ProtectionGlance data={protection.data} />
      </section>
      <div className="source-grid">
        <SourceCard id="encryption" title="Encryption" light={encryptionLight} line={item ? checkWhy(item) : "how new backups are encrypted"}>
          <EncryptionPanel project={project} confirmRequest={confirmRequest} onChanged={onEncryptionChanged} />
        </SourceCard>
        <SourceCard
          id="destinations"
          title="Destinations"
          light={dests.status === "error" ? "warn" : dests.status === "ready" && dests.data.length > 0 ? "ok" : "off"}
          line={dests.status === "ready" ? plural(dests.data.length, "destination") : "…"}
        >
          <DestinationsPanel project={project} protection={protection} />
        </SourceCard>
      </div>
    </div>
  );
}
