import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type { DragDropEvent } from "@tauri-apps/api/webview";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { ErrorPayload, ImportPreview } from "../bindings";
import { DropZone, type Subscribe } from "./DropZone";

const PATH = "/home/ada/Downloads/shop_20261121_120000_database.tar.gz";
const pos = { x: 1, y: 1 } as never;

function preview(over: Partial<ImportPreview> = {}): ImportPreview {
  return {
    path: PATH,
    kind: "offsite_archive",
    size: 4196,
    project: "shop",
    backup_type: "database",
    created_at: "2026-11-21T12:00:00Z",
    source: { host: "db.example.com", port: 5432, database: "postgres", database_size: null, encoding: "UTF8" },
    server_version: "16.4",
    pg_dump_version: "16.4",
    tables: [
      { schema: "public", table: "orders", rows: 1000 },
      { schema: "public", table: "customers", rows: 500 },
    ],
    rows_recorded: true,
    members: [
      { name: "database.dump", size: 4096, sha256: "ab".repeat(32) },
      { name: "globals.sql", size: 100, sha256: "cd".repeat(32) },
    ],
    dump: null,
    has_globals: true,
    notes: [],
    ...over,
  };
}

/** A drag-and-drop source the test drives by hand. */
function fakeSource() {
  let handler: ((e: DragDropEvent) => void) | null = null;
  const unlisten = vi.fn();
  const subscribe: Subscribe = async (h) => {
    handler = h;
    return unlisten;
  };
  const send = (e: DragDropEvent) => act(() => handler?.(e));
  return { subscribe, send, unlisten };
}

function mockInspect(answer: ImportPreview | ErrorPayload) {
  const calls: string[] = [];
  mockIPC((cmd, args) => {
    calls.push(cmd);
    if (cmd === "inspect_import") {
      expect(args).toEqual({ path: PATH });
      if ("code" in answer) return Promise.reject(answer);
      return answer;
    }
    throw new Error(`unexpected command ${cmd}`);
  });
  return calls;
}

describe("DropZone", () => {
  it("shows the overlay only while a file is dragged over the window", async () => {
    const src = fakeSource();
    mockInspect(preview());
    const { unmount } = render(<DropZone subscribe={src.subscribe} />);
    expect(screen.queryByTestId("drop-overlay")).not.toBeInTheDocument();
    await src.send({ type: "enter", paths: [PATH], position: pos });
    expect(screen.getByTestId("drop-overlay")).toBeInTheDocument();
    await src.send({ type: "over", position: pos });
    expect(screen.getByTestId("drop-overlay")).toBeInTheDocument();
    await src.send({ type: "leave" });
    expect(screen.queryByTestId("drop-overlay")).not.toBeInTheDocument();
    expect(screen.queryByTestId("drop-preview")).not.toBeInTheDocument();
    unmount();
    expect(src.unlisten).toHaveBeenCalled();
  });

  it("previews a dropped Offsite archive and offers to restore it", async () => {
    const src = fakeSource();
    const calls = mockInspect(preview());
    const onRestore = vi.fn();
    render(<DropZone subscribe={src.subscribe} onRestore={onRestore} />);
    await src.send({ type: "enter", paths: [PATH], position: pos });
    await src.send({ type: "drop", paths: [PATH], position: pos });
    expect(screen.queryByTestId("drop-overlay")).not.toBeInTheDocument();
    expect(screen.getByTestId("drop-path")).toHaveTextContent(PATH);
    expect(await screen.findByTestId("drop-details")).toHaveAttribute("data-kind", "offsite_archive");
    expect(calls).toEqual(["inspect_import"]);
    expect(screen.getByTestId("drop-kind")).toHaveTextContent("Offsite archive");
    expect(screen.getByTestId("drop-project")).toHaveTextContent("shop");
    expect(screen.getByTestId("drop-counts")).toHaveTextContent("2 tables · 2 members · roles (globals.sql)");
    expect(screen.getByTestId("drop-tables")).toHaveTextContent("public.orders — 1,000 rows");
    fireEvent.click(screen.getByTestId("drop-restore"));
    expect(onRestore).toHaveBeenCalledWith(PATH);
    expect(screen.queryByTestId("drop-preview")).not.toBeInTheDocument();
  });

  it("previews a plain pg_dump file without row counts, and does not offer the wizard for it", async () => {
    const src = fakeSource();
    mockInspect(
      preview({
        kind: "pg_dump",
        project: "legacy",
        tables: [{ schema: "public", table: "t", rows: 0 }],
        rows_recorded: false,
        members: [],
        has_globals: false,
        notes: ["row counts were not recorded"],
      }),
    );
    render(<DropZone subscribe={src.subscribe} onRestore={vi.fn()} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    expect(await screen.findByTestId("drop-kind")).toHaveTextContent("pg_dump file");
    expect(screen.getByTestId("drop-tables")).toHaveTextContent("public.t");
    expect(screen.getByTestId("drop-tables")).not.toHaveTextContent("rows");
    expect(screen.getByTestId("drop-notes")).toHaveTextContent("row counts were not recorded");
    expect(screen.getByTestId("drop-import-hint")).toBeInTheDocument();
    expect(screen.queryByTestId("drop-restore")).not.toBeInTheDocument();
  });

  it("says clearly when the file is not a backup Offsite can read", async () => {
    const src = fakeSource();
    mockInspect({ code: "unsupported_format", message: "not a gzip file", hint: null, retryable: false });
    render(<DropZone subscribe={src.subscribe} onRestore={vi.fn()} />);
    await src.send({ type: "drop", paths: [PATH, "/tmp/other"], position: pos });
    const box = await screen.findByTestId("drop-unrecognised");
    expect(box).toHaveTextContent("This is not a backup Offsite can read.");
    expect(screen.getByTestId("drop-error")).toHaveAttribute("data-code", "unsupported_format");
    expect(screen.getByTestId("drop-ignored")).toHaveTextContent("1 more file was dropped");
    expect(screen.queryByTestId("drop-restore")).not.toBeInTheDocument();
    // Escape closes the preview.
    fireEvent.keyDown(document.body, { key: "Escape" });
    expect(screen.queryByTestId("drop-preview")).not.toBeInTheDocument();
  });

  it("other errors are shown as they are, and without a project there is no Restore", async () => {
    const src = fakeSource();
    mockInspect({ code: "not_found", message: "no such file", hint: "was it moved?", retryable: false });
    render(<DropZone subscribe={src.subscribe} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    expect(await screen.findByTestId("drop-error")).toHaveTextContent("was it moved?");
    expect(screen.queryByTestId("drop-unrecognised")).not.toBeInTheDocument();
  });

  it("offers no Restore when no project is open", async () => {
    const src = fakeSource();
    mockInspect(preview());
    render(<DropZone subscribe={src.subscribe} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    expect(await screen.findByTestId("drop-restore-hint")).toBeInTheDocument();
    expect(screen.queryByTestId("drop-restore")).not.toBeInTheDocument();
  });

  it("listens to the webview's drag-and-drop events by default", async () => {
    mockWindows("main");
    mockIPC((cmd) => (cmd === "inspect_import" ? preview() : undefined), { shouldMockEvents: true });
    render(<DropZone />);
    await waitFor(async () => {
      await act(() => emit("tauri://drag-enter", { paths: [PATH], position: { x: 0, y: 0 } }));
      expect(screen.getByTestId("drop-overlay")).toBeInTheDocument();
    });
    await act(() => emit("tauri://drag-drop", { paths: [PATH], position: { x: 0, y: 0 } }));
    expect(await screen.findByTestId("drop-details")).toBeInTheDocument();
  });
});
