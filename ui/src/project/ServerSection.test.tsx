import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { BackupRecord, Components, JobFinished, JobProgress } from "../bindings";
import { useState } from "react";
import { StoreProvider } from "../store";
import { LiveJobs } from "./tabs/LiveJobs";
import { remoteJobText } from "./RemoteJob";
import { fingerprintDisplay, ServerSection } from "./ServerSection";
import { fingerprintsMatch, normaliseFingerprint } from "./ServerTrust";

type Call = { cmd: string; args: Record<string, unknown> };
type Extra = Record<string, (args: Record<string, unknown>) => unknown>;

const SHOWN = `SHA256:${Array(32).fill("AB").join(":")}`;
const STORED = `SHA256:${"ab".repeat(32)}`;
const TOKEN = "ofs_tok_secret_value_123456";

const none: Components = { storage: null, supabase: null, default_type: null, server: null };
const withServer: Components = {
  ...none,
  server: { url: "https://10.0.0.5:8443/", project: "shop", fingerprint: STORED },
};

/** The project page in small: the job list above the tabs, and the Sources tab that can be left. */
function PageInSmall() {
  const [sources, setSources] = useState(true);
  return (
    <>
      <LiveJobs project="shop" />
      <button type="button" data-testid="other-tab" onClick={() => setSources(!sources)}>
        other tab
      </button>
      {sources && <ServerSection project="shop" />}
    </>
  );
}

