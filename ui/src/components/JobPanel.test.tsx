import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import type { JobFinished, JobProgress } from "../bindings";
import { backupSizes, dataBytes, drillText, eta, FinishedView, fraction, JobPanel, pullSummary } from "./JobPanel";
import { reportFixture } from "../drill/fixtures";
import { StoreProvider, useJobActions } from "../store";

function StartButton() {
  const { startBackup } = useJobActions();
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        data-testid="start"
        onClick={async () => {
          const r = await startBackup("shop");
          if (!r.ok) setError(r.error.code);
        }}
      >
        start
      </button>
      {error && <p data-testid="start-error">{error}</p>}
    </>
  );
}

function PullButton() {
  const { startPull } = useJobActions();
  return (
    <button type="button" data-testid="pull" onClick={() => startPull("shop")}>
      pull
    </button>
  );
}

function setup() {
  const calls: { cmd: string; args: unknown }[] = [];
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === "start_backup") return "job-1";
      if (cmd === "start_pull") return "job-p";
      if (cmd === "cancel_job") return true;
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
  render(
    <StoreProvider>
      <StartButton />
      <PullButton />
      <JobPanel project="shop" />
    </StoreProvider>,
  );
  return calls;
}

const progress = (p: Partial<JobProgress>): JobProgress => ({
  job_id: "job-1",
  phase: "dumping",
  bytes_done: 0,
  bytes_total: null,
  bytes_per_sec: null,
  finished: false,
  ...p,
});

