// A running job's named steps (issue 64 item 6: "dump → compress → verify → copy"): the engine
// reports phases (connecting, dumping, globals, packing, syncing, verifying, copying…); a person
// reads a few steps, the one the job is on, and which are done. One table per kind of job.
import type { JobKind, Phase } from "../bindings";
import table from "./jobSteps.json";

export type StepState = "done" | "current" | "todo";
export type JobStep = { id: string; label: string; state: StepState };

type StepDef = { id: string; label: string; phases: Phase[]; /** Shown only once reached (a job may skip it). */ optional?: boolean };

// The table is the engine's (crates/core/src/ops/job_steps.rs, which the tray's tooltip says from):
// written to jobSteps.json and checked there, so the panel and the tray name the same steps.
const TABLE = table as unknown as Record<"backup" | "server_backup" | "restore" | "import", StepDef[]>;
const BACKUP = TABLE.backup;
/** A backup made by the project's backup server: made there, downloaded, checked here. */
const SERVER_BACKUP = TABLE.server_backup;
const RESTORE = TABLE.restore;
const IMPORT = TABLE.import;

const STEPS: Partial<Record<JobKind, StepDef[]>> = { backup: BACKUP, restore: RESTORE, import: IMPORT };

function defsOf(kind: JobKind | null, phases: Phase[], server: boolean): StepDef[] | null {
  if (kind === "backup" && (server || phases.some((p) => p === "on_server" || p === "server_step"))) return SERVER_BACKUP;
  return kind ? (STEPS[kind] ?? null) : null;
}

/**
 * The steps of a job of `kind` on `phase` (null: not started yet, the first step is current),
 * with the furthest step reached so far (`reached`, from the job's earlier phases: a step is never
 * undone by a phase that belongs to an earlier one, like the backup's read-back). Null for a job
 * of one step (a verify, a pull): its phase says it all. `server`: a backup the project's backup
 * server makes (known before its first report).
 */
export function jobSteps(kind: JobKind | null, phase: Phase | null, reached: Phase[] = [], server = false): JobStep[] | null {
  const defs = defsOf(kind, [...reached, ...(phase ? [phase] : [])], server);
  if (!defs) return null;
  const index = (p: Phase) => defs.findIndex((d) => d.phases.includes(p));
  const seen = [...reached, ...(phase ? [phase] : [])].map(index).filter((i) => i >= 0);
  const current = phase === "done" ? defs.length : seen.length ? Math.max(...seen) : 0;
  return defs
    .map((d, i): JobStep & { keep: boolean } => ({
      id: d.id,
      label: d.label,
      state: i < current ? "done" : i === current ? "current" : "todo",
      keep: !d.optional || seen.includes(i),
    }))
    .filter((s) => s.keep)
    .map(({ keep: _keep, ...s }) => s);
}

/** What the bytes of a phase are, for the line under the bar ("Compressed 40 MB of 93 MB"). */
export function doneLabel(phase: Phase): string {
  switch (phase) {
    case "dumping":
      return "Read from the database";
    case "downloading":
      return "Downloaded";
    case "packing":
      return "Compressed";
    case "verifying":
      return "Checked";
    case "copying":
      return "Copied";
    case "restoring":
      return "Restored";
    case "fetching":
      return "Fetched";
    default:
      return "Done";
  }
}

/**
 * A running job in one line, for where there is no room for its panel (the home card):
 * "Step 2 of 3: Compress"; before the first report, "Starting".
 */
export function stepLine(kind: JobKind | null, phase: Phase | null, reached: Phase[] = []): string | null {
  const steps = jobSteps(kind, phase, reached);
  const at = steps?.findIndex((s) => s.state === "current") ?? -1;
  if (!steps || at < 0) return null;
  return `Step ${at + 1} of ${steps.length}: ${steps[at]!.label}`;
}
