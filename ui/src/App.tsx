import { useEffect, useState } from "react";
import { type AppInfo, commands, type ErrorPayload } from "./bindings";
import { toErrorPayload } from "./ipc/errors";
import { Main } from "./screens/Main";
import { AppSettingsProvider } from "./settings/appSettings";
import { UpdateBanner } from "./updates/UpdateBanner";

type State =
  | { status: "loading" }
  | { status: "ready"; info: AppInfo }
  | { status: "error"; error: ErrorPayload };

export function App() {
  const [state, setState] = useState<State>({ status: "loading" });

  useEffect(() => {
    let active = true;
    commands.appInfo().then(
      (result) => {
        if (!active) return;
        if (result.status === "ok") setState({ status: "ready", info: result.data });
        else setState({ status: "error", error: toErrorPayload(result.error) });
      },
      (error: unknown) => active && setState({ status: "error", error: toErrorPayload(error) }),
    );
    return () => {
      active = false;
    };
  }, []);

  return (
    <AppSettingsProvider>
      <main className="app" data-testid="app">
        <header className="app-header">
          <img className="app-logo" src="/icon.svg" alt="" width={28} height={28} />
          <h1 data-testid="app-title">Offsite</h1>
          <p className="tagline">Verified offsite backups of your PostgreSQL and Supabase projects.</p>
        </header>

        <UpdateBanner />

        <Main />

        <footer>
          {state.status === "loading" && (
            <p className="muted small" data-testid="app-info-loading">
              Loading…
            </p>
          )}

          {state.status === "error" && (
            <div className="error" role="alert" data-testid="app-info-error" data-code={state.error.code}>
              <p>{state.error.message}</p>
              {state.error.hint && <p className="muted">{state.error.hint}</p>}
            </div>
          )}

          {state.status === "ready" && (
            <dl className="info" data-testid="app-info">
              <div>
                <dt>Name</dt>
                <dd data-testid="app-info-name">{state.info.name}</dd>
              </div>
              <div>
                <dt>Version</dt>
                <dd data-testid="app-info-version">{state.info.version}</dd>
              </div>
              <div>
                <dt>Engine</dt>
                <dd data-testid="app-info-engine">{state.info.engine}</dd>
              </div>
              <div>
                <dt>Data folder</dt>
                <dd data-testid="app-info-data-dir">
                  <code>{state.info.data_dir}</code>
                </dd>
              </div>
            </dl>
          )}
        </footer>
      </main>
    </AppSettingsProvider>
  );
}