describe("JobPanel", () => {
  it("shows a pull as a pull", async () => {
    const calls = setup();
    fireEvent.click(screen.getByTestId("pull"));
    expect(await screen.findByTestId("job-running")).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === "start_pull")?.args).toEqual({ project: "shop" });
    expect(screen.getByTestId("job-running")).toHaveTextContent("Pull");
  });

  it("says a drill's verdict: proven with its RTO, or the first failed check", () => {
    expect(drillText(reportFixture())).toBe("Drill passed: proven restorable · restored in 4 min");
    const failed = reportFixture({
      verdict: "failed",
      checks: reportFixture().checks.map((c) => (c.id === "table:public.orders" ? { ...c, status: "failed" as const } : c)),
    });
    expect(drillText(failed)).toBe("Drill failed: Table public.orders: rows and content");
  });

  it("names an undone recovery by its date, not its undo id (issue 44)", () => {
    const f = {
      job_id: "j",
      kind: "recover",
      ok: true,
      error: null,
      result: { kind: "recover_undo", report: { id: "rcv_20261125_230000_abcdef", target: "shop", tables: [], sequences_reset: 0 } },
    } as unknown as JobFinished;
    render(<FinishedView job={{ id: "j", kind: "recover", project: "shop", subject: null, startedAt: 0, progress: null, phases: [], finished: f, cancelling: false, placed: false }} onDismiss={() => {}} />);
    expect(screen.getByTestId("job-result")).toHaveTextContent(/^The recovery of 2026-11-2[56] \d\d:00 undone$/);
    expect(screen.getByTestId("job-result")).not.toHaveTextContent("rcv_");
  });

  it("computes fraction and ETA only when they are known", () => {
    expect(fraction(progress({ bytes_done: 50 }))).toBeNull();
    expect(fraction(progress({ bytes_done: 25, bytes_total: 100 }))).toBe(0.25);
    expect(eta(progress({ bytes_done: 25, bytes_total: 100, bytes_per_sec: 25 }))).toBe(3);
    expect(eta(progress({ bytes_done: 25, bytes_total: 100, bytes_per_sec: 0 }))).toBeNull();
  });

  it("says what a pull brought from the server and from the artifact bucket, each only when the project has it", () => {
    const pull = { kind: "pull" as const, downloaded: [], already_local: 2, in_progress: 1 };
    expect(pullSummary({ ...pull, server: true, artifacts: null })).toBe(
      "0 new backups downloaded and verified, 2 already here, 1 still being made on the server.",
    );
    expect(pullSummary({ ...pull, server: true, artifacts: { imported: [], already_imported: 3 } })).toBe(
      "0 new backups downloaded and verified, 2 already here, 1 still being made on the server; 0 artifacts imported and verified, 3 imported before.",
    );
    expect(pullSummary({ ...pull, server: false, artifacts: { imported: [], already_imported: 3 } })).toBe(
      "0 artifacts imported and verified, 3 imported before.",
    );
  });

  /** The running job's named steps as [id, state]. */
  const steps = () => [...screen.getByTestId("job-steps").querySelectorAll("li")].map((li) => [li.dataset.step, li.dataset.state]);

  it("renders progress from job-progress events and offers Cancel", async () => {
    const calls = setup();
    expect(screen.getByTestId("job-panel-empty")).toBeInTheDocument();
    fireEvent.click(screen.getByTestId("start"));
    expect(await screen.findByTestId("job-running")).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === "start_backup")?.args).toEqual({ project: "shop", backupType: null, note: null });

    await act(() =>
      emit(
        "job-progress",
        progress({ phase: "verifying", bytes_done: 512 * 1024 * 1024, bytes_total: 1024 * 1024 * 1024, bytes_per_sec: 64 * 1024 * 1024 }),
      ),
    );
    expect(screen.getByTestId("job-phase")).toHaveTextContent("Verifying checksums");
    expect(screen.getByTestId("job-progress")).toHaveAttribute("aria-valuenow", "50");
    expect(screen.getByTestId("job-bytes")).toHaveTextContent("512.0 MB of 1.0 GB (50%)");
    // What the bytes are: the archive checked, on the named step (issue 64 item 6).
    expect(screen.getByTestId("job-bytes").previousElementSibling).toHaveTextContent(/^Checked$/);
    expect(steps()).toEqual([
      ["dump", "done"],
      ["compress", "done"],
      ["verify", "current"],
    ]);
    expect(screen.getByTestId("job-throughput")).toHaveTextContent("64.0 MB/s");
    expect(screen.getByTestId("job-eta")).toHaveTextContent("8 s");

    // Unknown total: an indeterminate bar, no percent and no ETA, but how long it has run.
    await act(() => emit("job-progress", progress({ phase: "dumping", bytes_done: 2048, bytes_per_sec: 1024 })));
    expect(screen.getByTestId("job-progress")).not.toHaveAttribute("aria-valuenow");
    expect(screen.getByTestId("job-bytes")).toHaveTextContent(/^2\.0 KB$/);
    expect(screen.queryByTestId("job-eta")).not.toBeInTheDocument();
    expect(screen.getByTestId("job-elapsed")).toHaveTextContent(/^(under 1 s|\d+ s)$/);
    // The read-back after the archive was written does not undo the steps done.
    expect(steps().map(([, state]) => state)).toEqual(["done", "done", "current"]);
    // Nothing done yet and no size: no "0 B (0%)", no "—" in place of a size or a speed
    // (projects-04 said "Done none yet · Speed — · Time left —"): how long it has run.
    await act(() => emit("job-progress", progress({ phase: "dumping", bytes_done: 0, bytes_total: 0, bytes_per_sec: 0 })));
    expect(screen.queryByTestId("job-bytes")).not.toBeInTheDocument();
    expect(screen.queryByTestId("job-throughput")).not.toBeInTheDocument();
    expect(screen.getByTestId("job-running").querySelector(".job-stats")).not.toHaveTextContent("—");
    expect(screen.getByTestId("job-elapsed")).toBeInTheDocument();

    // A backup server's progress counts percent, not bytes: no "45 B of 100 B", no B/s.
    await act(() =>
      emit("job-progress", progress({ phase: "on_server", bytes_done: 45, bytes_total: 100, bytes_per_sec: 3 })),
    );
    expect(screen.getByTestId("job-phase")).toHaveTextContent("Backing up on the server");
    expect(screen.getByTestId("job-bytes")).toHaveTextContent(/^45%$/);
    expect(screen.getByTestId("job-progress")).toHaveAttribute("aria-valuenow", "45");
    expect(screen.queryByTestId("job-throughput")).not.toBeInTheDocument();
    // A backup made on the server has its own steps.
    expect(steps().map(([id]) => id)).toEqual(["server", "download", "verify"]);

    fireEvent.click(screen.getByTestId("job-cancel"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "cancel_job")).toBe(true));
    expect(calls.find((c) => c.cmd === "cancel_job")?.args).toEqual({ jobId: "job-1" });
    expect(screen.getByTestId("job-cancel")).toHaveTextContent("Cancelling…");
  });

  it("explains a backup's sizes: the data it holds and the archive file it became (issue 64 item 6)", async () => {
    setup();
    fireEvent.click(screen.getByTestId("start"));
    await screen.findByTestId("job-running");
    const MiB = 1024 * 1024;
    const manifest = JSON.stringify({ counts: { database: { items: 3, bytes: 90 * MiB }, storage: { items: 10, bytes: 3 * MiB } } });
    const done = {
      job_id: "job-1",
      kind: "backup",
      ok: true,
      error: null,
      result: { kind: "backup", backup: { path: "/b/shop/shop_20261128_094142_database.tar.zst", size: 12 * MiB, manifest_json: manifest } },
    } as unknown as JobFinished;
    await act(() => emit("job-finished", done));
    expect(await screen.findByTestId("job-result")).toHaveTextContent(/^Backup written: 93\.0 MB of data → 12\.0 MB backup$/);
  });

  it("reads a backup's data size only from a manifest that reads as one", () => {
    expect(dataBytes(null)).toBeNull();
    expect(dataBytes("not json")).toBeNull();
    expect(dataBytes(JSON.stringify({ counts: { database: { bytes: "9" } } }))).toBeNull();
    expect(dataBytes(JSON.stringify({ counts: { database: { bytes: -1 } } }))).toBeNull();
    expect(dataBytes(JSON.stringify({ counts: {} }))).toBeNull();
    expect(dataBytes(JSON.stringify({ counts: { database: { items: 1, bytes: 2048 } } }))).toBe(2048);
    expect(backupSizes(1024, null)).toBe("1.0 KB (compressed)");
  });

  it("shows a finished job's error message and hint, by code", async () => {
    setup();
    fireEvent.click(screen.getByTestId("start"));
    await screen.findByTestId("job-running");
    const done: JobFinished = {
      job_id: "job-1",
      kind: "backup",
      ok: false,
      error: { code: "disk_full", message: "no space left on /backups", hint: "free some space", retryable: true },
      result: null,
    };
    await act(() => emit("job-finished", done));
    const finished = await screen.findByTestId("job-finished");
    expect(finished).toHaveAttribute("data-ok", "false");
    expect(screen.queryByTestId("job-running")).not.toBeInTheDocument();
    const error = screen.getByTestId("job-error");
    expect(error).toHaveAttribute("data-code", "disk_full");
    expect(screen.getByTestId("job-error-title")).toHaveTextContent("The disk is full");
    expect(screen.getByTestId("job-error-message")).toHaveTextContent("no space left on /backups");
    expect(screen.getByTestId("job-error-hint")).toHaveTextContent("free some space");

    fireEvent.click(screen.getByTestId("job-dismiss"));
    expect(screen.queryByTestId("job-finished")).not.toBeInTheDocument();
  });

  it("a backup waiting for the recovery key is paused, amber — not a red failure (issue 44, protection-02)", async () => {
    setup();
    fireEvent.click(screen.getByTestId("start"));
    await screen.findByTestId("job-running");
    const done: JobFinished = {
      job_id: "job-1",
      kind: "backup",
      ok: false,
      error: {
        code: "needs_consent",
        message: "backups of shop are paused until you confirm the recovery key",
        hint: "enter the recovery key back first (offsite encryption confirm shop)",
        retryable: false,
      },
      result: null,
    };
    await act(() => emit("job-finished", done));
    const finished = await screen.findByTestId("job-finished");
    expect(finished).toHaveClass("job-paused");
    expect(finished).not.toHaveClass("job-failed");
    expect(screen.getByTestId("job-result")).toHaveTextContent(/^Paused$/);
    expect(finished.textContent).not.toMatch(/failed|went wrong/i);
    const error = screen.getByTestId("job-error");
    expect(error).toHaveClass("notice-warn");
    expect(screen.getByTestId("job-error-title")).toHaveTextContent("Backups paused: confirm your recovery key");
    // The app's next step, not the terminal command of the engine's hint.
    expect(screen.getByTestId("job-error-hint")).not.toHaveTextContent("offsite encryption confirm");
  });

  it("says a damaged archive once, with the next step; the raw problems only in the details", async () => {
    setup();
    fireEvent.click(screen.getByTestId("start"));
    await screen.findByTestId("job-running");
    const sha = "database.dump: sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 != 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
    // As the app sends it: a failed job (code integrity, as History and the notification say)
    // that still carries the report saying what is damaged.
    const done = {
      job_id: "job-1",
      kind: "verify",
      ok: false,
      error: {
        code: "integrity",
        message: "the archive shop_20261123_database.tar.gz is damaged: first damaged file database.dump (sha256 9f86d081884c)",
        hint: "do not restore from it: verify another backup, fetch a copy from a destination (`offsite copies PROJECT` lists them), or take a new backup",
        retryable: false,
      },
      result: {
        kind: "verify",
        report: {
          archive: "/tmp/offsite-x/shop/shop_20261123_database.tar.gz",
          ok: false,
          file_sha256: "00",
          sidecar: "matches",
          members: [],
          first_bad: "database.dump",
          bytes_verified: 1024,
          problems: [sha],
          manifest: null,
        },
      },
    } as unknown as JobFinished;
    await act(() => emit("job-finished", done));
    expect(await screen.findByTestId("job-result")).toHaveTextContent(/^Archive damaged$/);
    expect(screen.getByTestId("job-finished")).toHaveAttribute("data-ok", "false");
    // One notice, no terminal command from the engine's hint.
    expect(screen.getAllByRole("alert")).toHaveLength(1);
    expect(screen.queryByTestId("job-error")).toBeNull();
    expect(screen.getByTestId("job-finished")).not.toHaveTextContent("offsite copies");
    expect(screen.getByTestId("job-damaged-next")).toHaveTextContent(
      "Its contents do not match its checksum: verify another backup or fetch a copy.",
    );
    const details = screen.getByTestId("job-damaged-details");
    expect(details.tagName).toBe("DETAILS");
    expect(details).not.toHaveAttribute("open");
    expect(details).toHaveTextContent("first damaged file: database.dump");
    // The SHA-256 pair once, inside the details.
    expect(screen.getByTestId("job-finished").textContent?.split("9f86d081884c").length).toBe(2);
    expect(details).toHaveTextContent("9f86d081884c");
    // The file by its name, the temporary path only on hover.
    expect(screen.getByTestId("job-result-path")).toHaveTextContent(/^shop_20261123_database\.tar\.gz$/);
    expect(screen.getByTestId("job-result-path")).toHaveAttribute("title", "/tmp/offsite-x/shop/shop_20261123_database.tar.gz");
  });

  it("a job that failed on a damaged archive says it once, the engine's message in the details", async () => {
    setup();
    fireEvent.click(screen.getByTestId("start"));
    await screen.findByTestId("job-running");
    const message = "the archive is damaged: bad member database.dump (sha256 9f86d081884c != 60303ae22b99)";
    await act(() =>
      emit("job-finished", {
        job_id: "job-1",
        kind: "import",
        ok: false,
        error: { code: "integrity", message, hint: "nothing was imported; use another copy of this backup", retryable: false },
        result: null,
      } satisfies JobFinished),
    );
    const error = await screen.findByTestId("job-error");
    expect(error).toHaveAttribute("data-code", "integrity");
    expect(screen.getByTestId("job-error-next")).toHaveTextContent("Its contents do not match its checksum");
    expect(screen.getByTestId("job-error-hint")).toHaveTextContent("nothing was imported");
    expect(screen.getByTestId("job-error-details")).not.toHaveAttribute("open");
    expect(screen.getByTestId("job-error-details")).toHaveTextContent(message);
  });

  it("keeps events that arrive before start_backup returns", async () => {
    mockIPC(
      async (cmd) => {
        if (cmd === "start_backup") {
          await emit("job-progress", progress({ phase: "connecting" }));
          return "job-1";
        }
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    render(
      <StoreProvider>
        <StartButton />
        <JobPanel project="shop" />
      </StoreProvider>,
    );
    fireEvent.click(screen.getByTestId("start"));
    expect(await screen.findByTestId("job-phase")).toHaveTextContent("Connecting");
  });
});
