// The project page's protection: the 3-2-1 state at a glance, where the selected backup lives,
// and the destinations. Everything comes from the engine through the
// generated commands, read again whenever the project's backups or jobs change (a backup, a
// copy pushed by `sync`, a change from the command line).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  type BackupCopies,
  type BackupRow,
  commands,
  type CopyMark,
  type DestinationRecord,
  type Protection,
} from "../bindings";
import { call } from "../ipc/call";
import { useBackups, useJobs } from "../store";
import { DestinationsSection } from "./DestinationsSection";
import { backupLocations, destinationsApi, destinationViews, protectionView } from "./api";
import { BackupWhere, ProtectionSummary } from "./ProtectionSummary";
import type { LoadState } from "./types";
import "./protection.css";

type Data = {
  destinations: LoadState<DestinationRecord[]>;
  copies: LoadState<BackupCopies[]>;
  protection: LoadState<Protection>;
};

function loaded<T>(r: Awaited<ReturnType<typeof call<T>>>): LoadState<T> {
  return r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error };
}

/**
 * The project's destinations, copies and 3-2-1 state. The copies and the 3-2-1 state are read
 * again when the project's backups or jobs change (a backup, a copy pushed by `sync`, a change
 * from the command line); the destinations when this page changes them (`reload`).
 */
export function useProtection(project: string) {
  const [destinations, setDestinations] = useState<Data["destinations"]>({ status: "loading" });
  const [views, setViews] = useState<Pick<Data, "copies" | "protection">>({
    copies: { status: "loading" },
    protection: { status: "loading" },
  });
  const seq = useRef(0);
  const readCopies = useCallback(() => {
    const mine = ++seq.current;
    void Promise.all([call(commands.listCopies(project)), call(commands.getProtection(project))]).then(([c, p]) => {
      if (mine === seq.current) setViews({ copies: loaded(c), protection: loaded(p) }); // else a newer read is under way
    });
  }, [project]);
  const readDestinations = useCallback(() => {
    void call(commands.listDestinations(project)).then((d) => setDestinations(loaded(d)));
  }, [project]);
  useEffect(readDestinations, [readDestinations]);
  const backups = useBackups(project);
  const jobs = useJobs(project);
  useEffect(readCopies, [readCopies, backups, jobs]);
  const reload = useCallback(() => {
    readDestinations();
    readCopies();
  }, [readDestinations, readCopies]);
  const data: Data = useMemo(() => ({ destinations, ...views }), [destinations, views]);
  return { data, reload };
}

export type ProtectionData = ReturnType<typeof useProtection>;

/** The 3-2-1 line under the project's toolbar. */
export function ProtectionGlance({ data }: { data: Data }) {
  if (data.protection.status !== "ready") return null;
  return <ProtectionSummary protection={protectionView(data.protection.data)} />;
}

/** Where the selected backup lives. */
export function SelectedBackupWhere({ data, backup }: { data: Data; backup: BackupRow | undefined }) {
  const entry = useMemo(
    () => (backup && data.copies.status === "ready" ? data.copies.data.find((b) => b.backup_id === backup.id) : undefined),
    [backup, data.copies],
  );
  if (!backup || !entry) return null;
  return <BackupWhere where={backupLocations(entry, backup.status !== "missing")} />;
}

export function DestinationsPanel({
  project,
  protection,
  copies = [],
}: {
  project: string;
  protection: ProtectionData;
  /** The project's copy marks (which destinations count as another medium). */
  copies?: CopyMark[];
}) {
  const api = useMemo(() => destinationsApi(project), [project]);
  const { destinations, protection: p } = protection.data;
  const views: LoadState<ReturnType<typeof destinationViews>> =
    destinations.status === "ready"
      ? { status: "ready", data: destinationViews(destinations.data, p.status === "ready" ? p.data : null, copies) }
      : destinations;
  return (
    <DestinationsSection
      destinations={views}
      api={api}
      reload={protection.reload}
      pickFolder={async () => {
        const r = await call(commands.pickPath("folder", "Choose the destination folder"));
        return r.ok ? r.data : null;
      }}
    />
  );
}
