// The "Import…" buttons: the native open dialog (through `commands.pickPath`, shown by the Rust
// side) chooses a file, which then goes to the drop zone's preview exactly like a dropped file.
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from "react";
import { commands, type ErrorPayload } from "../bindings";
import { toErrorPayload } from "../ipc/errors";

type ImportRequests = {
  /** A file to preview (a counter makes choosing the same file twice open it again). */
  request: { path: string; n: number } | null;
  /** Preview this file as if it had been dropped. */
  open: (path: string) => void;
  /** Show the open dialog; the chosen file is previewed. Resolves with an error if the dialog failed. */
  pick: () => Promise<ErrorPayload | null>;
};

const Ctx = createContext<ImportRequests | null>(null);

export function ImportRequestProvider({ children }: { children: ReactNode }) {
  const [request, setRequest] = useState<ImportRequests["request"]>(null);
  const open = useCallback((path: string) => setRequest((r) => ({ path, n: (r?.n ?? 0) + 1 })), []);
  const pick = useCallback(async () => {
    try {
      const r = await commands.pickPath("import_file", "Import a backup");
      if (r.status === "error") return toErrorPayload(r.error);
      if (r.data) open(r.data);
      return null;
    } catch (e) {
      return toErrorPayload(e);
    }
  }, [open]);
  const value = useMemo(() => ({ request, open, pick }), [request, open, pick]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

/** The import requests of the window (a no-op outside the provider, e.g. in isolated tests). */
export function useImportRequests(): ImportRequests {
  return (
    useContext(Ctx) ?? {
      request: null,
      open: () => {},
      pick: async () => null,
    }
  );
}

/** An "Import…" button: the open dialog, then the same preview a drop shows. */
export function ImportButton({ className = "btn" }: { className?: string }) {
  const { pick } = useImportRequests();
  const [error, setError] = useState<ErrorPayload | null>(null);
  return (
    <>
      <button
        type="button"
        className={className}
        onClick={() => {
          setError(null);
          void pick().then(setError);
        }}
        title="Import an Offsite archive, a database dump made outside Offsite, or a project export (or drop it on the window)"
        data-testid="import-open"
      >
        Import…
      </button>
      {error && (
        <span className="error small" role="alert" data-testid="import-open-error" data-code={error.code}>
          {error.message}
        </span>
      )}
    </>
  );
}
