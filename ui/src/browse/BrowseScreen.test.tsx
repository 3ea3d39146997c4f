import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { RecoverRequest } from "../bindings";
import { type BrowseApi, BrowseScreen, OBJECT_PAGE_SIZE, PAGE_SIZE } from "./BrowseScreen";

const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });

/** A table of 120 rows "1".."120", note "n<i>"; the fake engine pages and filters it. */
function fakeApi(): BrowseApi {
  const all = Array.from({ length: 120 }, (_, i) => [String(i + 1), `n${i + 1}`]);
  return {
    contents: vi.fn(() =>
      ok({
        tables: [{ schema: "public", name: "orders", rows: 120, bytes: 4096, unreadable: null }],
        objects: [{ bucket: "docs", key: "a.txt", size: 5, content_type: "text/plain" }],
        note: null,
        moreObjects: 0,
      }),
    ),
    rows: vi.fn((_a: string, _s: string, _t: string, offset: number, limit: number, filter: string) => {
      const rows = all.filter((r) => filter === "" || r.some((v) => v.includes(filter)));
      return ok({
        columns: [
          { name: "id", type: "integer" },
          { name: "note", type: "text" },
        ],
        rows: rows.slice(offset, offset + limit),
        offset,
        more: offset + limit < rows.length,
      });
    }),
    objects: vi.fn(() => ok({ objects: [], total: 0, more: false })),
    exportCsv: vi.fn(() => ok("/tmp/orders.csv")),
    preview: vi.fn(() => ok({ kind: "text" as const, text: "hello", truncated: false })),
    saveObject: vi.fn(() => ok(null)),
  };
}

