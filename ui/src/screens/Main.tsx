import { useEffect, useMemo, useRef, useState } from "react";
import type { UnlistenFn } from "@tauri-apps/api/event";
import { commands, events } from "../bindings";
import { StoreProvider } from "../store";
import { useSubscription } from "../ipc/subscribe";
import { AddProject } from "./AddProject";
import { ProjectPage } from "./ProjectPage";
import { ProjectsHome } from "./ProjectsHome";
import { History } from "./History";
import { Settings } from "./Settings";
import { Notifications } from "./Notifications";
import { RestoreWizard } from "../wizard/RestoreWizard";
import { DrillsScreen } from "../drill/DrillsScreen";
import { useDrillApi } from "../drill/api";
import { BrowseScreen } from "../browse/BrowseScreen";
import { browseApi } from "../browse/api";
import { useRecover } from "../recover/api";
import { DiffScreen } from "../diff/DiffScreen";
import { useDiffApi } from "../diff/api";
import { DropZone } from "../dropzone/DropZone";
import { ImportRequestProvider } from "../dropzone/importRequest";
import { type ErrorActionHandlers, ErrorActionsProvider } from "../components/errorActions";
import { ZoneNote } from "../components/Time";
import { HelpScreen } from "../help/HelpScreen";

/** The project page's tabs (issue 29); a route may open the page on one of them. */
export type ProjectTab = "backups" | "sources" | "protection" | "schedules" | "activity";

export type Route =
  | { screen: "home" }
  | { screen: "add" }
  | { screen: "edit"; name: string }
  | { screen: "settings" }
  | { screen: "notifications" }
  | { screen: "history" }
  | { screen: "project"; name: string; tab?: ProjectTab; confirmKey?: boolean }
  /** `at`: a moment chosen on the point-in-time band (RFC 3339 UTC): the wizard opens on it. */
  | { screen: "restore"; name: string; path?: string; at?: string }
  | { screen: "drills"; name: string; at?: string }
  /** `held`: a state made for this screen ("Look inside at this time"), removed when it is left. */
  | { screen: "browse"; name: string; path: string; label: string; held?: boolean }
  | { screen: "diff"; name: string; at?: string }
  | { screen: "help"; name?: string };

/** Calls back with the project named by each `open-project` event (a notification was clicked). */
export type ListenOpenProject = (onOpen: (project: string) => void) => Promise<UnlistenFn>;

export const listenOpenProject: ListenOpenProject = (onOpen) =>
  events.openProject.listen((e) => onOpen(e.payload.project));

/** Screens an `open-project` event does not navigate away from. */
const KEEPS_INPUT: ReadonlySet<Route["screen"]> = new Set(["add", "edit", "restore"]);

