// The home screen: the protection dashboard (ui/src/dashboard/), with the toolbar (History,
// Settings, import, Add project), or what to do first when there is no project yet.
import { Welcome } from "./Welcome";
import type { ReactNode } from "react";
import { ErrorNotice } from "../components/ErrorNotice";
import { Dashboard, type OpenSupabase } from "../dashboard/Dashboard";
import { ImportButton } from "../dropzone/importRequest";
import { keys, useHealth, useReload } from "../store";
import type { Route } from "./Main";

type Props = {
  onOpen: (name: string) => void;
  onAdd: () => void;
  /** Open the settings screen (the toolbar's Settings button; absent: no button). */
  onSettings?: () => void;
  /** Open the notifications screen (absent: no button). */
  onNotifications?: () => void;
  /** Open the history of every job (the toolbar's History button; absent: no button). */
  onHistory?: () => void;
  /** Open Help ("Something went wrong — what happened?"; absent: no button). */
  onHelp?: () => void;
  /**
   * Go to a screen (the Fix buttons: a project's tab, the edit form, the drills, Settings).
   * Absent: a project's page through `onOpen`, Settings through `onSettings`.
   */
  onNavigate?: (route: Route) => void;
  /** Opens the Supabase dashboard (tests pass their own). */
  openDashboard?: OpenSupabase;
};

export function ProjectsHome({ onOpen, onAdd, onSettings, onNotifications, onHistory, onHelp, onNavigate, openDashboard }: Props) {
  const health = useHealth();
  const reload = useReload();
  const navigate =
    onNavigate ??
    ((route: Route) => {
      if (route.screen === "settings") onSettings?.();
      else if ("name" in route) onOpen(route.name);
    });

  if (health.status === "loading") {
    return (
      <p className="muted" data-testid="projects-loading">
        Loading projects…
      </p>
    );
  }
  const settingsButton = (
    <>
      {onHelp && (
        <button
          type="button"
          className="btn btn-quiet"
          onClick={onHelp}
          title="Something went wrong — what happened? The steps for each kind of loss, and the recovery card"
          data-testid="open-help"
        >
          Help
        </button>
      )}
      {onNotifications && (
        <button type="button" className="btn btn-quiet" onClick={onNotifications} data-testid="open-notifications">
          Notifications
        </button>
      )}
      {onSettings && (
        <button type="button" className="btn btn-quiet" onClick={onSettings} data-testid="open-settings">
          Settings
        </button>
      )}
    </>
  );
  const bare = (body: ReactNode) => (
    <>
      {(onSettings || onNotifications || onHelp) && (
        <div className="toolbar">
          <span className="spacer" />
          {settingsButton}
        </div>
      )}
      {body}
    </>
  );

  if (health.status === "error") {
    return bare(
      <ErrorNotice
        error={health.error}
        testId="projects-error"
        onRetry={() => {
          reload(keys.health());
          reload(keys.projects());
        }}
      />,
    );
  }

  if (health.data.projects.length === 0) {
    return bare(
      <section className="empty" data-testid="empty-state">
        <Welcome />
        <h2>No projects yet</h2>
        <p className="muted">
          Start by adding a PostgreSQL or Supabase database: Offsite then keeps verified backups of it on this
          computer. The password goes into your system keychain.
        </p>
        <div className="form-actions">
          <button type="button" className="btn btn-primary" onClick={onAdd} data-testid="add-project" autoFocus>
            Add your first project
          </button>
          <ImportButton />
        </div>
        <p className="muted small">Or drop a backup on this window: an Offsite archive, a database dump made outside Offsite, or a project export.</p>
        <ul className="project-list" data-testid="project-list" />
      </section>,
    );
  }

  return (
    <section aria-labelledby="projects-title">
      <div className="toolbar">
        <h2 id="projects-title" className="screen-title">
          Projects
        </h2>
        <span className="spacer" />
        {onHistory && (
          <button type="button" className="btn btn-quiet" onClick={onHistory} data-testid="open-history">
            History
          </button>
        )}
        {settingsButton}
        <ImportButton className="btn btn-quiet" />
        <button type="button" className="btn" onClick={onAdd} data-testid="add-project">
          Add project
        </button>
      </div>
      <Dashboard overview={health.data} onNavigate={navigate} {...(openDashboard ? { openDashboard } : {})} />
    </section>
  );
}
