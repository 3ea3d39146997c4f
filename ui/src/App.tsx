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

        {/* The version and the data folder live in Settings → About (issue 44): no footer on every
            screen. Only a failure to read them is said here. */}
        {state.status === "error" && (
          <div className="error" role="alert" data-testid="app-info-error" data-code={state.error.code}>
            <p>{state.error.message}</p>
            {state.error.hint && <p className="muted">{state.error.hint}</p>}
          </div>
        )}
      </main>
    </AppSettingsProvider>
  );
}