/** The screens, and the store they share. Moving between screens moves focus to the new one. */
export function Main({
  initial = { screen: "home" },
  listenOpen = listenOpenProject,
}: {
  initial?: Route;
  /** Where `open-project` events come from (tests pass their own). */
  listenOpen?: ListenOpenProject;
}) {
  const [route, setRoute] = useState<Route>(initial);

  // A click on a job's notification opens its project, unless the screen holds the user's
  // unfinished input (a form being filled in, the restore wizard): that stays, the window is shown.
  useSubscription(listenOpen, (project) =>
    setRoute((current) => (KEEPS_INPUT.has(current.screen) ? current : { screen: "project", name: project })),
  );

  // A state made for the browse screen ("Look inside at this time") is removed once the screen is
  // left, whichever way (Back, Escape, the sidebar). Tracked by route, not by unmounting (which
  // React's development mode does twice).
  const held = useRef<string | null>(null);
  useEffect(() => {
    const now = route.screen === "browse" && route.held ? route.path : null;
    if (held.current && held.current !== now) void commands.closeAt(held.current).catch(() => undefined);
    held.current = now;
  }, [route]);

  const region = useRef<HTMLDivElement>(null);
  const first = useRef(true);

  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const el = region.current;
    if (!el) return;
    // Focus the screen's first field or heading, so keyboard users land in the new screen.
    const target = el.querySelector<HTMLElement>("input") ?? el.querySelector<HTMLElement>("h2");
    if (target) {
      if (target.tagName === "H2") target.tabIndex = -1;
      target.focus();
    }
  }, [route]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && route.screen !== "home") {
        // Not while editing a field (Escape there must not lose what was typed).
        const t = e.target;
        if (t instanceof Element && t.closest("input, select, textarea, [role=listbox]")) return;
        setRoute({ screen: "home" });
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [route.screen]);

  // An error's ways out the app can take from anywhere: Settings; on a project's page, its
  // connection and credentials form.
  const projectName = route.screen === "project" ? route.name : null;
  const errorActions = useMemo<ErrorActionHandlers>(() => {
    const edit = projectName ? () => setRoute({ screen: "edit", name: projectName }) : undefined;
    return {
      open_settings: () => setRoute({ screen: "settings" }),
      ...(edit ? { edit_credentials: edit, check_address: edit } : {}),
    };
  }, [projectName]);

  return (
    <StoreProvider>
      <ImportRequestProvider>
      <ErrorActionsProvider value={errorActions}>
      <div ref={region} className="screen" data-testid={`screen-${route.screen}`}>
        {route.screen === "home" && (
          <ProjectsHome
            onOpen={(name) => setRoute({ screen: "project", name })}
            onAdd={() => setRoute({ screen: "add" })}
            onSettings={() => setRoute({ screen: "settings" })}
            onNotifications={() => setRoute({ screen: "notifications" })}
            onHistory={() => setRoute({ screen: "history" })}
            onHelp={() => setRoute({ screen: "help" })}
            onNavigate={setRoute}
          />
        )}
        {route.screen === "add" && (
          <AddProject
            onSaved={(p) => setRoute({ screen: "project", name: p.project.name })}
            onCancel={() => setRoute({ screen: "home" })}
          />
        )}
        {route.screen === "edit" && (
          <AddProject
            key={route.name}
            editName={route.name}
            onSaved={(p) => setRoute({ screen: "project", name: p.project.name })}
            onCancel={() => setRoute({ screen: "project", name: route.name })}
            onRemoved={() => setRoute({ screen: "home" })}
          />
        )}
        {route.screen === "settings" && <Settings onBack={() => setRoute({ screen: "home" })} />}
        {route.screen === "notifications" && <Notifications onBack={() => setRoute({ screen: "home" })} />}
        {route.screen === "history" && <History onBack={() => setRoute({ screen: "home" })} />}
        {route.screen === "help" && (
          <HelpScreen onBack={() => setRoute({ screen: "home" })} onNavigate={setRoute} {...(route.name ? { project: route.name } : {})} />
        )}
        {route.screen === "project" && (
          <ProjectPage
            key={`${route.name}:${route.tab ?? ""}:${route.confirmKey ? "confirm" : ""}`}
            name={route.name}
            {...(route.tab ? { tab: route.tab } : {})}
            {...(route.confirmKey ? { confirmKey: true } : {})}
            onNavigate={setRoute}
            onBack={() => setRoute({ screen: "home" })}
            onRestore={(path) => setRoute({ screen: "restore", name: route.name, ...(path ? { path } : {}) })}
            onEdit={() => setRoute({ screen: "edit", name: route.name })}
            onDrills={() => setRoute({ screen: "drills", name: route.name })}
            onDiff={() => setRoute({ screen: "diff", name: route.name })}
            onBrowse={(backup) => setRoute({ screen: "browse", name: route.name, path: backup.path, label: backup.label })}
          />
        )}
        {route.screen === "browse" && (
          <Browse
            project={route.name}
            archive={route.path}
            label={route.label}
            onBack={() => setRoute({ screen: "project", name: route.name })}
          />
        )}
        {route.screen === "diff" && (
          <Diff project={route.name} {...(route.at ? { at: route.at } : {})} onBack={() => setRoute({ screen: "project", name: route.name })} />
        )}
        {route.screen === "drills" && (
          <Drills project={route.name} {...(route.at ? { at: route.at } : {})} onBack={() => setRoute({ screen: "project", name: route.name })} />
        )}
        {route.screen === "restore" && (
          <RestoreWizard
            project={route.name}
            {...(route.path ? { initialPath: route.path } : {})}
            {...(route.at ? { initialAt: route.at } : {})}
            onClose={() => setRoute({ screen: "project", name: route.name })}
            onLookInside={(path, label) => setRoute({ screen: "browse", name: route.name, path, label, held: true })}
            onBrowse={(path, label) => setRoute({ screen: "browse", name: route.name, path, label })}
          />
        )}
        <ZoneNote />
      </div>
      <DropZone
        currentProject={route.screen === "project" ? route.name : undefined}
        onRestore={(path, name) => setRoute({ screen: "restore", name, path })}
        onOpenProject={(name) => setRoute({ screen: "project", name })}
      />
      </ErrorActionsProvider>
      </ImportRequestProvider>
    </StoreProvider>
  );
}

/** The diff screen with the app's commands (inside the store: a point in time is a job). */
function Diff({ project, at, onBack }: { project: string; at?: string; onBack: () => void }) {
  const api = useDiffApi();
  const recover = useRecover(project);
  return <DiffScreen project={project} api={api} {...(at ? { initialAt: at } : {})} onBack={onBack} recover={recover} />;
}

/** The drills screen with the app's commands (inside the store). */
function Drills({ project, at, onBack }: { project: string; at?: string; onBack: () => void }) {
  const api = useDrillApi();
  return <DrillsScreen project={project} api={api} {...(at ? { initialAt: at } : {})} onBack={onBack} />;
}

/** Look inside a backup, with "Recover these rows…" into the saved projects. */
function Browse({ project, ...props }: { project: string; archive: string; label: string; onBack: () => void }) {
  const recover = useRecover(project);
  return <BrowseScreen {...props} api={browseApi} recover={recover} />;
}
