import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { PitrStatus } from "../../bindings";
import { type DiffApi, DiffScreen, live } from "../../diff/DiffScreen";
import { AT_TIME, DrillRunForm } from "../../drill/DrillRunForm";
import { StoreProvider } from "../../store";
import { hourWindow } from "../../test/windows";
import { RestoreWizard } from "../RestoreWizard";
import { localFieldToUtc, localSeconds } from "./time";

/** Waits on the engine's answers (a moment is planned once it settles; a busy machine is slow). */
const WAIT = { timeout: 10_000 };

// Issue 64 item 3: the moment chosen on the project page's band opens the restore wizard, the
// drills and the diff on that moment (Restore… / Drill… / Compare… from the same place).
const AT = "2026-11-26T05:42:07Z";
const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });

describe("a moment from the band opens", () => {
  it("the restore wizard at 'as it was at a moment', on that second, planned", async () => {
    const planned: string[] = [];
    mockIPC(
      (cmd, raw) => {
        const args = (raw ?? {}) as Record<string, unknown>;
        if (cmd === "list_backups" || cmd === "list_projects") return [];
        if (cmd === "pitr_status") return { enabled: true, windows: [hourWindow()], ended: [], stray_slots: [] } as unknown as PitrStatus;
        if (cmd === "pitr_plan") {
          planned.push(args.at as string);
          return { at: args.at, window: hourWindow(), base_backup_id: "b", base_path: "/b", base_at: "2026-11-26T05:00:00Z", segments: [], stop_commit_at: "2026-11-26T05:41:55.120Z", stop_commit_lsn: "0/1", transactions: 2, not_covered: [], fetched: [] };
        }
        return Promise.reject({ code: "not_found", message: cmd, hint: null, retryable: false });
      },
      { shouldMockEvents: true },
    );
    render(
      <StoreProvider>
        <RestoreWizard project="shop" initialAt={AT} onClose={vi.fn()} />
      </StoreProvider>,
    );
    const field = (await screen.findByTestId("pitr-at", {}, WAIT)) as HTMLInputElement;
    expect(screen.getByTestId("wizard-mode-time")).toBeChecked();
    expect(localFieldToUtc(field.value)).toBe(AT);
    expect((await screen.findByTestId("pitr-plan-stop", {}, WAIT)).textContent).toBe(
      `The last change before ${localSeconds(AT).slice(11)} was at ${localSeconds("2026-11-26T05:41:55Z").slice(11)}; the restore stops there`,
    );
    expect(planned).toEqual([AT]);
  });

  it("the drill form at 'A point in time', that second in its field", () => {
    const onRun = vi.fn();
    render(<DrillRunForm backups={[]} defaultTarget={{ kind: "throwaway" }} running={false} onRun={onRun} windows={[hourWindow()]} initialAt={AT} />);
    expect(screen.getByTestId("drill-backup")).toHaveValue(AT_TIME);
    expect(localFieldToUtc((screen.getByTestId("drill-at") as HTMLInputElement).value)).toBe(AT);
    fireEvent.click(screen.getByTestId("drill-run"));
    expect(onRun).toHaveBeenCalledWith({ backup: null, target: { kind: "throwaway" }, at: AT });
  });

  it("the diff at that second against the database now", async () => {
    const api: DiffApi = {
      backups: vi.fn(() =>
        ok([
          { id: "b2", created_at: "2026-11-26T05:00:00Z", path: "/b/2", backup_type: "database" as const },
          { id: "b1", created_at: "2026-11-25T05:00:00Z", path: "/b/1", backup_type: "database" as const },
        ]),
      ),
      compare: vi.fn(() => ok({ from: "", to: "", tables: [], notes: [] })),
      rows: vi.fn(),
      cancel: vi.fn(() => Promise.resolve(true)),
      windows: vi.fn(() => ok([hourWindow()])),
      openAt: vi.fn(() => ok("/data/pitr-at/.offsite-tmp-1/shop-at.offsite")),
      closeAt: vi.fn(() => Promise.resolve(true)),
    };
    render(<DiffScreen project="shop" api={api} initialAt={AT} onBack={vi.fn()} />);
    await waitFor(() => expect(screen.getByTestId("diff-to")).toHaveValue(live("shop")), WAIT);
    await waitFor(() => expect(api.windows).toHaveBeenCalled(), WAIT);
    expect(screen.getByTestId("diff-from")).toHaveValue(AT_TIME);
    expect(localFieldToUtc((screen.getByTestId("diff-at") as HTMLInputElement).value)).toBe(AT);
    fireEvent.click(screen.getByTestId("diff-compare"));
    await waitFor(() => expect(api.openAt).toHaveBeenCalledWith("shop", AT, expect.any(Function)), WAIT);
  });
});
