// The outbox as a log, newest first: each event per channel, queued, sent or failed with the
// reason, attempts and times (local). A project filter and a refresh.
import type { DeliveryView } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { formatTime } from "../components/format";
import type { LoadState } from "../protection/types";
import { kindWords, STATE_LABEL } from "./model";

type Props = {
  log: LoadState<DeliveryView[]>;
  projects: string[];
  project: string | null;
  onProject: (project: string | null) => void;
  onRefresh: () => void;
};

export function DeliveryLog({ log, projects, project, onProject, onRefresh }: Props) {
  return (
    <section className="panel" aria-label="Delivery log" data-testid="notify-log">
      <div className="toolbar">
        <h3 className="panel-title">Delivery log</h3>
        <span className="spacer" />
        <select
          aria-label="Project"
          value={project ?? ""}
          onChange={(e) => onProject(e.target.value || null)}
          data-testid="notify-log-project"
        >
          <option value="">All projects</option>
          {projects.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
        <button type="button" className="btn btn-small" onClick={onRefresh} data-testid="notify-log-refresh">
          Refresh
        </button>
      </div>
      {log.status === "loading" && <p className="muted small">Loading…</p>}
      {log.status === "error" && <ErrorNotice error={log.error} testId="notify-log-error" onRetry={onRefresh} />}
      {log.status === "ready" && log.data.length === 0 && (
        <p className="muted small" data-testid="notify-log-empty">
          Nothing sent yet. Messages about backups, drills and overdue projects appear here as they wait and are sent.
        </p>
      )}
      {log.status === "ready" && log.data.length > 0 && (
        <div className="table-scroll">
          <table className="history-table notify-log-table">
            <thead>
              <tr>
                <th>Queued</th>
                <th>State</th>
                <th>Event</th>
                <th>Project</th>
                <th>Channel</th>
                <th className="num">Attempts</th>
                <th>Last error</th>
                <th>Sent</th>
              </tr>
            </thead>
            <tbody>
              {log.data.map((d) => (
                <tr key={d.id} data-testid="notify-log-row" data-state={d.state} data-kind={d.kind} data-channel={d.channel}>
                  <td className="nowrap">{formatTime(d.created_at)}</td>
                  <td className={`delivery-${d.state}`} data-testid="notify-log-state">
                    {STATE_LABEL[d.state] ?? d.state}
                    {d.state === "queued" && d.attempts > 0 && (
                      <span className="muted small">
                        {" "}
                        · next{" "}
                        <span className="nowrap" data-testid="notify-log-next">
                          {formatTime(d.next_attempt_at)}
                        </span>
                      </span>
                    )}
                  </td>
                  <td title={d.summary}>
                    {kindWords(d.kind)}
                    {d.summary && <div className="muted small">{d.summary}</div>}
                  </td>
                  <td>{d.project ?? "—"}</td>
                  <td>{d.channel}</td>
                  <td className="num">{d.attempts}</td>
                  <td className={d.last_error ? "problem" : undefined} data-testid="notify-log-error-text">
                    {d.last_error ?? ""}
                  </td>
                  <td className="nowrap">{formatTime(d.sent_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
