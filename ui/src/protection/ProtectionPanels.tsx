// The project page's protection: the 3-2-1 state at a glance, where the selected backup lives,
// the encryption panel and the destinations. Everything comes from the engine through the
// generated commands, read again whenever the project's backups or jobs change (a backup, a
// copy pushed by `sync`, a change from the command line).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  type BackupCopies,
  type BackupRow,
  commands,
  type DestinationRecord,
  type EncryptionSettings,
  type Protection,
} from "../bindings";
import { call } from "../ipc/call";
import { useBackups, useJobs } from "../store";
import { DestinationsSection } from "./DestinationsSection";
import { EncryptionSetup } from "./EncryptionSetup";
import { backupLocations, destinationsApi, destinationViews, encryptionApi, encryptionView, protectionView } from "./api";
import { BackupWhere, ProtectionSummary } from "./ProtectionSummary";
import type { LoadState } from "./types";
import "./protection.css";

type Data = {
  encryption: LoadState<EncryptionSettings>;
  destinations: LoadState<DestinationRecord[]>;
  copies: LoadState<BackupCopies[]>;
  protection: LoadState<Protection>;
};

const LOADING: Data = {
  encryption: { status: "loading" },
  destinations: { status: "loading" },
  copies: { status: "loading" },
  protection: { status: "loading" },
};

function loaded<T>(r: Awaited<ReturnType<typeof call<T>>>): LoadState<T> {
  return r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error };
}

/** The project's encryption, destinations, copies and 3-2-1 state; `reload` reads them again. */
export function useProtection(project: string) {
  const [data, setData] = useState<Data>(LOADING);
  const seq = useRef(0);
  const reload = useCallback(() => {
    const mine = ++seq.current;
    void Promise.all([
      call(commands.getEncryption(project)),
      call(commands.listDestinations(project)),
      call(commands.listCopies(project)),
      call(commands.getProtection(project)),
    ]).then(([e, d, c, p]) => {
      if (mine !== seq.current) return; // a newer read is under way
      setData({ encryption: loaded(e), destinations: loaded(d), copies: loaded(c), protection: loaded(p) });
    });
  }, [project]);
  // Read again when the project's backups or jobs change (the store follows the catalog).
  const backups = useBackups(project);
  const jobs = useJobs(project);
  useEffect(() => {
    reload();
  }, [reload, backups, jobs]);
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

/** The encryption panel; `confirmRequest` (see EncryptionSetup) opens its confirmation. */
export function EncryptionPanel({
  project,
  protection,
  confirmRequest,
}: {
  project: string;
  protection: ProtectionData;
  confirmRequest: number;
}) {
  const api = useMemo(() => encryptionApi(project), [project]);
  const e = protection.data.encryption;
  return (
    <EncryptionSetup
      key={project}
      settings={e.status === "ready" ? encryptionView(e.data) : null}
      api={api}
      onChanged={() => protection.reload()}
      confirmRequest={confirmRequest}
    />
  );
}

export function DestinationsPanel({ project, protection }: { project: string; protection: ProtectionData }) {
  const api = useMemo(() => destinationsApi(project), [project]);
  const { destinations, protection: p } = protection.data;
  const views: LoadState<ReturnType<typeof destinationViews>> =
    destinations.status === "ready"
      ? { status: "ready", data: destinationViews(destinations.data, p.status === "ready" ? p.data : null) }
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
