// Help (issue 47 item 9): "Something went wrong — what happened?" One choice per scenario of the
// recovery runbook (docs/recovery.md): what must be at hand, the steps, how long, and buttons that
// open the right screen for the chosen project (the restore wizard, Compare, the Backups tab, the
// import dialog, Add project). Below it, the project's printable recovery card.
import { useState } from "react";
import { commands, type ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { useImportRequests } from "../dropzone/importRequest";
import { call } from "../ipc/call";
import type { Route } from "../screens/Main";
import { useProjects } from "../store";
import { type HelpStep, needsProject, SCENARIOS, type Scenario } from "./scenarios";

type Props = {
  onBack: () => void;
  onNavigate: (route: Route) => void;
  /** The project chosen first (opened from its page). */
  project?: string;
};

/** Where a step leads for `project`. */
export function routeOf(step: HelpStep, project: string): Route | null {
  switch (step.to) {
    case "backups":
      return { screen: "project", name: project, tab: "backups" };
    case "restore":
      return { screen: "restore", name: project };
    case "diff":
      return { screen: "diff", name: project };
    case "drills":
      return { screen: "drills", name: project };
    case "add":
      return { screen: "add" };
    case "import":
      return null;
  }
}

export function HelpScreen({ onBack, onNavigate, project: first }: Props) {
  const projects = useProjects();
  const names = projects.status === "ready" ? projects.data.map((p) => p.project.name) : [];
  const [chosen, setChosen] = useState<Scenario["id"] | null>(null);
  const [project, setProject] = useState<string>(first ?? "");
  const { pick } = useImportRequests();
  const [error, setError] = useState<ErrorPayload | null>(null);
  const current = project !== "" && names.includes(project) ? project : (names[0] ?? "");
  const scenario = SCENARIOS.find((s) => s.id === chosen) ?? null;

  const go = (step: HelpStep) => {
    setError(null);
    if (step.to === "import") {
      void pick().then(setError);
      return;
    }
    const route = routeOf(step, current);
    if (route) onNavigate(route);
  };

  return (
    <section className="form-screen" data-testid="help-screen">
      <div className="toolbar">
        <button type="button" className="btn btn-quiet" onClick={onBack} data-testid="help-back">
          ← Projects
        </button>
        <h2 className="screen-title">Help</h2>
      </div>
      <div className="form" data-testid="help-went-wrong">
        <h3 className="panel-title">Something went wrong — what happened?</h3>
        <fieldset className="checks">
          <legend className="small">Choose what happened; the steps and the screen to start from follow.</legend>
          {SCENARIOS.map((s) => (
            <label key={s.id} className="choice">
              <input
                type="radio"
                name="help-scenario"
                checked={chosen === s.id}
                onChange={() => {
                  setError(null);
                  setChosen(s.id);
                }}
                data-testid={`help-scenario-${s.id}`}
              />
              {s.title}
            </label>
          ))}
        </fieldset>
        {scenario && (
          <div data-testid="help-steps" data-scenario={scenario.id}>
            <p className="small">
              <strong>At hand:</strong> {scenario.atHand}
            </p>
            <ol className="small">
              {scenario.steps.map((step) => (
                <li key={step}>{step}</li>
              ))}
            </ol>
            <p className="small muted">
              <strong>How long:</strong> {scenario.howLong}
            </p>
            {scenario.actions.some(needsProject) && names.length > 1 && (
              <label className="field">
                <span>Project</span>
                <select value={current} onChange={(e) => setProject(e.target.value)} data-testid="help-project">
                  {names.map((n) => (
                    <option key={n} value={n}>
                      {n}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <div className="form-actions">
              {scenario.actions.map((a) => {
                const noProject = needsProject(a) && current === "";
                return (
                  <button
                    key={a.label}
                    type="button"
                    className={a.primary ? "btn btn-primary" : "btn"}
                    disabled={noProject}
                    title={noProject ? "Add a project first: there is none to recover" : undefined}
                    onClick={() => go(a)}
                    data-testid={`help-go-${a.to}`}
                  >
                    {a.label}
                  </button>
                );
              })}
            </div>
            {error && <ErrorNotice error={error} testId="help-error" />}
          </div>
        )}
        <p className="small muted">Every scenario, with the command-line steps: docs/recovery.md.</p>
      </div>
      {names.length > 0 && <RecoveryCardForm projects={names} initial={current} />}
    </section>
  );
}

/** One line each, blank lines dropped: the contacts as the engine takes them. */
export function contactsOf(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

function RecoveryCardForm({ projects, initial }: { projects: string[]; initial: string }) {
  const [project, setProject] = useState(initial);
  const [contacts, setContacts] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [saved, setSaved] = useState<{ path: string; opened: boolean } | null>(null);
  const save = async () => {
    setBusy(true);
    setError(null);
    setSaved(null);
    const r = await call(commands.saveRecoveryCard(project, contactsOf(contacts)));
    setBusy(false);
    if (!r.ok) return setError(r.error);
    setSaved(r.data);
  };
  return (
    <div className="form" data-testid="recovery-card">
      <h3 className="panel-title">Recovery card</h3>
      <p className="small">
        One printed page per project, kept away from this computer: where the backups and copies are, how to open them
        without Offsite (age, tar, pg_restore), the last drill, the targets and whom to call. It holds no password or key.
      </p>
      {projects.length > 1 && (
        <label className="field">
          <span>Project</span>
          <select value={project} onChange={(e) => setProject(e.target.value)} data-testid="recovery-card-project">
            {projects.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      )}
      <label className="field">
        <span>Whom to call (one a line, as it should be printed; not stored)</span>
        <textarea
          rows={2}
          value={contacts}
          placeholder="Ann Lee <ann@example.com>, +44 20 7946 0000"
          onChange={(e) => setContacts(e.target.value)}
          data-testid="recovery-card-contacts"
        />
      </label>
      {error && <ErrorNotice error={error} testId="recovery-card-error" />}
      {saved && (
        <p className="notice notice-ok small" role="status" data-testid="recovery-card-saved">
          {saved.opened ? "Opened in your browser: print it from there. " : "Open it in a browser and print it. "}
          The page is <span className="mono">{saved.path}</span>.
        </p>
      )}
      <div className="form-actions">
        <button type="button" className="btn btn-primary btn-small" disabled={busy} onClick={() => void save()} data-testid="recovery-card-save">
          Make the recovery card
        </button>
      </div>
    </div>
  );
}
