import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { JobFinished } from "../bindings";
import { StoreProvider } from "../store";
import { overview } from "../dashboard/fixtures";
import { backup, summary } from "./fixtures";
import { ProjectPage } from "./ProjectPage";
import type { ProjectTab } from "./Main";

const many = Array.from({ length: 10_000 }, (_, i) => backup(i));

type Extra = Record<string, (args: unknown) => unknown>;

function setup(
  backups = many,
  extra: Extra = {},
  onDrills?: () => void,
  onBrowse?: (b: { path: string; label: string }) => void,
  tab?: ProjectTab,
) {
  const calls: { cmd: string; args: unknown }[] = [];
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args });
      const handler = extra[cmd];
      if (handler) return handler(args);
      switch (cmd) {
        case "get_project":
          return summary("shop", backups[0] ?? null, backups.length);
        case "list_backups":
          // A new array each time, as over IPC (a test may change the list in place).
          return [...backups];
        case "get_components":
          return { storage: null, supabase: null, default_type: null };
        case "start_backup":
          return "job-b";
        case "start_verify":
          return "job-v";
        case "removal_forecast":
        case "list_drills":
          return [];
        case "list_jobs":
          return [
            {
              id: "old-1",
              project_id: "p-shop",
              kind: "backup",
              state: "failed",
              started_at: "2026-11-20T10:00:00Z",
              finished_at: "2026-11-20T10:00:05Z",
              bytes_done: 0,
              bytes_total: null,
              error_code: "connection",
              error_message: "connection refused",
              error_hint: "is the server running?",
              backup_id: null,
            },
          ];
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
  render(
    <StoreProvider>
      <ProjectPage
        name="shop"
        onBack={vi.fn()}
        {...(onDrills ? { onDrills } : {})}
        {...(onBrowse ? { onBrowse } : {})}
        {...(tab ? { tab } : {})}
      />
    </StoreProvider>,
  );
  return calls;
}

/** The engine's answer to a deletion (`DeleteBackupOutcome`): here only, nothing elsewhere. */
function deleted(id: string, path: string) {
  return { backup_id: id, path, file_deleted: true, copies_deleted: [], copies_kept: [], copies_locked: [], removed_from_catalog: true };
}

