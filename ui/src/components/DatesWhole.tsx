// A sentence whose dates stay whole on their line: "weekly 2026-W48" and "2026-11-26 09:41"
// broke after "2026-" in the narrow side panel (issue 44, screens-light-02); the rest of the
// sentence wraps as usual.
import { Fragment } from "react";

/** Dates (2026-11-26, 2026-11-26 09:41, 2026-W48, 2026-11) in an engine or app sentence. */
const DATE = /\d{4}-(?:W\d{2}|\d{2}(?:-\d{2})?(?: \d{2}:\d{2}(?::\d{2})?)?)/g;

/** `text` split into plain runs and dates, the dates marked to stay on one line. */
export function splitDates(text: string): { text: string; date: boolean }[] {
  const out: { text: string; date: boolean }[] = [];
  let at = 0;
  for (const m of text.matchAll(DATE)) {
    const i = m.index ?? 0;
    if (i > at) out.push({ text: text.slice(at, i), date: false });
    out.push({ text: m[0], date: true });
    at = i + m[0].length;
  }
  if (at < text.length) out.push({ text: text.slice(at), date: false });
  return out;
}

export function DatesWhole({ text }: { text: string }) {
  return (
    <>
      {splitDates(text).map((p, i) =>
        p.date ? (
          <span key={i} className="nowrap">
            {p.text}
          </span>
        ) : (
          <Fragment key={i}>{p.text}</Fragment>
        ),
      )}
    </>
  );
}
