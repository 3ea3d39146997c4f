import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { bySchema, TableList } from "./TableList";
import { rowRange, TablePager, type RowsPage } from "./TablePager";
import { ObjectList, previewImageSrc } from "./ObjectList";

const tables = [
  { schema: "public", name: "orders", rows: 5000, bytes: 2048, unreadable: null },
  { schema: "auth", name: "users", rows: 12, bytes: 512, unreadable: null },
  { schema: "public", name: "blobs", rows: null, bytes: null, unreadable: "its data is not in a COPY block" },
];

const page = (offset: number, n: number, more: boolean): RowsPage => ({
  columns: [
    { name: "id", type: "integer" },
    { name: "note", type: "text" },
  ],
  rows: Array.from({ length: n }, (_, i) => [String(offset + i + 1), i === 0 ? null : `n${offset + i + 1}`]),
  offset,
  more,
});

describe("browse: tables", () => {
  it("groups tables by schema with row counts and sizes, and opens one", () => {
    expect(bySchema(tables).map(([s, ts]) => [s, ts.map((t) => t.name)])).toEqual([
      ["auth", ["users"]],
      ["public", ["blobs", "orders"]],
    ]);
    const onOpen = vi.fn();
    render(<TableList tables={tables} selected={null} onOpen={onOpen} />);
    const orders = screen.getAllByTestId("browse-table").find((b) => b.getAttribute("data-table") === "public.orders")!;
    expect(orders.parentElement).toHaveTextContent("5,000 rows · 2.0 KB");
    expect(screen.getAllByTestId("browse-table-facts")[1]).toHaveTextContent("not readable here");
    fireEvent.click(orders);
    expect(onOpen).toHaveBeenCalledWith("public", "orders");
  });
});

describe("browse: a table page by page", () => {
  it("shows the columns and rows, NULL as NULL, and asks for the next and previous page", () => {
    const onPage = vi.fn();
    const { rerender } = render(
      <TablePager table="public.orders" state={{ status: "ready", page: page(0, 50, true) }} pageSize={50} filter="" onFilter={() => {}} onPage={onPage} />,
    );
    expect(screen.getAllByTestId("browse-column").map((c) => c.textContent)).toEqual(["id integer", "note text"]);
    expect(screen.getAllByTestId("browse-row")).toHaveLength(50);
    expect(screen.getAllByTestId("browse-row")[0]).toHaveTextContent("1NULL");
    expect(screen.getByTestId("browse-range")).toHaveTextContent("Rows 1–50");
    expect(screen.getByTestId("browse-prev")).toBeDisabled();
    fireEvent.click(screen.getByTestId("browse-next"));
    expect(onPage).toHaveBeenLastCalledWith(50);
    rerender(
      <TablePager table="public.orders" state={{ status: "ready", page: page(50, 7, false) }} pageSize={50} filter="" onFilter={() => {}} onPage={onPage} />,
    );
    expect(screen.getByTestId("browse-range")).toHaveTextContent("Rows 51–57");
    expect(screen.getByTestId("browse-next")).toBeDisabled();
    fireEvent.click(screen.getByTestId("browse-prev"));
    expect(onPage).toHaveBeenLastCalledWith(0);
  });

  it("says why some column types are not shown", () => {
    const p = { ...page(0, 1, false), columns: [{ name: "id", type: null }], typesNote: "column types are not shown: no CREATE TABLE" };
    render(<TablePager table="t" state={{ status: "ready", page: p }} pageSize={50} filter="" onFilter={() => {}} onPage={() => {}} />);
    expect(screen.getAllByTestId("browse-column").map((c) => c.textContent)).toEqual(["id"]);
    expect(screen.getByTestId("browse-types-note")).toHaveTextContent("no CREATE TABLE");
  });

  it("applies the filter on submit and exports on request", () => {
    const onFilter = vi.fn();
    const onExport = vi.fn();
    render(
      <TablePager table="t" state={{ status: "loading" }} pageSize={50} filter="" onFilter={onFilter} onPage={() => {}} onExport={onExport} />,
    );
    expect(screen.getByTestId("browse-rows-loading")).toBeInTheDocument();
    fireEvent.change(screen.getByTestId("browse-filter"), { target: { value: " n42 " } });
    fireEvent.click(screen.getByTestId("browse-filter-apply"));
    expect(onFilter).toHaveBeenCalledWith("n42");
    fireEvent.click(screen.getByTestId("browse-export-csv"));
    expect(onExport).toHaveBeenCalled();
    expect(rowRange({ ...page(0, 0, false) })).toBe("No rows");
  });
});

