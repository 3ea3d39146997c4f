// "Proven restorable 3 days ago · restored in 4 min" / "Last drill failed 2 days ago: Table public.orders"
// / "Never proven": the project card's and the project page's line about drills.
import { formatTime } from "../components/format";
import { type DrillGlance, provenLine } from "./text";
import "./drill.css";

type Props = {
  last: DrillGlance | null | undefined;
  lastPassed: DrillGlance | null | undefined;
  now?: number;
  testId?: string;
};

export function ProvenLine({ last, lastPassed, now = Date.now(), testId = "project-proven" }: Props) {
  const { state, text } = provenLine(last, lastPassed, now);
  const when = last?.finished_at ?? lastPassed?.finished_at;
  return (
    <span
      className={`small ${state === "failed" ? "text-danger" : state === "never" ? "muted" : "text-ok"}`}
      title={when ? `Newest drill: ${formatTime(when)}` : "No restore drill has proven a backup of this project yet"}
      data-testid={testId}
      data-state={state}
    >
      {text}
    </span>
  );
}
