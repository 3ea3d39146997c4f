import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { JobFinished } from "../../bindings";
import { FinishedView } from "../../components/JobPanel";
import { StoreProvider, useJobActions } from "../../store";
import { checklistWith, overview, protectedHealth } from "../../dashboard/fixtures";
import type { LiveJob } from "../../store";
import { answered, byCause, FINISHED_SHOWN, LiveJobs } from "./LiveJobs";

function Start() {
  const { startBackup } = useJobActions();
  return (
    <button type="button" data-testid="start" onClick={() => void startBackup("shop")}>
      start
    </button>
  );
}

const failed = (id: string, code = "connection"): JobFinished =>
  ({
    job_id: id,
    kind: "backup",
    ok: false,
    error: { code, message: "the server refused", hint: null, retryable: true },
    result: null,
  }) as unknown as JobFinished;

/** A verify's damage as the app sends it: the job failed, code integrity. */
const integrity = { code: "integrity", message: "the archive is damaged", hint: null, retryable: false };

/** The job results above the tabs, with a button that starts backups (job-1, job-2, …). */
function mount() {
  let n = 0;
  mockIPC(
    (cmd) => {
      if (cmd === "start_backup") return `job-${++n}`;
      if (cmd === "health") return overview([]);
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
  render(
    <StoreProvider>
      <Start />
      <LiveJobs project="shop" />
    </StoreProvider>,
  );
}

describe("the project's job results (issue 44)", () => {
  it("one result at a time: a newer result replaces the older one, and dismissing it dismisses them all", async () => {
    mount();
    for (let i = 1; i <= 5; i++) {
      fireEvent.click(screen.getByTestId("start"));
      await waitFor(() => expect(screen.getAllByTestId("job-running")).toHaveLength(1));
      // Five causes: five results (one cause would be one card, see below).
      await act(() => emit("job-finished", failed(`job-${i}`, ["connection", "auth", "not_found", "io", "timeout"][i - 1])));
      await waitFor(() => expect(screen.queryByTestId("job-running")).toBeNull());
      // The newest result only: it replaced the one before (issue 44: results piled up).
      expect(screen.getAllByTestId("job-finished")).toHaveLength(1);
      expect(screen.getByTestId("job-finished")).toHaveAttribute("data-job-id", `job-${i}`);
    }
    expect(FINISHED_SHOWN).toBe(1);
    expect(screen.queryByTestId("jobs-older")).toBeNull();
    // Dismissing it dismisses the older ones with it: none comes back.
    fireEvent.click(screen.getByTestId("job-dismiss"));
    await waitFor(() => expect(screen.queryByTestId("job-panel")).toBeNull());
  });

  it("a failure a later success of the same kind answered is no longer shown above the tabs", async () => {
    mount();
    const succeeded = (id: string) =>
      ({ job_id: id, kind: "backup", ok: true, error: null, result: { kind: "backup", backup: { size: 1024, path: "/b/shop.tar.zst" } } }) as unknown as JobFinished;
    for (const [i, end] of [failed("job-1"), succeeded("job-2")].entries()) {
      fireEvent.click(screen.getByTestId("start"));
      await waitFor(() => expect(screen.getAllByTestId("job-running")).toHaveLength(1));
      await act(() => emit("job-finished", end));
      await waitFor(() => expect(screen.queryByTestId("job-running")).toBeNull());
      expect(screen.getAllByTestId("job-finished")).toHaveLength(1);
      expect(screen.getByTestId("job-finished")).toHaveTextContent(i === 0 ? "the server refused" : "Backup written");
    }
  });

  it("a backup refused for an unconfirmed recovery key is answered once the key is confirmed (seen on protection-04)", () => {
    const refused = { id: "job-1", kind: "backup", finished: { ...failed("job-1"), error: { code: "needs_consent", message: "confirm the key", hint: null, retryable: false } } };
    const other = { id: "job-2", kind: "backup", finished: failed("job-2") };
    const jobs = [other, refused] as unknown as Parameters<typeof answered>[0];
    expect(answered(jobs, false).map((j) => j.id)).toEqual(["job-2", "job-1"]);
    expect(answered(jobs, true).map((j) => j.id)).toEqual(["job-2"]);
  });

  it("a green 'Imported' is not shown under a newer verify that found the same archive damaged (issue 44, import-05)", () => {
    const path = "/b/legacy/legacy_20261126_180928_database.tar.zst";
    const imported = { id: "imp", kind: "import", finished: { ok: true, error: null, result: { kind: "import", project: "legacy", backup: { path, size: 1 } } } };
    const other = { id: "imp2", kind: "import", finished: { ok: true, error: null, result: { kind: "import", project: "legacy", backup: { path: "/b/other.tar.zst", size: 1 } } } };
    const damaged = { id: "ver", kind: "verify", finished: { ok: false, error: integrity, result: { kind: "verify", backup_id: null, report: { ok: false, archive: path, problems: [] } } } };
    const jobs = [damaged, other, imported] as unknown as Parameters<typeof answered>[0];
    expect(answered(jobs).map((j) => j.id)).toEqual(["ver", "imp2"]);
    // An import newer than the verify stands (it wrote a fresh file).
    const later = [imported, damaged] as unknown as Parameters<typeof answered>[0];
    expect(answered(later).map((j) => j.id)).toEqual(["imp", "ver"]);
  });

  it("a damaged verify (a failed job, as History says) is answered only by an intact verify of the same archive", () => {
    const verify = (id: string, archive: string, ok: boolean) => ({
      id,
      kind: "verify",
      subject: archive,
      finished: {
        job_id: id,
        kind: "verify",
        ok,
        error: ok ? null : integrity,
        result: { kind: "verify", backup_id: null, report: { ok, archive, problems: [], first_bad: null } },
      },
    });
    const damaged = verify("bad", "/b/shop_1.tar.zst", false);
    const otherIntact = verify("other", "/b/shop_2.tar.zst", true);
    expect(answered([otherIntact, damaged] as unknown as LiveJob[]).map((j) => j.id)).toEqual(["other", "bad"]);
    // The damage is the first card, said as a failure.
    expect(byCause([damaged, otherIntact] as unknown as LiveJob[]).map((c) => c.job.id)).toEqual(["bad", "other"]);
    render(<FinishedView job={damaged as unknown as LiveJob} onDismiss={() => {}} />);
    expect(screen.getByTestId("job-finished")).toHaveAttribute("data-ok", "false");
    expect(screen.getAllByText("The archive is damaged")).toHaveLength(1);
    // A copy fetched back and verified intact answers it.
    const sameIntact = verify("again", "/b/shop_1.tar.zst", true);
    expect(answered([sameIntact, damaged] as unknown as LiveJob[]).map((j) => j.id)).toEqual(["again"]);
  });

  it("no empty panel once every result is answered (protection-04 showed an empty card above the tabs)", async () => {
    const confirmed = { id: "encryption", label: "Encryption ready", state: "done", why: "confirmed", fix: null, fix_label: null, at: null, why_at: null } as const;
    mockIPC(
      (cmd) => {
        if (cmd === "start_backup") return "job-1";
        if (cmd === "health") return overview([protectedHealth("shop", { checklist: checklistWith([confirmed]) })]);
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    render(
      <StoreProvider>
        <Start />
        <LiveJobs project="shop" />
      </StoreProvider>,
    );
    fireEvent.click(screen.getByTestId("start"));
    await screen.findByTestId("job-panel");
    const refused = { ...failed("job-1"), error: { code: "needs_consent", message: "confirm the key", hint: null, retryable: false } };
    await act(() => emit("job-finished", refused));
    await waitFor(() => expect(screen.queryByTestId("job-panel")).toBeNull());
  });

  it("one card per failure cause: a damaged archive found by Verify and by Import is said once (import-05)", () => {
    const verifyDamaged = {
      id: "job-v",
      kind: "verify",
      subject: "/b/legacy_20261126_093805_database.tar.zst",
      finished: { job_id: "job-v", kind: "verify", ok: false, error: integrity, result: { kind: "verify", report: { ok: false, archive: "/b/legacy_20261126_093805_database.tar.zst", problems: [], first_bad: null } } },
    };
    const importDamaged = {
      id: "job-i",
      kind: "import",
      subject: "/tmp/picked/picked-backup",
      finished: { job_id: "job-i", kind: "import", ok: false, error: { code: "integrity", message: "bad member", hint: null, retryable: false }, result: null },
    };
    const imported = { id: "job-ok", kind: "import", subject: "/tmp/x", finished: { job_id: "job-ok", kind: "import", ok: true, error: null, result: null } };
    const jobs = [verifyDamaged, importDamaged, imported] as unknown as LiveJob[];
    const cards = byCause(jobs);
    expect(cards.map((c) => [c.job.id, c.also.map((j) => j.id)])).toEqual([
      ["job-v", ["job-i"]],
      ["job-ok", []],
    ]);
    render(<FinishedView job={cards[0]!.job} also={cards[0]!.also} onDismiss={() => {}} />);
    expect(screen.getAllByText("The archive is damaged")).toHaveLength(1);
    expect(screen.getByTestId("job-same-cause")).toHaveTextContent("The same cause also stopped: Import of picked-backup.");
  });
});
