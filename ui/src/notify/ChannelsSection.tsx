// The configured channels: kind, where each sends (redacted: no secret ever comes back), "Send a
// test" with its result in place (sent, or the error's message and hint), "Remove" after a
// second question, and the "Add channel" form. The section shows one result at a time: a newer
// one (a test, an add, a removal) replaces the one before, wherever that was (issue 44: a green
// "Added …" stayed under a later test's red error).
import { useState } from "react";
import type { ChannelView, ErrorPayload } from "../bindings";
import { Details } from "../components/Details";
import { ErrorNotice } from "../components/ErrorNotice";
import { RemoveConfirm } from "../components/RemoveConfirm";
import { formatTime } from "../components/format";
import type { NotifyApi } from "./api";
import { AddChannelForm } from "./AddChannelForm";
import { detailWords, KIND_LABEL, type TestState } from "./model";

type Props = {
  channels: ChannelView[];
  api: NotifyApi;
  /** Re-read channels, routes and the log (after a change). */
  reload: () => void;
};

export function ChannelsSection({ channels, api, reload }: Props) {
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<string | null>(null);
  const [tests, setTests] = useState<Record<string, TestState>>({});
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  /** Clear every shown result: the next one is the section's only one. */
  const clearResults = () => {
    setTests((t) => Object.fromEntries(Object.entries(t).filter(([, s]) => s.status === "testing")));
    setNotice(null);
    setError(null);
  };
  const test = async (name: string) => {
    clearResults();
    setTests((t) => ({ ...t, [name]: { status: "testing" } }));
    const r = await api.test(name);
    clearResults();
    setTests((t) => ({ ...t, [name]: r.ok ? { status: "sent", eventId: r.data } : { status: "failed", error: r.error } }));
    reload();
  };
  const remove = async (name: string) => {
    clearResults();
    const r = await api.remove(name);
    setRemoving(null);
    if (!r.ok) return setError(r.error);
    setNotice(`Removed ${name}: its routes, the messages waiting to be sent and its secrets are gone.`);
    reload();
  };

  return (
    <section className="panel" aria-label="Channels" data-testid="notify-channels">
      <h3 className="panel-title">Channels</h3>
      {channels.length === 0 && (
        <p className="muted small" data-testid="notify-channels-none">
          No channels yet: add email, a webhook, Telegram or a heartbeat ping to be told about backups, drills and overdue
          projects wherever you are.
        </p>
      )}
      {channels.length > 0 && (
        <ul className="notify-list" data-testid="channels">
          {channels.map((c) => (
            <li key={c.name} className="notify-channel" data-testid="channel" data-name={c.name} data-kind={c.kind}>
              <div className="toolbar">
                <strong data-testid="channel-title">{c.name}</strong>
                <span className="muted small" data-testid="channel-kind-label">
                  {KIND_LABEL[c.kind]}
                  {c.detail ? ` · ${detailWords(c.kind, c.detail)}` : ""}
                </span>
                <span className="spacer" />
                <button
                  type="button"
                  className="btn btn-small"
                  onClick={() => void test(c.name)}
                  disabled={tests[c.name]?.status === "testing"}
                  data-testid="channel-test"
                >
                  {tests[c.name]?.status === "testing" ? "Sending…" : "Send a test"}
                </button>
                <button
                  type="button"
                  className="btn btn-small btn-danger"
                  onClick={() => setRemoving(c.name)}
                  data-testid="channel-remove"
                >
                  Remove…
                </button>
              </div>
              <p className="mono small path" data-testid="channel-target">
                <bdi>{c.target}</bdi>
              </p>
              <p className="small muted">
                Added {formatTime(c.created_at)} ·{" "}
                <span data-testid="channel-rate-label">
                  at most {c.rate_per_minute} a minute{c.rate_is_default ? " (default)" : ""}
                </span>
              </p>
              <TestResult state={tests[c.name]} />
              {removing === c.name && (
                <RemoveConfirm testId="channel-remove" onRemove={() => void remove(c.name)} onKeep={() => setRemoving(null)}>
                  Remove the channel {c.name}? Its routes and the messages waiting to be sent go, and its secrets leave the keychain.
                </RemoveConfirm>
              )}
            </li>
          ))}
        </ul>
      )}
      <div className="form-actions">
        {!adding && (
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              clearResults();
              setAdding(true);
            }}
            data-testid="channel-add"
          >
            Add channel…
          </button>
        )}
      </div>
      {adding && <h4 className="form-title" data-testid="channel-add-title">Add a channel</h4>}
      {adding && (
        <AddChannelForm
          api={api}
          onCancel={() => setAdding(false)}
          onAdded={(name) => {
            setAdding(false);
            clearResults();
            setNotice(`Added ${name}. "Send a test" checks it now.`);
            reload();
          }}
        />
      )}
      {error && <ErrorNotice error={error} testId="channels-error" />}
      {notice && (
        <p className="notice notice-ok small" role="status" data-testid="channels-notice">
          {notice}
        </p>
      )}
    </section>
  );
}

function TestResult({ state }: { state: TestState | undefined }) {
  if (!state || state.status === "testing") return null;
  if (state.status === "failed") return <ErrorNotice error={state.error} testId="channel-test-error" />;
  return (
    <div className="notice notice-ok small" role="status" data-testid="channel-test-result">
      <p>Test sent. Check that it arrived.</p>
      {/* The event's id is for matching it in the delivery log, not a sentence (issue 44). */}
      <Details testId="channel-test-event">
        <p>
          Event <span className="mono">{state.eventId}</span>
        </p>
      </Details>
    </div>
  );
}
