// Where the newest good backup is kept: one mark per place (this computer, the backup server,
// each destination by name); a place where it is not (yet) kept is a hollow mark. A place on
// the same disk as one before it (the engine's `same_medium_as`) is not counted again, and its
// mark shows the engine's note saying why.
import type { CopyMark } from "../bindings";

export function CopyMarks({ copies }: { copies: CopyMark[] }) {
  if (copies.length === 0) {
    return (
      <span className="muted" data-testid="project-copies" data-count="0">
        No good backup yet
      </span>
    );
  }
  const kept = copies.filter((c) => c.ok && !c.same_medium_as).length;
  return (
    <ul
      className="copy-marks"
      data-testid="project-copies"
      data-count={kept}
      aria-label={`Kept in ${kept} of ${copies.length} places`}
    >
      {copies.map((c) => (
        <li
          key={`${c.kind}:${c.place}`}
          className={`copy-mark ${c.ok ? "copy-ok" : "copy-missing"}`}
          data-testid="copy-mark"
          data-kind={c.kind}
          data-ok={String(c.ok)}
          data-same-medium={c.same_medium_as ?? undefined}
          title={
            c.note ?? (c.ok ? `Stored on ${c.place}; its last check passed` : `Not stored on ${c.place} yet, or its last check failed`)
          }
        >
          <span className="copy-dot" aria-hidden="true" />
          {c.place}
          {!c.ok && <span className="dash-sr"> (missing)</span>}
          {c.ok && c.note && (
            <span className="muted small" data-testid="copy-mark-note">
              {" "}
              ({c.note})
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}