describe("BrowseScreen", () => {
  it("never names a new filter over the rows of the old one, not even for one render", async () => {
    const api = fakeApi();
    const plain = api.rows;
    let answer: () => void = () => {};
    // The filtered page is answered only when the test says so.
    api.rows = vi.fn((...args: Parameters<BrowseApi["rows"]>) =>
      args[5] === "n11" ? new Promise((resolve) => (answer = () => resolve(plain(...args)))) : plain(...args),
    ) as BrowseApi["rows"];
    render(<BrowseScreen archive="/b/shop.tar.gz" label="shop" api={api} onBack={() => {}} />);
    fireEvent.click(await screen.findByTestId("browse-table"));
    await waitFor(() => expect(screen.getAllByTestId("browse-row")).toHaveLength(PAGE_SIZE));
    // Every text the screen writes from the click on, each render's included.
    const text = (r: MutationRecord) => (r.type === "characterData" ? (r.target.textContent ?? "") : Array.from(r.addedNodes, (n) => n.textContent ?? "").join(""));
    const written: string[] = [];
    const seen = new MutationObserver((records) => written.push(...records.map(text)));
    seen.observe(document.body, { subtree: true, childList: true, characterData: true });
    fireEvent.change(screen.getByTestId("browse-filter"), { target: { value: "n11" } });
    fireEvent.click(screen.getByTestId("browse-filter-apply"));
    await waitFor(() => expect(screen.getByTestId("browse-rows-loading")).toBeInTheDocument());
    written.push(...seen.takeRecords().map(text));
    seen.disconnect();
    // While the filtered rows are read, nothing said "matching" (the old rows were on screen).
    expect(written.filter((t) => t.includes("matching"))).toEqual([]);
    answer();
    await waitFor(() => expect(screen.getAllByTestId("browse-row")).toHaveLength(11));
    expect(screen.getByTestId("browse-range")).toHaveTextContent("Rows 1–11 matching “n11”");
  });

  it("opens a table, pages it, filters it and exports it", async () => {
    const api = fakeApi();
    render(<BrowseScreen archive="/b/shop.tar.gz" label="shop" api={api} onBack={() => {}} />);
    fireEvent.click(await screen.findByTestId("browse-table"));
    await waitFor(() => expect(screen.getAllByTestId("browse-row")).toHaveLength(PAGE_SIZE));
    expect(screen.getByTestId("browse-range")).toHaveTextContent("Rows 1–50");
    fireEvent.click(screen.getByTestId("browse-next"));
    await waitFor(() => expect(screen.getByTestId("browse-range")).toHaveTextContent("Rows 51–100"));
    expect(api.rows).toHaveBeenLastCalledWith("/b/shop.tar.gz", "public", "orders", 50, PAGE_SIZE, "");
    fireEvent.change(screen.getByTestId("browse-filter"), { target: { value: "n11" } });
    fireEvent.click(screen.getByTestId("browse-filter-apply"));
    // A new filter starts at the first page: n11, n110..n119.
    await waitFor(() => expect(screen.getAllByTestId("browse-row")).toHaveLength(11));
    expect(screen.getByTestId("browse-range")).toHaveTextContent("Rows 1–11 matching “n11”");
    fireEvent.click(screen.getByTestId("browse-export-csv"));
    expect(await screen.findByTestId("browse-saved")).toHaveTextContent("/tmp/orders.csv");
    expect(api.exportCsv).toHaveBeenCalledWith("/b/shop.tar.gz", "public", "orders");
  });

  it("says what a selective backup left out, and nothing for a whole one", async () => {
    const api = fakeApi();
    const { unmount } = render(<BrowseScreen archive="/b/shop.tar.gz" label="shop" api={api} onBack={() => {}} />);
    await screen.findByTestId("browse-table");
    expect(screen.queryByTestId("browse-left-out")).toBeNull();
    unmount();
    const base = await (fakeApi().contents("/b/shop.tar.gz") as ReturnType<BrowseApi["contents"]>);
    api.contents = vi.fn(() => ok({ ...(base.ok ? base.data : ({} as never)), leftOut: ["the schema audit", "the rows of public.logs (the table is in the backup, empty)"] }));
    render(<BrowseScreen archive="/b/shop.tar.gz" label="shop" api={api} onBack={() => {}} />);
    expect(await screen.findByTestId("browse-left-out")).toHaveTextContent(
      "Left out of this backup: the schema audit; the rows of public.logs (the table is in the backup, empty). It was a selective backup",
    );
  });

  it("shows the archive's path under the title on one line, shortened in the middle, with Copy (issue 44)", async () => {
    const path = "/tmp/offsite-e2e.hOcAVz/recover-light-Kuf4Yw/offsite-data/backups/shop/shop_20261126_093929_database.tar.zst";
    render(<BrowseScreen archive={path} label="shop" api={fakeApi()} onBack={() => {}} />);
    const line = screen.getByTestId("browse-archive");
    expect(line.querySelector(".middle-ellipsis")).toHaveAttribute("title", path);
    expect(line.querySelector(".middle-ellipsis-tail")).toHaveTextContent(/^shop_20261126_093929_database\.tar\.zst$/);
    expect(screen.getByTestId("browse-archive-copy")).toBeInTheDocument();
    await screen.findByTestId("browse-table");
  });

  it("previews an object; a cancelled save says nothing", async () => {
    const api = fakeApi();
    render(<BrowseScreen archive="/b/shop.tar.gz" label="shop" api={api} onBack={() => {}} />);
    fireEvent.click(await screen.findByTestId("browse-object"));
    expect(await screen.findByTestId("browse-preview-text")).toHaveTextContent("hello");
    fireEvent.click(screen.getByTestId("browse-object-save"));
    await waitFor(() => expect(api.saveObject).toHaveBeenCalledWith("/b/shop.tar.gz", "docs", "a.txt"));
    expect(screen.queryByTestId("browse-saved")).toBeNull();
  });

  it("reaches every one of 650 objects with “Show more” and finds them by name", async () => {
    const api = fakeApi();
    const all = Array.from({ length: 650 }, (_, i) => ({ bucket: "avatars", key: `u/${String(i).padStart(4, "0")}.png`, size: 1, content_type: null }));
    const first = all.slice(0, OBJECT_PAGE_SIZE);
    api.contents = vi.fn(() => ok({ tables: [], objects: first, note: null, moreObjects: all.length - first.length }));
    api.objects = vi.fn((_a: string, search: string, offset: number, limit: number) => {
      const hits = all.filter((o) => `${o.bucket}/${o.key}`.toLowerCase().includes(search.toLowerCase()));
      return ok({ objects: hits.slice(offset, offset + limit), total: hits.length, more: offset + limit < hits.length });
    });
    render(<BrowseScreen archive="/b/shop.tar.gz" label="shop" api={api} onBack={() => {}} />);
    await waitFor(() => expect(screen.getAllByTestId("browse-object")).toHaveLength(OBJECT_PAGE_SIZE));
    expect(screen.getByTestId("browse-objects-count")).toHaveTextContent(`200 of 650 objects`);
    for (const shown of [400, 600, 650]) {
      fireEvent.click(screen.getByTestId("browse-more-objects"));
      await waitFor(() => expect(screen.getAllByTestId("browse-object")).toHaveLength(shown));
    }
    expect(api.objects).toHaveBeenLastCalledWith("/b/shop.tar.gz", "", 600, OBJECT_PAGE_SIZE);
    expect(screen.queryByTestId("browse-more-objects")).toBeNull();
    const keys = screen.getAllByTestId("browse-object").map((b) => b.getAttribute("data-key"));
    expect(new Set(keys).size).toBe(650);
    expect(keys[649]).toBe("avatars/u/0649.png");
    // A search starts over from its first page.
    fireEvent.change(screen.getByTestId("browse-object-filter"), { target: { value: "U/064" } });
    fireEvent.click(screen.getByTestId("browse-object-filter-apply"));
    await waitFor(() => expect(screen.getAllByTestId("browse-object")).toHaveLength(10));
    expect(api.objects).toHaveBeenLastCalledWith("/b/shop.tar.gz", "U/064", 0, OBJECT_PAGE_SIZE);
    expect(screen.getByTestId("browse-objects-count")).toHaveTextContent("10 of 10 objects matching “U/064”");
    fireEvent.click(screen.getAllByTestId("browse-object")[0]!);
    expect(await screen.findByTestId("browse-preview")).toHaveAttribute("data-key", "avatars/u/0640.png");
  }, 30_000); // 650 rows rendered in jsdom on a loaded machine

  it("shows why an archive cannot be browsed", async () => {
    const api = fakeApi();
    api.contents = () =>
      Promise.resolve({ ok: false as const, error: { code: "wrong_key", message: "cannot decrypt", hint: null, retryable: false } });
    render(<BrowseScreen archive="/b/x.tar.gz.age" label="x" api={api} onBack={() => {}} />);
    expect(await screen.findByTestId("browse-error")).toHaveAttribute("data-code", "wrong_key");
  });

  it("filters by column = value and offers Recover these rows… for it", async () => {
    const api = fakeApi();
    const recover = {
      api: { plan: vi.fn(), start: vi.fn(), undo: vi.fn(), follow: vi.fn(), cancel: vi.fn() },
      projects: ["shop"],
    };
    render(<BrowseScreen archive="/b/shop.tar.gz" label="shop" api={api} onBack={() => {}} recover={recover} />);
    fireEvent.click(await screen.findByTestId("browse-table"));
    await waitFor(() => expect(screen.getAllByTestId("browse-row")).toHaveLength(PAGE_SIZE));
    // A contains-filter offers no recovery: the engine recovers by COLUMN=VALUE only.
    fireEvent.change(screen.getByTestId("browse-filter"), { target: { value: "n7" } });
    fireEvent.click(screen.getByTestId("browse-filter-apply"));
    await waitFor(() => expect(screen.getByTestId("browse-range")).toHaveTextContent("matching “n7”"));
    expect(screen.queryByTestId("browse-recover")).toBeNull();
    fireEvent.change(screen.getByTestId("browse-filter-column"), { target: { value: "id" } });
    fireEvent.change(screen.getByTestId("browse-filter"), { target: { value: "7" } });
    fireEvent.click(screen.getByTestId("browse-filter-apply"));
    await waitFor(() =>
      expect(api.rows).toHaveBeenLastCalledWith("/b/shop.tar.gz", "public", "orders", 0, PAGE_SIZE, "", { column: "id", value: "7" }),
    );
    fireEvent.click(await screen.findByTestId("browse-recover"));
    expect(screen.getByTestId("recover-wizard")).toHaveTextContent("Recover rows of public.orders");
    expect(screen.getByTestId("recover-where")).toHaveTextContent("id = 7");
    fireEvent.click(screen.getByTestId("recover-close"));
    expect(await screen.findByTestId("browse-pager")).toBeInTheDocument();
  });

  it("ticks rows under any filter, every row of a page, across pages, and recovers the ticked rows by the engine's keys (issue 64)", async () => {
    const api = fakeApi();
    // The engine names each row by its key (here the id column).
    const rows = api.rows;
    api.rows = vi.fn(async (...args: Parameters<BrowseApi["rows"]>) => {
      const r = await rows(...args);
      if (!r.ok) return r;
      return { ok: true as const, data: { ...r.data, key: ["id"], rowKeys: r.data.rows.map((x) => [x[0] ?? ""]) } };
    });
    const plan = vi.fn(() => Promise.resolve({ ok: false as const, error: { code: "invalid_input" as const, message: "stop here", hint: null, retryable: false } }));
    const recover = { api: { plan, start: vi.fn(), undo: vi.fn(), follow: vi.fn(), cancel: vi.fn() }, projects: ["shop"] };
    render(<BrowseScreen archive="/b/shop.tar.gz" label="shop" api={api} onBack={() => {}} recover={recover} />);
    fireEvent.click(await screen.findByTestId("browse-table"));
    await waitFor(() => expect(screen.getAllByTestId("browse-row")).toHaveLength(PAGE_SIZE));
    expect(screen.queryByTestId("browse-recover-chosen")).toBeNull();
    // A contains-filter (not column = value): rows 11 and 110 ticked one by one.
    fireEvent.change(screen.getByTestId("browse-filter"), { target: { value: "n11" } });
    fireEvent.click(screen.getByTestId("browse-filter-apply"));
    await waitFor(() => expect(screen.getAllByTestId("browse-row")).toHaveLength(11));
    const ticks = screen.getAllByTestId("browse-row-tick");
    fireEvent.click(ticks[0]!);
    fireEvent.click(ticks[1]!);
    expect(screen.getByTestId("browse-chosen")).toHaveTextContent("2 rows ticked");
    // Every row of another page: 51..100 (no filter, page 2); then one of them unticked.
    fireEvent.change(screen.getByTestId("browse-filter"), { target: { value: "" } });
    fireEvent.click(screen.getByTestId("browse-filter-apply"));
    await waitFor(() => expect(screen.getAllByTestId("browse-row")).toHaveLength(PAGE_SIZE));
    fireEvent.click(screen.getByTestId("browse-next"));
    await waitFor(() => expect(screen.getByTestId("browse-range")).toHaveTextContent("Rows 51–100"));
    fireEvent.click(screen.getByTestId("browse-tick-page"));
    expect(screen.getByTestId("browse-tick-page")).toBeChecked();
    fireEvent.click(screen.getAllByTestId("browse-row-tick")[0]!);
    expect(screen.getByTestId("browse-tick-page")).not.toBeChecked();
    expect(screen.getByTestId("browse-chosen")).toHaveTextContent("51 rows ticked");
    // Back on page 1 the ticks made under the filter are still there.
    fireEvent.click(screen.getByTestId("browse-prev"));
    await waitFor(() => expect(screen.getByTestId("browse-range")).toHaveTextContent("Rows 1–50"));
    expect(screen.getAllByTestId("browse-row-tick")[10]).toBeChecked();
    fireEvent.click(screen.getByTestId("browse-recover-chosen"));
    expect(screen.getByTestId("recover-where")).toHaveTextContent("The 51 rows you ticked (id 11, 110, 52, 53, 54 and 46 more)");
    fireEvent.click(screen.getByTestId("recover-plan"));
    await waitFor(() => expect(plan).toHaveBeenCalled());
    const asked = (plan.mock.calls[0] as unknown as [RecoverRequest])[0];
    expect(asked.rows.filters).toEqual([]);
    expect(asked.rows.keys?.columns).toEqual(["id"]);
    expect(asked.rows.keys?.values).toHaveLength(51);
    expect(asked.rows.keys?.values).toContainEqual(["110"]);
    expect(asked.rows.keys?.values).not.toContainEqual(["51"]);
    expect(asked.dry_run).toBe(true);
    // Another table starts the choice again.
    fireEvent.click(screen.getByTestId("recover-close"));
    expect(screen.getByTestId("browse-chosen")).toHaveTextContent("51 rows ticked");
    fireEvent.click(screen.getByTestId("browse-clear-chosen"));
    expect(screen.queryByTestId("browse-chosen")).toBeNull();
  });

  it("says why a table without a key cannot be ticked", async () => {
    const api = fakeApi();
    const recover = { api: { plan: vi.fn(), start: vi.fn(), undo: vi.fn(), follow: vi.fn(), cancel: vi.fn() }, projects: ["shop"] };
    render(<BrowseScreen archive="/b/shop.tar.gz" label="shop" api={api} onBack={() => {}} recover={recover} />);
    fireEvent.click(await screen.findByTestId("browse-table"));
    await waitFor(() => expect(screen.getAllByTestId("browse-row")).toHaveLength(PAGE_SIZE));
    expect(screen.queryByTestId("browse-row-tick")).toBeNull();
    expect(screen.getByTestId("browse-no-key")).toHaveTextContent("no primary key");
  });
});
