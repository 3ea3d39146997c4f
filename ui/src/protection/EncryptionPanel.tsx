// The project page's encryption panel: the settings from the engine, read again after each
// change. `confirmRequest` (see EncryptionSetup) opens the confirmation (a refused backup).
import { useCallback, useEffect, useMemo, useState } from "react";
import { commands, type EncryptionSettings } from "../bindings";
import { call } from "../ipc/call";
import { EncryptionSetup } from "./EncryptionSetup";
import { encryptionApi, encryptionView } from "./encryptionApi";
import type { LoadState } from "./types";
import { ErrorNotice } from "../components/ErrorNotice";

export function EncryptionPanel({
  project,
  confirmRequest,
  onChanged,
}: {
  project: string;
  confirmRequest: number;
  /** After a change (the 3-2-1 view and backups may differ). */
  onChanged?: () => void;
}) {
  const api = useMemo(() => encryptionApi(project), [project]);
  const [settings, setSettings] = useState<LoadState<EncryptionSettings>>({ status: "loading" });
  const reload = useCallback(() => {
    void call(commands.getEncryption(project)).then((r) =>
      setSettings(r.ok ? { status: "ready", data: r.data } : { status: "error", error: r.error }),
    );
  }, [project]);
  useEffect(reload, [reload]);
  if (settings.status === "error") return <ErrorNotice error={settings.error} testId="encryption-load-error" onRetry={reload} />;
  return (
    <EncryptionSetup
      key={project}
      settings={settings.status === "ready" ? encryptionView(settings.data) : null}
      api={api}
      onChanged={() => {
        reload();
        onChanged?.();
      }}
      confirmRequest={confirmRequest}
    />
  );
}
