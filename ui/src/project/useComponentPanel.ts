// What a project page's component panel (backup server, artifact bucket) keeps: the project's
// components, whether its form is open, the remove confirmation, the last error and notice, and
// the job it started (live while it runs).
import { useCallback, useState } from "react";
import type { Components, ErrorPayload } from "../bindings";
import { keys, useComponents, useLiveJob, useStore } from "../store";

export function useComponentPanel(project: string) {
  const components = useComponents(project);
  const store = useStore();
  const [editing, setEditing] = useState(false);
  const [removing, setRemoving] = useState(false);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const job = useLiveJob(jobId);
  const running = job !== null && job.finished === null;
  const c: Components | null = components.status === "ready" ? components.data : null;
  const reload = useCallback(() => store.reload(keys.components(project)), [store, project]);

  /** A change was saved: close the form and the confirmation, say so, re-read the components. */
  const saved = (message: string) => {
    setError(null);
    setRemoving(false);
    setEditing(false);
    setNotice(message);
    reload();
  };

  return {
    components,
    c,
    reload,
    editing,
    setEditing,
    removing,
    setRemoving,
    error,
    setError,
    notice,
    setNotice,
    job,
    setJobId,
    running,
    saved,
  };
}
