import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it, vi } from "vitest";
import type { RecoverRequest, RowChange, TableDiff } from "../bindings";
import { AT_TIME, backupNames, type DiffApi, DiffScreen, live, ROW_PAGE, summary } from "./DiffScreen";
import { localFieldToUtc } from "../wizard/pitr/time";
import { hourWindow } from "../test/windows";

const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });

function table(over: Partial<TableDiff>): TableDiff {
  return {
    schema: "public",
    table: "t",
    status: "identical",
    compared_by: "digest",
    key: [],
    rows_from: 10,
    rows_to: 10,
    added: 0,
    removed: 0,
    changed: 0,
    unchanged: 10,
    columns_added: [],
    columns_removed: [],
    columns_retyped: [],
    bytes_read: 0,
    rows: [],
    rows_offset: 0,
    rows_more: false,
    note: null,
    ...over,
  };
}

/** 70 changed rows of public.orders: order i's note went from "old i" to "new i". */
const changedRows: RowChange[] = Array.from({ length: 70 }, (_, i) => ({
  kind: "changed",
  key: [{ column: "id", value: String(i + 1) }],
  columns: [{ column: "note", before: `old ${i + 1}`, after: `new ${i + 1}` }],
}));

function fakeApi(): DiffApi {
  const orders = table({ table: "orders", status: "changed", compared_by: "primary_key", key: ["id"], added: 2, removed: 1, changed: 70, unchanged: 5, bytes_read: 900 });
  return {
    backups: vi.fn(() =>
      ok([
        { id: "b2-newest", created_at: "2026-11-25T10:00:00Z", path: "/b/2", backup_type: "database" as const },
        { id: "b1-older", created_at: "2026-11-24T10:00:00Z", path: "/b/1", backup_type: "full" as const },
      ]),
    ),
    compare: vi.fn(() =>
      ok({
        from: "shop backup b1",
        to: "shop backup b2",
        notes: [],
        tables: [
          orders,
          table({ table: "stable" }),
          table({ table: "gone", status: "only_in_from", compared_by: "not_compared" }),
          table({ schema: "odd.schema", table: 'we"ird', status: "changed", compared_by: "whole_row", added: 1, removed: 1, columns_added: [{ name: "d", data_type: "integer" }] }),
        ],
      }),
    ),
    rows: vi.fn((_f: string, _t: string, _s: string, _n: string, offset: number, limit: number) =>
      ok({ ...orders, rows: changedRows.slice(offset, offset + limit), rows_offset: offset, rows_more: offset + limit < changedRows.length }),
    ),
    cancel: vi.fn(() => Promise.resolve(true)),
  };
}

