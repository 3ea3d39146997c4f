// The restore wizard's "Fetch from <destination>": the backup's copies from the engine, and the
// fetch as a job followed through the store; when it ends well the backup list is read again
// (the local file is back), and the wizard goes on as for any backup.
import { useEffect, useState } from "react";
import { commands } from "../bindings";
import { call } from "../ipc/call";
import { keys, useStore } from "../store";
import { copyView, LOCAL } from "./api";
import { FetchCopy, type FetchState } from "./FetchCopy";
import type { CopyView } from "./types";

export function FetchCopyPanel({ project, backupId }: { project: string; backupId: string }) {
  const store = useStore();
  const [copies, setCopies] = useState<CopyView[] | null>(null);
  const [state, setState] = useState<FetchState>({ status: "idle" });

  useEffect(() => {
    let stale = false;
    void call(commands.listCopies(project)).then((r) => {
      if (stale) return;
      const entry = r.ok ? r.data.find((b) => b.backup_id === backupId) : undefined;
      setCopies(entry ? entry.copies.filter((c) => c.destination !== LOCAL).map(copyView) : []);
    });
    return () => {
      stale = true;
    };
  }, [project, backupId]);

  const fetch = async (destination: string) => {
    setState({ status: "fetching", destination, bytesDone: 0, bytesTotal: null });
    await store.ready();
    const started = await call(commands.startFetchCopy(project, backupId, destination));
    if (!started.ok) return setState({ status: "error", destination, error: started.error });
    store.follow(started.data, {
      onProgress: (p) =>
        setState({ status: "fetching", destination, bytesDone: p.bytes_done, bytesTotal: p.bytes_total ?? null }),
      onFinished: (f) => {
        if (f.ok) {
          setState({ status: "done", destination });
          store.reload(keys.backups(project));
        } else {
          setState({
            status: "error",
            destination,
            error: f.error ?? { code: "internal", message: "The fetch ended without a result.", hint: null, retryable: false },
          });
        }
      },
    });
  };

  return <FetchCopy copies={copies} state={state} onFetch={(d) => void fetch(d)} />;
}