function setup(initial: Components, extra: Extra = {}, page = false) {
  const calls: Call[] = [];
  let current = initial;
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      const handler = extra[cmd];
      if (handler) return handler(a);
      switch (cmd) {
        case "get_components":
          return current;
        case "server_fingerprint":
          return SHOWN;
        case "set_server": {
          const s = a.settings as { url: string; project: string } | null;
          current = { ...current, server: s ? { url: `${s.url}/`, project: s.project, fingerprint: STORED } : null };
          return current;
        }
        case "start_remote_backup":
          return "job-r";
        case "start_pull":
          return "job-p";
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
  render(
    <StoreProvider>{page ? <PageInSmall /> : <ServerSection project="shop" />}</StoreProvider>,
  );
  return calls;
}

const record: BackupRecord = {
  id: "b1",
  project_id: "p1",
  path: "/backups/shop/shop_full_20261123.tar.gz",
  size: 2048,
  sha256: "ff".repeat(32),
  backup_type: "database",
  created_at: "2026-11-23T02:00:00Z",
  verified_at: "2026-11-23T02:00:05Z",
  status: "verified",
  verify_problem: null,
  manifest_json: null,
  job_id: "job-r",
  origin: "server",
};

const progress = (p: Partial<JobProgress>): JobProgress => ({
  job_id: "job-r",
  phase: "dumping",
  bytes_done: 0,
  bytes_total: null,
  bytes_per_sec: 0,
  finished: false,
  ...p,
});

describe("ServerSection", () => {
  it("shows a fingerprint as offsite serve prints it", () => {
    expect(fingerprintDisplay(STORED)).toBe(SHOWN);
    expect(fingerprintDisplay(SHOWN)).toBe(SHOWN);
    expect(fingerprintDisplay("garbage")).toBe("garbage");
  });

  it("compares fingerprints whatever their case, colons, spaces and prefix", () => {
    expect(normaliseFingerprint(SHOWN)).toBe("ab".repeat(32));
    expect(fingerprintsMatch(SHOWN, STORED)).toBe(true);
    expect(fingerprintsMatch(` sha256: ${"AB ".repeat(32)}`, STORED)).toBe(true);
    expect(fingerprintsMatch("ab".repeat(32), SHOWN)).toBe(true);
    expect(fingerprintsMatch(`${"ab".repeat(31)}ac`, SHOWN)).toBe(false);
    expect(fingerprintsMatch("", SHOWN)).toBe(false);
    expect(fingerprintsMatch("SHA256:", SHOWN)).toBe(false);
  });

  it("adds a server: save only after the certificate was checked, with the fingerprint shown; the token never comes back", async () => {
    const calls = setup(none);
    expect(await screen.findByTestId("server-none")).toBeInTheDocument();
    fireEvent.click(screen.getByTestId("server-edit"));
    // The Add button is not left above its own open form: the form has its title instead (issue 44).
    expect(screen.queryByTestId("server-edit")).not.toBeInTheDocument();
    expect(screen.getByTestId("server-form-title")).toHaveTextContent("Add a backup server");
    fireEvent.change(screen.getByTestId("server-field-url"), { target: { value: " https://10.0.0.5:8443 " } });
    fireEvent.change(screen.getByTestId("server-field-project"), { target: { value: "shop" } });
    fireEvent.change(screen.getByTestId("server-field-token"), { target: { value: TOKEN } });
    expect(screen.getByTestId("server-field-token")).toHaveAttribute("type", "password");
    expect(screen.getByTestId("server-save")).toBeDisabled();

    fireEvent.click(screen.getByTestId("server-check-button"));
    expect(await screen.findByTestId("server-check-fingerprint")).toHaveTextContent(SHOWN);
    expect(calls.find((c) => c.cmd === "server_fingerprint")?.args).toEqual({ url: "https://10.0.0.5:8443" });
    // Checked, but not yet compared: trust waits for the printed fingerprint.
    expect(screen.getByTestId("server-save")).toBeDisabled();
    expect(screen.getByTestId("server-save")).toHaveTextContent("Trust and save");
    // Pasted as the terminal gave it, lower-case and with a stray space: the same fingerprint.
    fireEvent.change(screen.getByTestId("server-field-printed"), { target: { value: ` ${SHOWN.toLowerCase()} ` } });
    expect(screen.getByTestId("server-check-match")).toBeInTheDocument();
    expect(screen.getByTestId("server-check")).toHaveAttribute("data-match", "match");
    expect(screen.getByTestId("server-save")).toBeEnabled();
    fireEvent.click(screen.getByTestId("server-save"));

    expect(await screen.findByTestId("server-url")).toHaveTextContent("https://10.0.0.5:8443/");
    expect(calls.find((c) => c.cmd === "set_server")?.args).toEqual({
      project: "shop",
      settings: { url: "https://10.0.0.5:8443", project: "shop", token: TOKEN, fingerprint: SHOWN },
    });
    expect(screen.getByTestId("server-project")).toHaveTextContent("shop");
    expect(screen.getByTestId("server-token")).toHaveTextContent("stored in the keychain");
    expect(screen.getByTestId("server-fingerprint")).toHaveTextContent(SHOWN);
    expect(screen.getByTestId("server-scheduled")).toHaveTextContent("run on this server");
    expect(screen.getByTestId("server-section").textContent).not.toContain(TOKEN);
    expect(screen.queryByTestId("server-form")).not.toBeInTheDocument();
  });

  it("a pasted fingerprint that differs says so in red and keeps Trust disabled", async () => {
    const calls = setup(none);
    fireEvent.click(await screen.findByTestId("server-edit"));
    fireEvent.change(screen.getByTestId("server-field-url"), { target: { value: "https://a:8443" } });
    fireEvent.change(screen.getByTestId("server-field-project"), { target: { value: "shop" } });
    fireEvent.change(screen.getByTestId("server-field-token"), { target: { value: TOKEN } });
    fireEvent.click(screen.getByTestId("server-check-button"));
    await screen.findByTestId("server-check-fingerprint");
    const other = `SHA256:${Array(31).fill("AB").join(":")}:AC`;
    fireEvent.change(screen.getByTestId("server-field-printed"), { target: { value: other } });
    const mismatch = screen.getByTestId("server-check-mismatch");
    expect(mismatch).toHaveTextContent("They do not match");
    expect(mismatch).toHaveTextContent(/intercepting the connection/);
    expect(mismatch).toHaveClass("error");
    expect(screen.getByTestId("server-field-printed")).toHaveAttribute("aria-invalid", "true");
    // No way around a mismatch: the by-eye box is gone, saving is disabled.
    expect(screen.queryByTestId("server-check-by-eye")).not.toBeInTheDocument();
    expect(screen.getByTestId("server-save")).toBeDisabled();
    fireEvent.submit(screen.getByTestId("server-form"));
    expect(calls.some((c) => c.cmd === "set_server")).toBe(false);
  });

  it("trusts after a manual comparison when the user ticks that they compared by eye", async () => {
    const calls = setup(none);
    fireEvent.click(await screen.findByTestId("server-edit"));
    fireEvent.change(screen.getByTestId("server-field-url"), { target: { value: "https://a:8443" } });
    fireEvent.change(screen.getByTestId("server-field-project"), { target: { value: "shop" } });
    fireEvent.change(screen.getByTestId("server-field-token"), { target: { value: TOKEN } });
    fireEvent.click(screen.getByTestId("server-check-button"));
    await screen.findByTestId("server-check-fingerprint");
    expect(screen.getByTestId("server-save")).toBeDisabled();
    fireEvent.click(screen.getByTestId("server-check-by-eye"));
    expect(screen.getByTestId("server-save")).toBeEnabled();
    fireEvent.click(screen.getByTestId("server-save"));
    await screen.findByTestId("server-url");
    expect(calls.find((c) => c.cmd === "set_server")?.args).toMatchObject({ settings: { fingerprint: SHOWN } });
  });

  it("an edit of a server whose certificate is unchanged needs no new comparison", async () => {
    setup(withServer);
    fireEvent.click(await screen.findByTestId("server-edit"));
    fireEvent.click(screen.getByTestId("server-check-button"));
    await screen.findByTestId("server-check-fingerprint");
    expect(screen.getByTestId("server-save")).toBeEnabled();
  });

  it("another URL than the one checked must be checked again", async () => {
    setup(none);
    fireEvent.click(await screen.findByTestId("server-edit"));
    fireEvent.change(screen.getByTestId("server-field-url"), { target: { value: "https://a:8443" } });
    fireEvent.change(screen.getByTestId("server-field-project"), { target: { value: "shop" } });
    fireEvent.change(screen.getByTestId("server-field-token"), { target: { value: TOKEN } });
    fireEvent.click(screen.getByTestId("server-check-button"));
    await screen.findByTestId("server-check-fingerprint");
    fireEvent.change(screen.getByTestId("server-field-url"), { target: { value: "https://b:8443" } });
    expect(screen.queryByTestId("server-check-fingerprint")).not.toBeInTheDocument();
    expect(screen.getByTestId("server-save")).toBeDisabled();
  });

  it("shows why saving was refused (a wrong token), and saves nothing", async () => {
    setup(none, {
      set_server: () => {
        throw { code: "auth", message: "the server refused the token", hint: null, retryable: false };
      },
    });
    fireEvent.click(await screen.findByTestId("server-edit"));
    fireEvent.change(screen.getByTestId("server-field-url"), { target: { value: "https://a:8443" } });
    fireEvent.change(screen.getByTestId("server-field-project"), { target: { value: "shop" } });
    fireEvent.change(screen.getByTestId("server-field-token"), { target: { value: "wrong" } });
    fireEvent.click(screen.getByTestId("server-check-button"));
    await screen.findByTestId("server-check-fingerprint");
    fireEvent.change(screen.getByTestId("server-field-printed"), { target: { value: STORED } });
    fireEvent.click(screen.getByTestId("server-save"));
    expect(await screen.findByTestId("server-form-error")).toHaveTextContent("the server refused the token");
    expect(screen.getByTestId("server-none")).toBeInTheDocument();
    expect(screen.getByTestId("server-field-token")).toHaveValue("");
  });

  it("backs up on the server: progress, then the downloaded backup, verified", async () => {
    const calls = setup(withServer);
    fireEvent.click(await screen.findByTestId("server-backup"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "start_remote_backup")).toBe(true));
    // No default type: a database backup, as "Back up now" makes.
    expect(calls.find((c) => c.cmd === "start_remote_backup")?.args).toEqual({ project: "shop", backupType: "database" });
    expect(await screen.findByTestId("server-job-phase")).toHaveTextContent("Starting…");
    expect(screen.getByTestId("server-backup")).toBeDisabled();

    await act(() => emit("job-progress", progress({ phase: "on_server", bytes_done: 40, bytes_total: 100 })));
    expect(screen.getByTestId("server-job-phase")).toHaveTextContent("Backing up on the server 40%");
    expect(screen.getByTestId("server-job-progress")).toHaveAttribute("aria-valuenow", "40");
    await act(() =>
      emit("job-progress", progress({ phase: "downloading", bytes_done: 1024, bytes_total: 2048, bytes_per_sec: 1024 })),
    );
    expect(screen.getByTestId("server-job-phase")).toHaveTextContent("1.0 KB of 2.0 KB");
    expect(screen.getByTestId("server-job-progress")).toHaveAttribute("aria-valuenow", "50");

    const done: JobFinished = { job_id: "job-r", kind: "backup", ok: true, error: null, result: { kind: "backup", backup: record } };
    await act(() => emit("job-finished", done));
    const result = await screen.findByTestId("server-job-result");
    expect(result).toHaveAttribute("data-ok", "true");
    expect(result).toHaveTextContent("Backup downloaded and verified: 2.0 KB (compressed).");
    expect(screen.getByTestId("server-job-path")).toHaveTextContent(record.path);
    // Named for a person; the path only in the closed details.
    expect(screen.getByTestId("server-job-name")).toHaveTextContent(/^Database backup of 2026-11-2\d \d\d:00$/);
    expect(screen.getByTestId("server-job-details")).not.toHaveAttribute("open");
    expect(result).not.toHaveTextContent(record.path);
    expect(screen.getByTestId("server-backup")).toBeEnabled();
  });

  it("a server backup is shown once: in the server's card while it is on screen, above the tabs when it is not (remote-03/04)", async () => {
    setup(withServer, {}, true);
    fireEvent.click(await screen.findByTestId("server-backup"));
    await act(() => emit("job-progress", progress({ phase: "on_server", bytes_done: 40, bytes_total: 100 })));
    expect(await screen.findByTestId("server-job-phase")).toHaveTextContent("Backing up on the server 40%");
    expect(screen.queryByTestId("job-running")).toBeNull();
    expect(screen.queryByTestId("job-panel")).toBeNull();
    // Another tab: the server's card is gone, so the list above the tabs shows the job.
    fireEvent.click(screen.getByTestId("other-tab"));
    expect(await screen.findByTestId("job-running")).toBeInTheDocument();
    expect(screen.queryByTestId("server-job")).toBeNull();
    // Its result, too, is shown once.
    const done: JobFinished = { job_id: "job-r", kind: "backup", ok: true, error: null, result: { kind: "backup", backup: record } };
    await act(() => emit("job-finished", done));
    expect(await screen.findAllByTestId("job-finished")).toHaveLength(1);
  });

  it("a server backup shows what is done, the time left from its pace, and Cancel, like a local job", async () => {
    let clock = 1_000_000;
    const spy = vi.spyOn(Date, "now").mockImplementation(() => clock);
    try {
      const calls = setup(withServer, { cancel_job: () => true });
      fireEvent.click(await screen.findByTestId("server-backup"));
      await screen.findByTestId("server-job-phase");
      // The server's steps from the start, before its first report.
      expect(screen.getByTestId("job-steps")).toHaveTextContent(/^●On the server○Download○Verify$/);
      // No time left before it can be known: how long it has run instead, and no "—".
      expect(screen.queryByTestId("server-job-eta")).toBeNull();
      expect(screen.getByTestId("server-job-elapsed")).toBeInTheDocument();
      expect(screen.queryByTestId("server-job-throughput")).toBeNull();
      await act(() => emit("job-progress", progress({ phase: "on_server", bytes_done: 10, bytes_total: 100 })));
      // One report: no pace yet.
      expect(screen.queryByTestId("server-job-eta")).toBeNull();
      expect(screen.getByTestId("server-job").querySelector(".job-stats")).not.toHaveTextContent("—");
      clock += 30_000;
      await act(() => emit("job-progress", progress({ phase: "on_server", bytes_done: 40, bytes_total: 100 })));
      // 30 points in 30 s: 60 points left take a minute.
      expect(screen.getByTestId("server-job-eta")).toHaveTextContent("1 min");
      expect(screen.getByTestId("server-job-cancel-note")).toHaveTextContent("Cancel stops the backup on the server too");
      // The job panel's named steps, here too (issue 64 item 6).
      expect(screen.getByTestId("job-steps")).toHaveTextContent("On the server");
      // The download has the engine's throughput: bytes, speed and time left from it.
      await act(() =>
        emit("job-progress", progress({ phase: "downloading", bytes_done: 1024, bytes_total: 3072, bytes_per_sec: 1024 })),
      );
      expect(screen.getByTestId("server-job-bytes")).toHaveTextContent("1.0 KB of 3.0 KB");
      expect(screen.getByTestId("server-job-throughput")).toHaveTextContent("1.0 KB/s");
      expect(screen.getByTestId("server-job-eta")).toHaveTextContent("2 s");

      fireEvent.click(screen.getByTestId("server-job-cancel"));
      await waitFor(() => expect(calls.find((c) => c.cmd === "cancel_job")?.args).toEqual({ jobId: "job-r" }));
    } finally {
      spy.mockRestore();
    }
  });

  it("a server that reports its bytes: bytes, speed and time left from its numbers; Cancel cancels it there", async () => {
    const calls = setup(withServer, { cancel_job: () => true });
    fireEvent.click(await screen.findByTestId("server-backup"));
    await screen.findByTestId("server-job-phase");
    await act(() =>
      emit(
        "job-progress",
        progress({ phase: "server_step", bytes_done: 256 * 1024 * 1024, bytes_total: 1024 * 1024 * 1024, bytes_per_sec: 64 * 1024 * 1024 }),
      ),
    );
    expect(screen.getByTestId("server-job-phase")).toHaveTextContent("Backing up on the server");
    expect(screen.getByTestId("server-job-bytes")).toHaveTextContent("256.0 MB of 1.0 GB (25%)");
    expect(screen.getByTestId("server-job-progress")).toHaveAttribute("aria-valuenow", "25");
    expect(screen.getByTestId("server-job-throughput")).toHaveTextContent("64.0 MB/s");
    // 768 MB left at 64 MB/s.
    expect(screen.getByTestId("server-job-eta")).toHaveTextContent("12 s");
    expect(screen.getByTestId("server-job-cancel-note")).toHaveTextContent("nothing is kept there or here");

    fireEvent.click(screen.getByTestId("server-job-cancel"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "cancel_job")?.args).toEqual({ jobId: "job-r" }));
    // The engine's last report ("done"), then the end: cancelled, the server confirmed it.
    await act(() => emit("job-progress", progress({ phase: "done", finished: true })));
    const cancelled: JobFinished = {
      job_id: "job-r",
      kind: "backup",
      ok: false,
      error: {
        code: "cancelled",
        message: "cancelled on the server https://10.0.0.5:8443/: the backup 0b8e was stopped; nothing was kept there or here",
        hint: "run it again when ready",
        retryable: false,
      },
      result: null,
    };
    await act(() => emit("job-finished", cancelled));
    const result = await screen.findByTestId("server-job-result");
    expect(result).toHaveTextContent(
      "Cancelled on the server https://10.0.0.5:8443/: the backup 0b8e was stopped; nothing was kept there or here.",
    );
    expect(result).toHaveAttribute("data-ok", "false");
    expect(screen.getByTestId("server-job-error-message")).toHaveTextContent("cancelled on the server");
  });

  it("a cancel says what the engine says: stopped on the server, or only the download (the backup stays there)", async () => {
    const calls = setup(withServer, { cancel_job: () => true });
    fireEvent.click(await screen.findByTestId("server-backup"));
    await screen.findByTestId("server-job-phase");
    // The server's last report said 100 %: it has made the backup, the download has not reported yet.
    await act(() => emit("job-progress", progress({ phase: "on_server", bytes_done: 100, bytes_total: 100 })));
    fireEvent.click(screen.getByTestId("server-job-cancel"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "cancel_job")?.args).toEqual({ jobId: "job-r" }));
    await act(() => emit("job-progress", progress({ phase: "done", finished: true })));
    const downloadCancelled: JobFinished = {
      job_id: "job-r",
      kind: "backup",
      ok: false,
      error: {
        code: "cancelled",
        message: "download cancelled: the backup 0b8e stays on the server https://10.0.0.5:8443/; nothing was kept here",
        hint: '"Pull new" (`offsite pull`) downloads it, or delete it there',
        retryable: false,
      },
      result: null,
    };
    await act(() => emit("job-finished", downloadCancelled));
    const result = await screen.findByTestId("server-job-result");
    expect(result).toHaveTextContent(
      "Download cancelled: the backup 0b8e stays on the server https://10.0.0.5:8443/; nothing was kept here.",
    );
    // Never the words of a cancel on the server, though the last phase seen was the server's.
    expect(result).not.toHaveTextContent("nothing was kept there or here");
    expect(result).not.toHaveTextContent("Cancelled on the server");
    expect(screen.getByTestId("server-job-error-hint")).toHaveTextContent("Pull new");
  });

  it("a cancel with the engine's plain words, or one the server did not confirm, does not claim the server stopped", async () => {
    const cancelled: JobFinished = {
      job_id: "x",
      kind: "backup",
      ok: false,
      error: { code: "cancelled", message: "cancelled", hint: null, retryable: false },
      result: null,
    };
    expect(remoteJobText(cancelled)).toBe("Cancelled.");
    // Not confirmed by the server: the engine ends it with a connection error, shown as a failure.
    const unconfirmed: JobFinished = {
      ...cancelled,
      error: {
        code: "connection",
        message: "cancelled here, but the server did not confirm cancelling the backup",
        hint: null,
        retryable: false,
      },
    };
    expect(remoteJobText(unconfirmed)).not.toContain("on the server");
    // A cancelled pull: its outcome, whatever the message.
    expect(remoteJobText({ ...cancelled, kind: "pull" })).toBe("Cancelled");
  });

  it("pulls: counts what came, what was here, what the server is still making; failures show their error", async () => {
    setup(withServer);
    fireEvent.click(await screen.findByTestId("server-pull"));
    await screen.findByTestId("server-job-phase");
    const pulled: JobFinished = {
      job_id: "job-p",
      kind: "pull",
      ok: true,
      error: null,
      result: { kind: "pull", server: true, downloaded: [record], already_local: 2, in_progress: 1, artifacts: null },
    };
    await act(() => emit("job-finished", pulled));
    expect(await screen.findByTestId("server-job-result")).toHaveTextContent(
      "1 new backup downloaded and verified, 2 already here, 1 still being made on the server.",
    );
    expect(
      remoteJobText({
        job_id: "x",
        kind: "backup",
        ok: false,
        error: { code: "connection", message: "the server's certificate changed", hint: null, retryable: false },
        result: null,
      }),
    ).not.toBe("");
  });

  it("removes the server (and its token) after a second question", async () => {
    const calls = setup(withServer);
    fireEvent.click(await screen.findByTestId("server-remove"));
    fireEvent.click(screen.getByTestId("server-remove-yes"));
    expect(await screen.findByTestId("server-none")).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === "set_server")?.args).toEqual({ project: "shop", settings: null });
  });
});
