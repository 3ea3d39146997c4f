// The app's one way to keep technical detail out of the sentence (issue 44: "a sentence first,
// technical detail behind Details"): a closed disclosure titled "Details" whose content is the
// engine's own words (versions, paths, ids, raw errors), for the person who needs them.
import type { ReactNode } from "react";

export function Details({ testId, children, summary = "Details" }: { testId: string; children: ReactNode; summary?: string }) {
  return (
    <details className="details small" data-testid={testId}>
      <summary>{summary}</summary>
      {children}
    </details>
  );
}
