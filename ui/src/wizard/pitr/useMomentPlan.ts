// The engine's plan for a chosen moment (issue 64 item 3): what the band's words say — the last
// change before the moment — is the engine's `pitr_plan`, asked once the moment settles (a short
// pause after the last key, so holding an arrow does not ask for every second), the answer for
// an older moment dropped.
import { useEffect, useState } from "react";
import { commands, type ErrorPayload, type PitrPlan } from "../../bindings";
import { toErrorPayload } from "../../ipc/errors";

export type MomentPlan =
  | { status: "idle" }
  | { status: "loading"; at: string }
  | { status: "ok"; at: string; plan: PitrPlan }
  | { status: "error"; at: string; error: ErrorPayload };

/** How long a moment stays put before the engine is asked (ms). */
export const SETTLE_MS = 300;

/** The plan of restoring `project` to `at` (RFC 3339 UTC); `at` null: nothing asked. */
export function useMomentPlan(project: string, at: string | null, settleMs = SETTLE_MS): MomentPlan {
  const [plan, setPlan] = useState<MomentPlan>({ status: "idle" });
  useEffect(() => {
    if (at === null) {
      setPlan({ status: "idle" });
      return;
    }
    setPlan({ status: "loading", at });
    let live = true;
    const timer = setTimeout(() => {
      commands
        .pitrPlan(project, at)
        .then((r) => {
          if (live) setPlan(r.status === "ok" ? { status: "ok", at, plan: r.data } : { status: "error", at, error: toErrorPayload(r.error) });
        })
        .catch((e: unknown) => {
          if (live) setPlan({ status: "error", at, error: toErrorPayload(e) });
        });
    }, settleMs);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [project, at, settleMs]);
  return plan;
}