describe("ProjectPage", () => {
  it("opens the project's drills from its toolbar", async () => {
    const onDrills = vi.fn();
    setup(many.slice(0, 2), {}, onDrills);
    fireEvent.click(await screen.findByTestId("open-drills"));
    expect(onDrills).toHaveBeenCalledTimes(1);
  });

  it("looks inside the selected backup", async () => {
    const onBrowse = vi.fn();
    setup(many.slice(0, 2), {}, undefined, onBrowse);
    // The newest good backup is selected when the list arrives.
    const look = await screen.findByTestId("browse-selected");
    expect(screen.getByTestId("backup-detail-path")).toHaveTextContent(many[0]!.path);
    fireEvent.click((await screen.findAllByTestId("backups-row"))[1]!);
    fireEvent.click(screen.getByTestId("browse-selected"));
    void look;
    expect(onBrowse).toHaveBeenCalledWith(expect.objectContaining({ path: many[1]!.path }));
  });

  it("lists 10,000 backups through a window of rows", async () => {
    setup();
    expect(await screen.findByTestId("backup-count")).toHaveTextContent("10000");
    const rows = screen.getAllByTestId("backups-row");
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.length).toBeLessThan(40);
    // The file is in the side panel of the selected (newest good) backup, not in the row.
    expect(await screen.findByTestId("backup-detail-path")).toHaveTextContent("shop_0_database.tar.gz");
    expect(rows[0]).toHaveTextContent("1.0 MB");
    expect(screen.getByTestId("backups")).toHaveTextContent("Size (compressed)");
    expect(rows[0]).toHaveTextContent("Not verified");
    expect(rows[0]).toHaveTextContent("database");
    // Day headings between them (hourly backups: a heading per day, 24 rows under it).
    expect(screen.getAllByTestId("backups-day").length).toBeGreaterThan(0);
  });

  it("verifies the selected backup and refreshes when the job finishes", async () => {
    const calls = setup(many.slice(0, 3));
    await screen.findAllByTestId("backups-row");
    // Preselected: the newest good backup; one arrow down selects the next one.
    await waitFor(() => expect(screen.getByTestId("backup-detail-path")).toHaveTextContent(many[0]!.path));
    const viewport = screen.getByTestId("backups-viewport");
    fireEvent.keyDown(viewport, { key: "ArrowDown" });
    fireEvent.click(screen.getByTestId("verify-selected"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "start_verify")).toBe(true));
    expect(calls.find((c) => c.cmd === "start_verify")?.args).toEqual({ path: many[1]?.path });
    expect(await screen.findByTestId("job-running")).toBeInTheDocument();

    const listed = calls.filter((c) => c.cmd === "list_backups").length;
    const done: JobFinished = {
      job_id: "job-v",
      kind: "verify",
      ok: true,
      error: null,
      result: {
        kind: "verify",
        backup_id: "backup-1",
        report: {
          archive: many[1]?.path ?? "",
          ok: true,
          file_sha256: "",
          sidecar: { status: "match" },
          members: [],
          first_bad: null,
          bytes_verified: 2048,
          problems: [],
          manifest: null,
        },
      },
    };
    await act(() => emit("job-finished", done));
    expect(await screen.findByTestId("job-result")).toHaveTextContent("Verified: 2.0 KB checked (uncompressed)");
    await waitFor(() => expect(calls.filter((c) => c.cmd === "list_backups").length).toBeGreaterThan(listed));
  });

  it("one result area below the tabs: a notice replaces a job's result, a newer job's result replaces the notice, each dismissible (issue 44)", async () => {
    setup(many.slice(0, 3), { delete_backup: () => deleted(many[1]!.id, many[1]!.path) });
    const rows = await screen.findAllByTestId("backups-row");
    fireEvent.click(rows[1]!);
    fireEvent.click(screen.getByTestId("verify-selected"));
    await screen.findByTestId("job-running");
    const verified = (id: string): JobFinished =>
      ({
        job_id: id,
        kind: "verify",
        ok: true,
        error: null,
        result: { kind: "verify", backup_id: "backup-1", report: { archive: many[1]!.path, ok: true, file_sha256: "", sidecar: { status: "match" }, members: [], first_bad: null, bytes_verified: 2048, problems: [], manifest: null } },
      }) as JobFinished;
    await act(() => emit("job-finished", verified("job-v")));
    const results = await screen.findByTestId("project-results");
    expect(results).toContainElement(screen.getByTestId("job-finished"));
    // Below the tab bar, so it never pushes the tabs down.
    expect(screen.getByTestId("project-tabs").compareDocumentPosition(results) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();

    fireEvent.click(screen.getByTestId("delete-selected"));
    fireEvent.click(screen.getByTestId("delete-confirm"));
    expect(await screen.findByTestId("action-notice")).toHaveTextContent("Deleted");
    expect(screen.queryByTestId("job-finished")).toBeNull(); // replaced

    fireEvent.click(screen.getByTestId("verify-selected"));
    await screen.findByTestId("job-running");
    await act(() => emit("job-finished", verified("job-v")));
    await screen.findByTestId("job-finished");
    expect(screen.queryByTestId("action-notice")).toBeNull(); // replaced by the newer result
    fireEvent.click(screen.getByTestId("job-dismiss"));
    await waitFor(() => expect(screen.queryByTestId("job-finished")).toBeNull());
  });

  it("keeps the selection on the same backup when a new one appears on top", async () => {
    const list = many.slice(1, 4);
    setup(list);
    await screen.findAllByTestId("backups-row");
    const row = (id: string) => document.querySelector(`[data-backup-id="${id}"]`)!.closest("[role=option]");
    fireEvent.click(row("backup-2")!);
    expect(row("backup-2")).toHaveAttribute("aria-selected", "true");
    list.unshift(many[0]!);
    const done: JobFinished = { job_id: "x", kind: "backup", ok: true, error: null, result: { kind: "backup", backup: many[0]! } };
    await act(() => emit("job-finished", done));
    await waitFor(() => expect(screen.getAllByTestId("backups-row")).toHaveLength(4));
    expect(row("backup-2")).toHaveAttribute("aria-selected", "true");
    expect(screen.getByTestId("backup-detail-path")).toHaveTextContent("shop_2_database");
  });

  it("shows earlier jobs from the catalog with their error, on the Activity tab", async () => {
    setup([], {}, undefined, undefined, "activity");
    const row = await screen.findByTestId("job-history-row");
    expect(row).toHaveAttribute("data-state", "failed");
    expect(row).toHaveTextContent("Cannot reach the server: connection refused — is the server running?");
    expect(row).toHaveTextContent("5 s");
  });

  it("starts a backup and disables the button while it runs", async () => {
    const calls = setup([]);
    expect(await screen.findByTestId("backups-empty")).toBeInTheDocument();
    fireEvent.click(screen.getByTestId("backup-now"));
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === "start_backup")?.args).toEqual({ project: "shop", backupType: null, note: null }),
    );
    expect(await screen.findByTestId("backup-now")).toBeDisabled();
  });

  it("backs up with the project's default type, or the one picked; types it cannot make are disabled", async () => {
    const calls = setup([], {
      get_components: () => ({
        storage: {
          endpoint: "http://127.0.0.1:9000",
          region: "us-east-1",
          access_key_id: "AKID",
          path_style: true,
          buckets: { kind: "all" },
          concurrency: null,
        },
        supabase: null,
        default_type: "full",
      }),
    });
    await waitFor(() => expect(screen.getByTestId("backup-now")).toHaveAttribute("data-type", "full"));
    fireEvent.click(screen.getByTestId("backup-type-toggle"));
    const option = (t: string) => screen.getByTestId(`backup-type-${t}`);
    expect(option("full")).toHaveAttribute("data-default", "true");
    expect(option("config")).toBeDisabled();
    expect(option("config").title).toMatch(/Supabase/);
    expect(option("storage")).toBeEnabled();
    fireEvent.click(option("storage"));
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === "start_backup")?.args).toEqual({ project: "shop", backupType: "storage", note: null }),
    );
  });

  it("deletes the selected backup after confirmation, file included by default", async () => {
    let list = many.slice(0, 3);
    const calls = setup(list, {
      delete_backup: (args) => {
        list = list.filter((b) => b.id !== (args as { backupId: string }).backupId);
        return deleted(many[1]!.id, many[1]!.path);
      },
      list_backups: () => list,
    });
    const rows = await screen.findAllByTestId("backups-row");
    fireEvent.click(rows[1]!);
    fireEvent.click(screen.getByTestId("delete-selected"));
    const dialog = screen.getByTestId("delete-dialog");
    expect(screen.getByTestId("delete-path")).toHaveTextContent(many[1]!.path);
    // Cancel is focused; Escape closes without deleting.
    expect(screen.getByTestId("delete-cancel")).toHaveFocus();
    fireEvent.keyDown(dialog, { key: "Escape" });
    expect(screen.queryByTestId("delete-dialog")).not.toBeInTheDocument();
    expect(calls.some((c) => c.cmd === "delete_backup")).toBe(false);

    fireEvent.click(screen.getByTestId("delete-selected"));
    expect(screen.getByTestId("delete-file")).toBeChecked();
    fireEvent.click(screen.getByTestId("delete-confirm"));
    await waitFor(() => expect(screen.queryByTestId("delete-dialog")).not.toBeInTheDocument());
    expect(calls.find((c) => c.cmd === "delete_backup")?.args).toEqual({ backupId: many[1]!.id, deleteFile: true, everywhere: false });
    expect(screen.getByTestId("action-notice")).toHaveTextContent(`Deleted ${many[1]!.path}`);
    await waitFor(() => expect(screen.getByTestId("backup-count")).toHaveTextContent("2"));
  });

  it("keeps the file when asked, and shows a refusal with its code without closing", async () => {
    const calls = setup(many.slice(0, 2), {
      delete_backup: () =>
        Promise.reject({
          code: "conflict",
          message: "the file now holds another backup; it was not deleted",
          hint: "remove the backup from the list only, keeping the file",
          retryable: false,
        }),
    });
    const rows = await screen.findAllByTestId("backups-row");
    fireEvent.click(rows[0]!);
    fireEvent.click(screen.getByTestId("delete-selected"));
    fireEvent.click(screen.getByTestId("delete-confirm"));
    const error = await screen.findByTestId("delete-error");
    expect(error).toHaveAttribute("data-code", "conflict");
    expect(error).toHaveTextContent("keeping the file");
    expect(screen.getByTestId("delete-dialog")).toBeInTheDocument();
    fireEvent.click(screen.getByTestId("delete-file"));
    expect(screen.getByTestId("delete-confirm")).toHaveTextContent("Remove from list");
    fireEvent.click(screen.getByTestId("delete-confirm"));
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === "delete_backup").map((c) => c.args)).toEqual([
        { backupId: many[0]!.id, deleteFile: true, everywhere: false },
        { backupId: many[0]!.id, deleteFile: false, everywhere: false },
      ]),
    );
  });

  it("deletes everywhere through the engine's delete: the unlocked copies go, a locked one is kept and said with its date", async () => {
    let locked = true;
    const calls = setup(many.slice(0, 2), {
      delete_backup: (args) => {
        const a = args as { backupId: string; everywhere: boolean };
        if (a.everywhere && locked)
          return {
            ...deleted(a.backupId, many[1]!.path),
            copies_deleted: [{ destination: "usb", location: "shop/b.tar.zst" }],
            copies_kept: ["vault"],
            copies_locked: [
              {
                backup_id: a.backupId,
                destination: "vault",
                location: "shop/b.tar.zst",
                locked_until: "2026-12-03T10:00:00Z",
                note: "locked until 2026-12-03 10:00 UTC",
              },
            ],
            removed_from_catalog: false,
          };
        return {
          ...deleted(a.backupId, many[1]!.path),
          copies_deleted: a.everywhere ? [{ destination: "vault", location: "shop/b.tar.zst" }] : [],
          copies_kept: a.everywhere ? [] : ["vault"],
          removed_from_catalog: a.everywhere,
        };
      },
    });
    const rows = await screen.findAllByTestId("backups-row");
    fireEvent.click(rows[1]!);
    fireEvent.click(screen.getByTestId("delete-selected"));
    // Copies elsewhere are kept unless asked; the choice only exists when the file goes too.
    expect(screen.getByTestId("delete-everywhere")).not.toBeChecked();
    fireEvent.click(screen.getByTestId("delete-everywhere"));
    expect(screen.getByTestId("delete-confirm")).toHaveTextContent("Delete backup, file and copies");
    expect(screen.getByTestId("delete-explained")).toHaveTextContent("still locked at its destination is kept until its date");
    fireEvent.click(screen.getByTestId("delete-confirm"));
    await waitFor(() => expect(screen.queryByTestId("delete-dialog")).not.toBeInTheDocument());
    expect(calls.filter((c) => c.cmd === "delete_backup").map((c) => c.args)).toEqual([
      { backupId: many[1]!.id, deleteFile: true, everywhere: true },
    ]);
    expect(screen.getByTestId("action-notice")).toHaveTextContent(
      `Deleted ${many[1]!.path} and its copy at usb. Its copy at vault is kept: locked until 2026-12-03 10:00 UTC.`,
    );
    // Unticking "keep the file" hides the choice and never sends everywhere.
    fireEvent.click((await screen.findAllByTestId("backups-row"))[1]!);
    fireEvent.click(screen.getByTestId("delete-selected"));
    fireEvent.click(screen.getByTestId("delete-file"));
    expect(screen.queryByTestId("delete-everywhere")).toBeNull();
    fireEvent.click(screen.getByTestId("delete-file"));
    // Once the lock has passed, everywhere deletes the copy too.
    locked = false;
    fireEvent.click(screen.getByTestId("delete-everywhere"));
    fireEvent.click(screen.getByTestId("delete-confirm"));
    await waitFor(() =>
      expect(screen.getByTestId("action-notice")).toHaveTextContent(`Deleted ${many[1]!.path} and its copy at vault and removed it from the list.`),
    );
  });

  it("shows the selected backup in the file manager by id, and says when that fails", async () => {
    const calls = setup(many.slice(0, 2), {
      show_in_folder: () =>
        Promise.reject({ code: "not_found", message: "the file is not there any more", hint: "verify it", retryable: false }),
    });
    const rows = await screen.findAllByTestId("backups-row");
    fireEvent.click(rows[1]!);
    fireEvent.click(screen.getByTestId("show-in-folder"));
    expect(await screen.findByTestId("action-error")).toHaveAttribute("data-code", "not_found");
    expect(calls.find((c) => c.cmd === "show_in_folder")?.args).toEqual({ backupId: many[1]!.id });
  });
  it("a backup refused for unconfirmed encryption links to the confirmation, and shows where a backup lives", async () => {
    const backups = many.slice(0, 2);
    setup(backups, {
      start_backup: () => {
        throw { code: "needs_consent", message: "Encryption is set up but not confirmed.", hint: null, retryable: false };
      },
      get_encryption: () => ({ mode: "key", public_key: "age1pub", recipients: [], confirmed: false }),
      list_destinations: () => [],
      get_protection: () => ({
        project: "shop",
        newest_backup: backups[0]?.id ?? null,
        copies: 2,
        media: 2,
        offsite: false,
        meets_321: false,
        destinations: 1,
        pending: [{ backup_id: backups[1]?.id ?? "", destination: "nas", since: "2026-11-24T09:00:00Z", last_error: null, attempts: 1 }],
        summary: "",
      }),
      list_copies: () =>
        backups.map((b) => ({
          backup_id: b.id,
          created_at: b.created_at,
          path: b.path,
          copies: [
            { destination: "local", kind: null, location: b.path, state: "stored", status: "unverified", size: 1, uploaded_at: null, verified_at: null, pending_since: null, last_error: null, attempts: 0 },
            { destination: "nas", kind: "folder", location: "shop/x", state: "stored", status: "unverified", size: 1, uploaded_at: "2026-11-24T09:01:00Z", verified_at: null, pending_since: null, last_error: null, attempts: 1 },
          ],
        })),
    });
    await screen.findAllByTestId("backups-row");
    expect(await screen.findByTestId("protection-copies")).toHaveTextContent("2 of 3");
    expect(screen.getByTestId("protection-pending")).toHaveTextContent("copy to nas pending since");
    fireEvent.click(screen.getAllByTestId("backups-row")[0]!);
    expect(await screen.findByTestId("backup-where-copy")).toHaveAttribute("data-destination", "nas");

    fireEvent.click(screen.getByTestId("backup-now"));
    expect(await screen.findByTestId("action-error")).toHaveAttribute("data-code", "needs_consent");
    expect(screen.queryByTestId("encryption-confirm")).toBeNull();
    fireEvent.click(screen.getByTestId("action-error-fix"));
    expect(await screen.findByTestId("encryption-confirm")).toBeInTheDocument();
    // On the Protection tab the 3-2-1 state is said once, in the tab's own panel.
    expect(screen.getAllByTestId("protection")).toHaveLength(1);
    expect(within(screen.getByTestId("tab-protection")).getByTestId("protection")).toBeInTheDocument();
  });
  it("a backup job refused for unconfirmed encryption links to the confirmation until it is done", async () => {
    let confirmed = false;
    const calls = setup(many.slice(0, 1), {
      health: () => overview([]),
      get_encryption: () => ({ mode: "key", public_key: "age1pub", recipients: [], confirmed }),
      confirm_recovery: () => {
        confirmed = true;
        return { mode: "key", public_key: "age1pub", recipients: [], confirmed };
      },
    });
    await screen.findAllByTestId("backups-row");
    fireEvent.click(screen.getByTestId("backup-now"));
    const refused: JobFinished = {
      job_id: "job-b",
      kind: "backup",
      ok: false,
      error: { code: "needs_consent", message: "not confirmed yet", hint: null, retryable: false },
      result: null,
    };
    await waitFor(() => expect(screen.getByTestId("backup-now")).toHaveTextContent("Backing up…"));
    await act(() => emit("job-finished", refused));
    fireEvent.click(await screen.findByTestId("action-error-fix"));
    fireEvent.change(await screen.findByTestId("encryption-confirm-input"), { target: { value: "AGE-SECRET-KEY-1X" } });
    const healthBefore = calls.filter((c) => c.cmd === "health").length;
    fireEvent.click(screen.getByTestId("encryption-confirm-submit"));
    await screen.findByTestId("encryption-notice");
    await waitFor(() => expect(screen.queryByTestId("action-error-fix")).toBeNull());
    // The encryption light, the checklist and the paused card follow at once (they read the
    // health): protection-04 showed "not confirmed yet" under "Confirmed … Encryption is active".
    await waitFor(() => expect(calls.filter((c) => c.cmd === "health").length).toBeGreaterThan(healthBefore));
  });
});