describe("browse: storage objects", () => {
  const objects = [
    { bucket: "avatars", key: "a.png", size: 100, content_type: "image/png" },
    { bucket: "docs", key: "readme.txt", size: 20, content_type: "text/plain" },
  ];

  it("previews text and images, and saves the selected object", () => {
    const onSave = vi.fn();
    const { rerender } = render(
      <ObjectList
        objects={objects}
        selected="docs/readme.txt"
        onSelect={() => {}}
        preview={{ status: "ready", preview: { kind: "text", text: "hello", truncated: true } }}
        onSave={onSave}
      />,
    );
    expect(screen.getByTestId("browse-preview-text")).toHaveTextContent("hello …");
    fireEvent.click(screen.getByTestId("browse-object-save"));
    expect(onSave).toHaveBeenCalledWith(objects[1]);
    rerender(
      <ObjectList
        objects={objects}
        selected="avatars/a.png"
        onSelect={() => {}}
        preview={{ status: "ready", preview: { kind: "image", mime: "image/png", data_base64: "iVBORw0KGgo=" } }}
      />,
    );
    expect(screen.getByTestId("browse-preview-image")).toHaveAttribute("src", "data:image/png;base64,iVBORw0KGgo=");
  });

  it("pages and finds objects: a count, “Show more”, a search that keeps its box when nothing matches", () => {
    const onMore = vi.fn();
    const onSearch = vi.fn();
    const paging = { search: "", onSearch, total: 650, more: true, onMore, busy: false };
    const { rerender } = render(<ObjectList objects={objects} selected={null} onSelect={() => {}} preview={{ status: "idle" }} paging={paging} />);
    expect(screen.getByTestId("browse-objects-count")).toHaveTextContent("2 of 650 objects");
    expect(screen.getByTestId("browse-more-objects")).toHaveTextContent("Show more (648 more)");
    fireEvent.click(screen.getByTestId("browse-more-objects"));
    expect(onMore).toHaveBeenCalledTimes(1);
    fireEvent.change(screen.getByTestId("browse-object-filter"), { target: { value: " u/06 " } });
    fireEvent.click(screen.getByTestId("browse-object-filter-apply"));
    expect(onSearch).toHaveBeenCalledWith("u/06");
    rerender(
      <ObjectList objects={[]} selected={null} onSelect={() => {}} preview={{ status: "idle" }} paging={{ ...paging, search: "zzz", total: 0, more: false }} />,
    );
    expect(screen.getByTestId("browse-no-objects-match")).toHaveTextContent("No object’s name contains “zzz”");
    expect(screen.getByTestId("browse-object-filter")).toHaveValue("zzz");
    expect(screen.queryByTestId("browse-no-objects")).toBeNull();
    rerender(
      <ObjectList objects={objects} selected={null} onSelect={() => {}} preview={{ status: "idle" }} paging={{ ...paging, total: 2, more: false }} />,
    );
    expect(screen.queryByTestId("browse-more-objects")).toBeNull();
    expect(screen.getByTestId("browse-objects-count")).toHaveTextContent("2 of 2 objects");
  });

  it("never inlines an SVG or a payload that is not base64", () => {
    expect(previewImageSrc({ kind: "image", mime: "image/svg+xml", data_base64: "PHN2Zz4=" })).toBeNull();
    expect(previewImageSrc({ kind: "image", mime: "image/png", data_base64: "a\"onerror=" })).toBeNull();
  });
});
