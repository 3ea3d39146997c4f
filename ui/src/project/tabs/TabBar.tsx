// The project page's tabs: a WAI-ARIA tablist (one tab stop; Left/Right/Home/End move and open).
import { useRef } from "react";
import type { ProjectTab } from "../../screens/Main";
import "./tabs.css";

export const TABS: readonly { id: ProjectTab; label: string }[] = [
  { id: "backups", label: "Backups" },
  { id: "sources", label: "Sources" },
  { id: "protection", label: "Protection" },
  { id: "schedules", label: "Schedules & retention" },
  { id: "activity", label: "Activity" },
];

export function TabBar({ tab, onTab }: { tab: ProjectTab; onTab: (t: ProjectTab) => void }) {
  const list = useRef<HTMLDivElement>(null);
  const move = (to: number) => {
    const t = TABS[(to + TABS.length) % TABS.length];
    if (!t) return;
    onTab(t.id);
    list.current?.querySelector<HTMLButtonElement>(`#project-tab-${t.id}`)?.focus();
  };
  const at = TABS.findIndex((t) => t.id === tab);
  return (
    <div
      ref={list}
      className="tabbar"
      role="tablist"
      aria-label="Project"
      data-testid="project-tabs"
      onKeyDown={(e) => {
        const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: TABS.length - 1 }[e.key];
        if (to === undefined) return;
        e.preventDefault();
        move(to);
      }}
    >
      {TABS.map((t) => (
        <button
          key={t.id}
          id={`project-tab-${t.id}`}
          type="button"
          role="tab"
          aria-selected={t.id === tab}
          aria-controls={`project-panel-${t.id}`}
          tabIndex={t.id === tab ? 0 : -1}
          className={`tab${t.id === tab ? " tab-active" : ""}`}
          onClick={() => onTab(t.id)}
          data-testid={`project-tab-${t.id}`}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}
