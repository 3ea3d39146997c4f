// The restore's first question (issue 64, item 2): what does the user want back? The Help
// screen's scenarios as choices, each routed to the flow that does it: the whole project and
// some tables or files through this wizard's steps (the choice presets the review's selection or
// the components), some rows through Look inside → Recover these rows, the project as it was at
// a moment through point in time (when its capture runs; otherwise the nearest backup).

export type Want = "project" | "tables" | "rows" | "files" | "moment";

type Choice = { id: Want; title: string; detail: string; testId: string };

/** The choices, as a person would say them. */
export const WANTS: Choice[] = [
  { id: "project", title: "The whole project", detail: "Everything a backup holds: the database, and its files and settings when the backup has them.", testId: "wizard-mode-backup" },
  { id: "tables", title: "Some tables", detail: "A table dropped or damaged: restore only the tables you choose.", testId: "wizard-want-tables" },
  { id: "rows", title: "Some rows, such as one customer’s", detail: "Rows deleted by mistake: look inside a backup from before, pick the rows, and put back only those (it can be undone).", testId: "wizard-want-rows" },
  { id: "files", title: "Files", detail: "The project’s file storage: all buckets or the ones you choose.", testId: "wizard-want-files" },
  { id: "moment", title: "The project as it was at a moment", detail: "A migration or deploy broke it: go back to a second just before.", testId: "wizard-mode-time" },
];

type Props = {
  want: Want;
  onWant: (w: Want) => void;
  /** Point in time has restorable windows for this project. */
  hasTime: boolean;
  /** A restore to a time runs: the question is not changed meanwhile. */
  locked: boolean;
  /** "Look inside" the chosen backup (for rows): null while none is chosen. */
  onLookInside: (() => void) | null;
};

export function WhatBack({ want, onWant, hasTime, locked, onLookInside }: Props) {
  return (
    <>
      <fieldset className="wizard-choices wizard-what" data-testid="wizard-mode" disabled={locked}>
        <legend className="wizard-what-title">What do you want back?</legend>
        {WANTS.map((c) => (
          <label key={c.id} className="wizard-choice">
            <input type="radio" name="wizard-want" checked={want === c.id} onChange={() => onWant(c.id)} data-testid={c.testId} />
            <span>
              {c.title}
              <span className="muted small wizard-what-detail">{c.detail}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {want === "rows" && (
        <div className="notice notice-neutral small wizard-what-route" data-testid="wizard-want-rows-route">
          <p>
            Choose the newest backup from before the rows were lost, then look inside it: filter the table, tick the rows and
            choose Recover these rows.
          </p>
          <div className="notice-actions">
            <button type="button" className="btn btn-small" disabled={!onLookInside} onClick={() => onLookInside?.()} data-testid="wizard-want-rows-open">
              {onLookInside ? "Look inside the chosen backup…" : "Look inside… (choose a backup below first)"}
            </button>
          </div>
        </div>
      )}
      {want === "moment" && !hasTime && (
        <p className="notice notice-neutral small wizard-what-route" data-testid="wizard-want-moment-none">
          Point in time is off for this project, so it can go back only to a backup: choose the one from just before the
          moment. Turn it on from the project’s Backups tab to restore to any second next time.
        </p>
      )}
    </>
  );
}
