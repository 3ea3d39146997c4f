import { useEffect, useRef, useState } from "react";
import { JobsProvider } from "../components/jobs";
import { AddProject } from "./AddProject";
import { ProjectPage } from "./ProjectPage";
import { ProjectsHome } from "./ProjectsHome";
import { RestoreWizard } from "../wizard/RestoreWizard";
import { DropZone } from "../dropzone/DropZone";

export type Route =
  | { screen: "home" }
  | { screen: "add" }
  | { screen: "project"; name: string }
  | { screen: "restore"; name: string; path?: string };

/** The screens, and the jobs store they share. Moving between screens moves focus to the new one. */
export function Main({ initial = { screen: "home" } }: { initial?: Route }) {
  const [route, setRoute] = useState<Route>(initial);
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

  return (
    <JobsProvider>
      <div ref={region} className="screen" data-testid={`screen-${route.screen}`}>
        {route.screen === "home" && (
          <ProjectsHome
            onOpen={(name) => setRoute({ screen: "project", name })}
            onAdd={() => setRoute({ screen: "add" })}
          />
        )}
        {route.screen === "add" && (
          <AddProject
            onSaved={(p) => setRoute({ screen: "project", name: p.project.name })}
            onCancel={() => setRoute({ screen: "home" })}
          />
        )}
        {route.screen === "project" && (
          <ProjectPage
            name={route.name}
            onBack={() => setRoute({ screen: "home" })}
            onRestore={() => setRoute({ screen: "restore", name: route.name })}
          />
        )}
        {route.screen === "restore" && (
          <RestoreWizard
            project={route.name}
            {...(route.path ? { initialPath: route.path } : {})}
            onClose={() => setRoute({ screen: "project", name: route.name })}
          />
        )}
      </div>
      <DropZone
        onRestore={
          route.screen === "project" ? (path) => setRoute({ screen: "restore", name: route.name, path }) : undefined
        }
      />
    </JobsProvider>
  );
}
