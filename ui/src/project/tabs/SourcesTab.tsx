// The project page's Sources tab: what Offsite backs up and where else backups come from, as
// equal cards (database; storage and Supabase; backup server; artifact bucket; encryption;
// destinations), each with a status light. The cards wrap the existing sections unchanged.
import type { ReactNode } from "react";
import type { Components, ErrorPayload, ProjectSummary } from "../../bindings";
import { databaseHost, databaseName } from "../../components/format";
import { ErrorNotice } from "../../components/ErrorNotice";
import { EncryptionPanel } from "../../protection/EncryptionPanel";
import { DestinationsPanel, type ProtectionData } from "../../protection/ProtectionPanels";
import type { Resource } from "../../store";
import { ArtifactsSection } from "../ArtifactsSection";
import { ComponentsSection } from "../ComponentsSection";
import { ServerSection } from "../ServerSection";
import "./tabs.css";

export type Light = "ok" | "off" | "warn";

const LIGHT_WORDS: Record<Light, string> = { ok: "set up", off: "not set up", warn: "needs attention" };

/** One source as a card: a status light, its name, one line, and the section that edits it. */
export function SourceCard({ id, title, light, line, children }: { id: string; title: string; light: Light; line: ReactNode; children?: ReactNode }) {
  return (
    <article className="source-card" data-testid={`source-${id}`} data-light={light}>
      <header className="source-card-head">
        <span className={`light light-${light}`} role="img" aria-label={LIGHT_WORDS[light]} title={LIGHT_WORDS[light]} />
        <h3 className="source-card-title">{title}</h3>
        <span className="muted small source-card-line">{line}</span>
      </header>
      {children}
    </article>
  );
}

type Props = {
  project: string;
  summary: Resource<ProjectSummary>;
  components: Resource<Components>;
  protection: ProtectionData;
  onEdit?: () => void;
  confirmRequest: number;
  onEncryptionChanged: () => void;
};

export function SourcesTab({ project, summary, components, protection, onEdit, confirmRequest, onEncryptionChanged }: Props) {
  const c = components.status === "ready" ? components.data : null;
  const set = (v: unknown): Light => (components.status === "error" ? "warn" : v ? "ok" : "off");
  const dests = protection.data.destinations;
  return (
    <div className="tab-sources" data-testid="tab-sources">
      {components.status === "error" && <ErrorNotice error={components.error as ErrorPayload} testId="sources-error" />}
      <div className="source-grid">
        <SourceCard id="database" title="Database" light={summary.status === "error" ? "warn" : "ok"} line={<DatabaseLine summary={summary} />}>
          {onEdit && (
            <button type="button" className="btn btn-small" onClick={onEdit} data-testid="source-database-edit">
              Edit…
            </button>
          )}
        </SourceCard>
        <SourceCard
          id="storage"
          title="Storage & Supabase"
          light={set(c?.storage || c?.supabase)}
          line={[c?.storage ? "storage set" : "no storage", c?.supabase ? "Supabase project set" : "no Supabase project"].join(" · ")}
        >
          <ComponentsSection project={project} />
        </SourceCard>
        <SourceCard id="server" title="Backup server" light={set(c?.server)} line={c?.server ? "an Offsite backup server" : "none"}>
          <ServerSection project={project} />
        </SourceCard>
        <SourceCard id="artifacts" title="Artifact bucket" light={set(c?.artifacts)} line={c?.artifacts ? "backups made elsewhere, pulled from a bucket" : "none"}>
          <ArtifactsSection project={project} />
        </SourceCard>
        <SourceCard id="encryption" title="Encryption" light="ok" line="how new backups are encrypted">
          <EncryptionPanel project={project} confirmRequest={confirmRequest} onChanged={onEncryptionChanged} />
        </SourceCard>
        <SourceCard
          id="destinations"
          title="Destinations"
          light={dests.status === "error" ? "warn" : dests.status === "ready" && dests.data.length > 0 ? "ok" : "off"}
          line={dests.status === "ready" ? `${dests.data.length} ${dests.data.length === 1 ? "destination" : "destinations"}` : "…"}
        >
          <DestinationsPanel project={project} protection={protection} />
        </SourceCard>
      </div>
    </div>
  );
}

function DatabaseLine({ summary }: { summary: Resource<ProjectSummary> }) {
  if (summary.status !== "ready") return <>…</>;
  const url = summary.data.project.db_url;
  const db = databaseName(url);
  return (
    <span data-testid="project-page-host">
      {db ? `${db} on ` : ""}
      {databaseHost(url)}
    </span>
  );
}
