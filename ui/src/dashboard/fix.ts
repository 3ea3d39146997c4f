// Where each Fix button leads (issue 29). Which fix a project needs is the engine's decision
// (`offsite_core::health::RULES`, the `problems[0].fix` of its health); this only maps that
// action to a place in the app.
import type { FixAction } from "../bindings";
import type { ProjectTab, Route } from "../screens/Main";

export type FixTarget =
  /** Start a backup of the project now (the job action; the row shows it running). */
  | { kind: "backup" }
  /** Open the Supabase dashboard of the project's Supabase project in the browser. */
  | { kind: "supabase" }
  /** Go to a screen of the app. */
  | { kind: "route"; route: Route };

export function fixTarget(action: FixAction, project: string): FixTarget {
  const page = (tab: ProjectTab): FixTarget => ({
    kind: "route",
    route: { screen: "project", name: project, tab },
  });
  switch (action) {
    case "back_up_now":
      return { kind: "backup" };
    case "edit_credentials":
      return { kind: "route", route: { screen: "edit", name: project } };
    case "verify_previous":
      return page("backups");
    case "add_schedule":
    case "resume_schedule":
      return page("schedules");
    // Destinations are configured per project, on its page (the Protection tab).
    case "add_destination":
    case "retry_copies":
      return page("protection");
    case "check_server":
    case "review_server_certificate":
      return page("sources");
    case "open_drill":
    case "run_drill":
      return { kind: "route", route: { screen: "drills", name: project } };
    case "verify_now":
      return page("backups");
    // Encryption lives on the project's Protection tab; the recovery key's field opens at once.
    case "confirm_recovery_key":
      return { kind: "route", route: { screen: "project", name: project, tab: "protection", confirmKey: true } };
    case "set_up_encryption":
      return page("protection");
    case "open_supabase":
      return { kind: "supabase" };
    // The backup folder is chosen in Settings.
    case "free_space":
      return { kind: "route", route: { screen: "settings" } };
    // Point-in-time capture is shown with the project's backups (its timeline).
    case "capture_now":
    case "restart_capture":
      return page("backups");
  }
}