describe("DiffScreen", () => {
  it("compares the newest backup with the one before, lists tables with counts, pages a table's changed rows", async () => {
    const api = fakeApi();
    render(<DiffScreen project="shop" api={api} onBack={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("diff-from")).toHaveValue("b1-older"));
    expect(screen.getByTestId("diff-to")).toHaveValue("b2-newest");
    fireEvent.click(screen.getByTestId("diff-compare"));
    await waitFor(() => expect(screen.getAllByTestId("diff-table")).toHaveLength(4));
    expect(api.compare).toHaveBeenCalledWith("b1-older", "b2-newest", expect.any(String));
    const counts = screen.getAllByTestId("diff-counts").map((e) => e.textContent);
    expect(counts).toEqual(["+2 −1 ~70", "identical", "only in the older", "+1 −1 ~0 · 1 column change"]);
    // Each non-zero count in its kind's colour, a zero one plain.
    const marks = screen.getAllByTestId("diff-count");
    expect(marks.map((m) => m.className)).toEqual([
      "diff-count diff-count-added",
      "diff-count diff-count-removed",
      "diff-count diff-count-changed",
      "diff-count diff-count-added",
      "diff-count diff-count-removed",
      "diff-count",
    ]);
    // Only changed tables open.
    expect(screen.getAllByTestId("diff-open-table")).toHaveLength(2);
    fireEvent.click(screen.getAllByTestId("diff-open-table")[0]!);
    await waitFor(() => expect(screen.getAllByTestId("diff-row")).toHaveLength(ROW_PAGE));
    expect(api.rows).toHaveBeenLastCalledWith("b1-older", "b2-newest", "public", "orders", 0, ROW_PAGE, expect.any(String));
    expect(screen.getAllByTestId("diff-value")[0]).toHaveTextContent("note: old 1 → new 1");
    fireEvent.click(screen.getByTestId("diff-next"));
    await waitFor(() => expect(screen.getAllByTestId("diff-row")).toHaveLength(20));
    expect(api.rows).toHaveBeenLastCalledWith("b1-older", "b2-newest", "public", "orders", ROW_PAGE, ROW_PAGE, expect.any(String));
    expect(screen.getByTestId("diff-next")).toBeDisabled();
  });

  it("compares a backup with the database now, and shows the engine's error", async () => {
    const api = fakeApi();
    api.compare = vi.fn(() =>
      Promise.resolve({ ok: false as const, error: { code: "auth" as const, message: "password authentication failed", hint: "set the password", retryable: false } }),
    );
    render(<DiffScreen project="shop" api={api} onBack={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("diff-to")).toHaveValue("b2-newest"));
    fireEvent.change(screen.getByTestId("diff-to"), { target: { value: live("shop") } });
    fireEvent.click(screen.getByTestId("diff-compare"));
    expect(await screen.findByTestId("diff-error")).toHaveTextContent("password authentication failed");
    expect(api.compare).toHaveBeenCalledWith("b1-older", "shop:live", expect.any(String));
  });

  it("with one backup, offers it against the database now; the same side twice cannot be compared", async () => {
    const api = fakeApi();
    api.backups = vi.fn(() => ok([{ id: "only", created_at: "2026-11-25T10:00:00Z", path: "/b/1", backup_type: "database" as const }]));
    render(<DiffScreen project="shop" api={api} onBack={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("diff-to")).toHaveValue("shop:live"));
    expect(screen.getByTestId("diff-compare")).toBeEnabled();
    fireEvent.change(screen.getByTestId("diff-to"), { target: { value: "only" } });
    expect(screen.getByTestId("diff-compare")).toBeDisabled();
  });

  it("says what changed in a few words", () => {
    expect(summary(table({ status: "changed", added: 1, removed: 2, changed: 3, columns_retyped: [{ name: "c", from: "text", to: "varchar(20)" }] }))).toBe(
      "+1 −2 ~3 · 1 column change",
    );
    expect(summary(table({ status: "only_in_to" }))).toBe("only in the newer");
  });

  it("shows how long a slow comparison has run, and backups by local time", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const api = fakeApi();
      api.compare = vi.fn(() => new Promise<never>(() => {}));
      render(<DiffScreen project="shop" api={api} onBack={() => {}} />);
      await waitFor(() => expect(screen.getByTestId("diff-compare")).toBeEnabled());
      expect(screen.getByTestId("diff-from")).not.toHaveTextContent("T10:00:00Z");
      // Backups by their type and local time, never by id.
      expect(screen.getByTestId("diff-from")).toHaveTextContent(/Full backup of 2026-11-24/);
      expect(screen.getByTestId("diff-from")).not.toHaveTextContent("b1-older");
      fireEvent.click(screen.getByTestId("diff-compare"));
      expect(await screen.findByTestId("diff-loading")).toHaveAttribute("aria-busy", "true");
      const before = screen.getByTestId("diff-elapsed").textContent;
      await vi.advanceTimersByTimeAsync(3000);
      await waitFor(() => expect(screen.getByTestId("diff-elapsed").textContent).not.toBe(before));
      expect(screen.getByTestId("diff-compare")).toBeDisabled();
    } finally {
      vi.useRealTimers();
    }
  });

  it("Cancel stops the running comparison by its ticket, says so calmly, and Compare starts again", async () => {
    const api = fakeApi();
    let finish: (v: unknown) => void = () => {};
    api.compare = vi.fn(() => new Promise((resolve) => (finish = resolve))) as DiffApi["compare"];
    render(<DiffScreen project="shop" api={api} onBack={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("diff-compare")).toBeEnabled());
    fireEvent.click(screen.getByTestId("diff-compare"));
    fireEvent.click(await screen.findByTestId("diff-cancel"));
    const ticket = (api.compare as ReturnType<typeof vi.fn>).mock.calls[0]![2];
    expect(api.cancel).toHaveBeenCalledWith(ticket);
    expect(screen.getByTestId("diff-cancelled")).toHaveTextContent(/cancelled/i);
    expect(screen.queryByTestId("diff-loading")).toBeNull();
    // The engine's answer to the cancelled call comes later: it changes nothing.
    finish({ ok: false, error: { code: "cancelled", message: "cancelled", hint: null, retryable: false } });
    await new Promise((r) => setTimeout(r, 0));
    expect(screen.queryByTestId("diff-error")).toBeNull();
    expect(screen.getByTestId("diff-compare")).toBeEnabled();
  });

  it("leaving the view while it compares stops the comparison", async () => {
    const api = fakeApi();
    api.compare = vi.fn(() => new Promise<never>(() => {}));
    const view = render(<DiffScreen project="shop" api={api} onBack={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("diff-compare")).toBeEnabled());
    fireEvent.click(screen.getByTestId("diff-compare"));
    await screen.findByTestId("diff-loading");
    const ticket = (api.compare as ReturnType<typeof vi.fn>).mock.calls[0]![2];
    view.unmount();
    expect(api.cancel).toHaveBeenCalledWith(ticket);
  });

  it("two backups of the same minute read differently (their seconds), others by type and minute", () => {
    const names = backupNames([
      { id: "a", created_at: "2026-11-25T10:00:05Z", path: "/a", backup_type: "database" },
      { id: "b", created_at: "2026-11-25T10:00:41Z", path: "/b", backup_type: "database" },
      { id: "c", created_at: "2026-11-24T10:00:41Z", path: "/c", backup_type: "database" },
    ]);
    expect(new Set(names).size).toBe(3);
    expect(names[0]).toMatch(/^Database backup of \d{4}-\d\d-\d\d \d\d:\d\d:05$/);
    expect(names[1]).toMatch(/:41$/);
    expect(names[2]).toMatch(/^Database backup of \d{4}-\d\d-\d\d \d\d:\d\d$/);
  });

  it("marks each changed row by its kind in its colour: added +, removed −, changed ~ with before → after (diff-01)", async () => {
    const api = fakeApi();
    const mixed: RowChange[] = [
      { kind: "added", key: [{ column: "id", value: "301" }], columns: [{ column: "total", before: null, after: "5.00" }] },
      { kind: "removed", key: [{ column: "id", value: "7" }], columns: [{ column: "total", before: "14.00", after: null }] },
      { kind: "changed", key: [{ column: "id", value: "1" }], columns: [{ column: "total", before: "2.00", after: "1.00" }] },
    ];
    api.rows = vi.fn(() => ok({ ...table({ table: "orders", status: "changed" }), rows: mixed, rows_offset: 0, rows_more: false }));
    render(<DiffScreen project="shop" api={api} onBack={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("diff-compare")).toBeEnabled());
    fireEvent.click(screen.getByTestId("diff-compare"));
    fireEvent.click((await screen.findAllByTestId("diff-open-table"))[0]!);
    await waitFor(() => expect(screen.getAllByTestId("diff-row")).toHaveLength(3));
    const [added, removed, changed] = screen.getAllByTestId("diff-row");
    expect(added).toHaveClass("diff-row", "diff-added");
    expect(removed).toHaveClass("diff-row", "diff-removed");
    expect(changed).toHaveClass("diff-row", "diff-changed");
    expect(screen.getAllByTestId("diff-mark").map((m) => m.textContent)).toEqual(["+", "−", "~"]);
    expect(added).toHaveTextContent("id=301 added");
    expect(changed!.querySelector(".diff-before")).toHaveTextContent("2.00");
    expect(changed!.querySelector(".diff-after")).toHaveTextContent("1.00");
    expect(changed!.querySelector("[data-testid=diff-value]")).toHaveTextContent("total: 2.00 → 1.00");
    // The colours are the theme's (light and dark), one per kind; no browser bullets.
    const css = readFileSync(resolve(__dirname, "diff.css"), "utf8");
    const body = (sel: string) => css.slice(css.indexOf(`${sel} {`), css.indexOf("}", css.indexOf(`${sel} {`)));
    expect(body(".diff-added")).toContain("border-left-color: var(--ok)");
    expect(body(".diff-removed")).toContain("border-left-color: var(--danger-text)");
    expect(body(".diff-changed")).toContain("border-left-color: var(--warn)");
    expect(body(".diff-added :is(.diff-mark, .diff-kind)")).toContain("color: var(--ok)");
    expect(body(".diff-removed :is(.diff-mark, .diff-kind)")).toContain("color: var(--danger-text)");
    expect(body(".diff-changed :is(.diff-mark, .diff-kind)")).toContain("color: var(--warn)");
    expect(body(".diff-rows")).toContain("list-style: none");
  });

  it("ticks removed and changed rows (not added ones) and recovers them from the older side by their keys (issue 64)", async () => {
    const api = fakeApi();
    const mixed: RowChange[] = [
      { kind: "added", key: [{ column: "id", value: "301" }], columns: [{ column: "total", before: null, after: "5.00" }] },
      { kind: "removed", key: [{ column: "id", value: "7" }], columns: [{ column: "total", before: "14.00", after: null }] },
      { kind: "removed", key: [{ column: "id", value: "8" }], columns: [{ column: "total", before: "3.00", after: null }] },
      { kind: "changed", key: [{ column: "id", value: "1" }], columns: [{ column: "total", before: "2.00", after: "1.00" }] },
    ];
    api.rows = vi.fn(() => ok({ ...table({ table: "orders", status: "changed", key: ["id"] }), rows: mixed, rows_offset: 0, rows_more: false }));
    const plan = vi.fn(() => Promise.resolve({ ok: false as const, error: { code: "invalid_input" as const, message: "stop here", hint: null, retryable: false } }));
    const recover = { api: { plan, start: vi.fn(), undo: vi.fn(), follow: vi.fn(), cancel: vi.fn() }, projects: ["shop", "staging"] };
    render(<DiffScreen project="shop" api={api} onBack={() => {}} recover={recover} />);
    await waitFor(() => expect(screen.getByTestId("diff-compare")).toBeEnabled());
    fireEvent.click(screen.getByTestId("diff-compare"));
    fireEvent.click((await screen.findAllByTestId("diff-open-table"))[0]!);
    await waitFor(() => expect(screen.getAllByTestId("diff-row")).toHaveLength(4));
    const [added, removed] = screen.getAllByTestId("diff-row");
    expect(added!.querySelector("[data-testid=diff-row-tick]")).toBeNull();
    expect(screen.getAllByTestId("diff-row-tick")).toHaveLength(3);
    expect(screen.queryByTestId("diff-recover")).toBeNull();
    // One removed row, then the page's: the added row stays out.
    fireEvent.click(removed!.querySelector("[data-testid=diff-row-tick]")!);
    expect(screen.getByTestId("diff-chosen")).toHaveTextContent("1 row ticked");
    fireEvent.click(screen.getByTestId("diff-tick-page"));
    expect(screen.getByTestId("diff-chosen")).toHaveTextContent("3 rows ticked");
    fireEvent.click(screen.getByTestId("diff-recover"));
    expect(screen.getByTestId("recover-where")).toHaveTextContent("The 3 rows you ticked (id 7, 8 and 1)");
    // A changed row comes back over the newer values: the wizard starts at Overwrite.
    expect(screen.getByTestId("recover-update")).toBeChecked();
    fireEvent.click(screen.getByTestId("recover-plan"));
    await waitFor(() => expect(plan).toHaveBeenCalled());
    const asked = (plan.mock.calls[0] as unknown as [RecoverRequest])[0];
    expect(asked.archive).toBe("b1-older");
    expect(asked.rows.table).toBe('"public"."orders"');
    expect(asked.rows.keys).toEqual({ columns: ["id"], values: [["7"], ["8"], ["1"]] });
    expect(asked.rows.on_conflict).toBe("update");
    expect(asked.to).toEqual({ project: "shop" });
    // Closing the wizard keeps the ticks; removed rows only start at Keep. (Close is disabled
    // while the plan is asked: wait for its answer, or a slow machine clicks a disabled button.)
    expect(await screen.findByTestId("recover-error")).toHaveTextContent("stop here");
    expect(screen.getByTestId("recover-close")).toBeEnabled();
    fireEvent.click(screen.getByTestId("recover-close"));
    fireEvent.click(screen.getAllByTestId("diff-row-tick")[2]!);
    fireEvent.click(screen.getByTestId("diff-recover"));
    expect(screen.getByTestId("recover-keep")).toBeChecked();
  });

  it("a table compared by whole rows offers no ticks and says why", async () => {
    const api = fakeApi();
    const rows: RowChange[] = [{ kind: "removed", key: [], columns: [{ column: "total", before: "14.00", after: null }] }];
    api.rows = vi.fn(() => ok({ ...table({ table: "log", status: "changed", compared_by: "whole_row" }), rows, rows_offset: 0, rows_more: false }));
    const recover = { api: { plan: vi.fn(), start: vi.fn(), undo: vi.fn(), follow: vi.fn(), cancel: vi.fn() }, projects: ["shop"] };
    render(<DiffScreen project="shop" api={api} onBack={() => {}} recover={recover} />);
    await waitFor(() => expect(screen.getByTestId("diff-compare")).toBeEnabled());
    fireEvent.click(screen.getByTestId("diff-compare"));
    fireEvent.click((await screen.findAllByTestId("diff-open-table"))[0]!);
    await waitFor(() => expect(screen.getAllByTestId("diff-row")).toHaveLength(1));
    expect(screen.queryByTestId("diff-row-tick")).toBeNull();
    expect(screen.getByTestId("diff-no-key")).toHaveTextContent("no primary key");
  });

  describe("a point in time", () => {
    /** The project captured from 05:00 to 06:00 UTC; each state made is `/at/N` (counted). */
    function capturedApi() {
      const api = fakeApi();
      let made = 0;
      api.windows = vi.fn(() =>
        ok([hourWindow()]),
      );
      api.openAt = vi.fn(() => ok(`/at/${(made += 1)}`));
      api.closeAt = vi.fn(() => Promise.resolve(true));
      return api;
    }

    it("is offered where the project is captured: the state made once by the engine, compared and read by its archive, removed on leaving", async () => {
      const api = capturedApi();
      const view = render(<DiffScreen project="shop" api={api} onBack={() => {}} />);
      await waitFor(() => expect(screen.getByTestId("diff-from")).toHaveTextContent("A point in time…"));
      fireEvent.change(screen.getByTestId("diff-from"), { target: { value: AT_TIME } });
      // The time field starts at the newest restorable moment (local time), the windows beside it.
      const field = screen.getByTestId("diff-at") as HTMLInputElement;
      expect(localFieldToUtc(field.value)).toBe("2026-11-26T06:00:00Z");
      expect(screen.getByTestId("diff-at-windows")).toHaveTextContent(/restorable 2026-11-2\d \d\d:00:00 to 2026-11-2\d \d\d:00:00/);
      fireEvent.change(field, { target: { value: "" } });
      expect(screen.getByTestId("diff-compare")).toBeDisabled();
      const local = (iso: string) => {
        const d = new Date(iso);
        const p = (n: number) => String(n).padStart(2, "0");
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
      };
      fireEvent.change(field, { target: { value: local("2026-11-26T05:30:15Z") } });
      fireEvent.click(screen.getByTestId("diff-compare"));
      await waitFor(() => expect(screen.getAllByTestId("diff-table")).toHaveLength(4));
      expect(api.openAt).toHaveBeenCalledWith("shop", "2026-11-26T05:30:15Z", expect.any(Function));
      expect(api.compare).toHaveBeenCalledWith("/at/1", "b2-newest", expect.any(String));
      // A table's rows come from the same state, not a new one.
      fireEvent.click(screen.getAllByTestId("diff-open-table")[0]!);
      await waitFor(() => expect(screen.getAllByTestId("diff-row")).toHaveLength(ROW_PAGE));
      expect(api.rows).toHaveBeenLastCalledWith("/at/1", "b2-newest", "public", "orders", 0, ROW_PAGE, expect.any(String));
      // Compared again at the same time: the state is reused; at another time: a new one, the old removed.
      fireEvent.click(screen.getByTestId("diff-compare"));
      await waitFor(() => expect(api.compare).toHaveBeenCalledTimes(2));
      expect(api.openAt).toHaveBeenCalledTimes(1);
      fireEvent.change(screen.getByTestId("diff-at"), { target: { value: local("2026-11-26T05:45:00Z") } });
      fireEvent.click(screen.getByTestId("diff-compare"));
      await waitFor(() => expect(api.compare).toHaveBeenLastCalledWith("/at/2", "b2-newest", expect.any(String)));
      expect(api.closeAt).toHaveBeenCalledWith("/at/1");
      view.unmount();
      expect(api.closeAt).toHaveBeenLastCalledWith("/at/2");
    });

    it("is compared only once the restorable times are read (they move the Compare button)", async () => {
      const api = capturedApi();
      let answer: (v: unknown) => void = () => {};
      api.windows = vi.fn(() => new Promise((resolve) => (answer = resolve))) as NonNullable<DiffApi["windows"]>;
      render(<DiffScreen project="shop" api={api} onBack={() => {}} initialAt="2026-11-26T05:30:15Z" />);
      await waitFor(() => expect(screen.getByTestId("diff-to")).toHaveValue("shop:live"));
      expect(screen.getByTestId("diff-compare")).toBeDisabled();
      answer({ ok: true, data: [hourWindow()] });
      await waitFor(() => expect(screen.getByTestId("diff-compare")).toBeEnabled());
      expect(screen.getByTestId("diff-at-windows")).toHaveTextContent(/restorable 2026-11-2\d/);
    });

    it("is not offered without a restorable window", async () => {
      const api = capturedApi();
      api.windows = vi.fn(() => ok([]));
      render(<DiffScreen project="shop" api={api} onBack={() => {}} />);
      await waitFor(() => expect(screen.getByTestId("diff-compare")).toBeEnabled());
      expect(screen.getByTestId("diff-from")).not.toHaveTextContent("A point in time");
    });

    it("says the engine's refusal and compares nothing; Cancel while it is made stops the job", async () => {
      const api = capturedApi();
      api.openAt = vi.fn(() =>
        Promise.resolve({
          ok: false as const,
          error: { code: "not_found" as const, message: "no restorable window holds that time; the nearest: 2026-11-26T05:00:00Z", hint: null, retryable: false },
        }),
      );
      render(<DiffScreen project="shop" api={api} onBack={() => {}} />);
      await waitFor(() => expect(screen.getByTestId("diff-from")).toHaveTextContent("A point in time…"));
      fireEvent.change(screen.getByTestId("diff-from"), { target: { value: AT_TIME } });
      fireEvent.click(screen.getByTestId("diff-compare"));
      expect(await screen.findByTestId("diff-error")).toHaveTextContent("the nearest: 2026-11-26T05:00:00Z");
      expect(api.compare).not.toHaveBeenCalled();

      const stop = vi.fn();
      let finish: (v: unknown) => void = () => {};
      api.openAt = vi.fn((_p: string, _a: string, started?: (cancel: () => void) => void) => {
        started?.(stop);
        return new Promise((resolve) => (finish = resolve));
      }) as NonNullable<DiffApi["openAt"]>;
      fireEvent.click(screen.getByTestId("diff-compare"));
      expect(await screen.findByTestId("diff-making")).toHaveTextContent(/Making shop as it was at/);
      fireEvent.click(screen.getByTestId("diff-cancel"));
      expect(stop).toHaveBeenCalled();
      expect(screen.getByTestId("diff-cancelled")).toBeInTheDocument();
      // The job's state, made after all, is removed rather than held.
      finish({ ok: true, data: "/at/late" });
      await waitFor(() => expect(api.closeAt).toHaveBeenCalledWith("/at/late"));
      expect(api.compare).not.toHaveBeenCalled();
    });
  });
});
