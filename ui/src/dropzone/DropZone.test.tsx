import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type { DragDropEvent } from "@tauri-apps/api/webview";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { commands, type ErrorPayload, type Manifest } from "../bindings";
import { DropZone, type Subscribe } from "./DropZone";

const PATH = "/home/ada/Downloads/shop_20261121_120000_database.tar.gz";
const pos = { x: 1, y: 1 } as never;

const manifest: Manifest = {
  format_version: 1,
  backup_id: "b-1",
  project: "shop",
  type: "database",
  created_at: "2026-11-21T12:00:00Z",
  versions: { tool: "offsite 0.1.0", server: "16.4", pg_dump: "pg_dump (PostgreSQL) 16.4" },
  members: [
    { name: "database.dump", size: 4096, sha256: "ab".repeat(32) },
    { name: "globals.sql", size: 100, sha256: "cd".repeat(32) },
  ],
  tables: [
    { schema: "public", table: "orders", rows: 1000 },
    { schema: "public", table: "customers", rows: 500 },
  ],
  roles: ["postgres"],
  globals_note: null,
};

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

function mockInspect(answer: Manifest | ErrorPayload, calls: string[] = []) {
  mockIPC((cmd, args) => {
    calls.push(cmd);
    if (cmd === "inspect_archive") {
      expect(args).toEqual({ path: PATH });
      if ("code" in answer) return Promise.reject(answer);
      return answer;
    }
    throw new Error(`unexpected command ${cmd}`);
  });
  return calls;
}

// The generated bindings may or may not have `inspectImport` yet: each test says which it wants.
const bindings = commands as Record<string, unknown>;
const realImport = bindings.inspectImport;
function withoutImport() {
  delete bindings.inspectImport;
}

afterEach(() => {
  if (realImport === undefined) delete bindings.inspectImport;
  else bindings.inspectImport = realImport;
});

describe("DropZone", () => {
  it("shows the overlay only while a file is dragged over the window", async () => {
    withoutImport();
    const src = fakeSource();
    mockInspect(manifest);
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

  it("previews a dropped Offsite archive through inspectArchive while inspectImport is missing", async () => {
    withoutImport();
    const src = fakeSource();
    const calls = mockInspect(manifest);
    const onRestore = vi.fn();
    render(<DropZone subscribe={src.subscribe} onRestore={onRestore} />);
    await src.send({ type: "enter", paths: [PATH], position: pos });
    await src.send({ type: "drop", paths: [PATH], position: pos });
    expect(screen.queryByTestId("drop-overlay")).not.toBeInTheDocument();
    expect(screen.getByTestId("drop-path")).toHaveTextContent(PATH);
    expect(await screen.findByTestId("drop-details")).toHaveAttribute("data-via", "inspectArchive");
    expect(calls).toEqual(["inspect_archive"]);
    expect(screen.getByTestId("drop-kind")).toHaveTextContent("Offsite archive");
    expect(screen.getByTestId("drop-project")).toHaveTextContent("shop");
    expect(screen.getByTestId("drop-counts")).toHaveTextContent("2 tables · 2 members");
    expect(screen.getByTestId("drop-tables")).toHaveTextContent("public.orders — 1,000 rows");
    expect(screen.getByTestId("drop-not-wired")).toHaveTextContent("not wired yet");
    fireEvent.click(screen.getByTestId("drop-restore"));
    expect(onRestore).toHaveBeenCalledWith(PATH);
    expect(screen.queryByTestId("drop-preview")).not.toBeInTheDocument();
  });

  it("says clearly when the file is not a backup Offsite can read", async () => {
    withoutImport();
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
    withoutImport();
    const src = fakeSource();
    mockInspect({ code: "not_found", message: "no such file", hint: "was it moved?", retryable: false });
    render(<DropZone subscribe={src.subscribe} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    expect(await screen.findByTestId("drop-error")).toHaveTextContent("was it moved?");
    expect(screen.queryByTestId("drop-unrecognised")).not.toBeInTheDocument();
  });

  it("uses inspectImport when the bindings have it", async () => {
    const src = fakeSource();
    const inspectImport = vi.fn(async () => ({
      status: "ok" as const,
      data: {
        path: PATH,
        kind: "pg_dump",
        size: 2048,
        project: "legacy",
        backup_type: "database",
        created_at: "2026-11-20T08:00:00Z",
        server_version: "15.8",
        pg_dump_version: "15.8",
        tables: [{ schema: "public", table: "t", rows: 0 }],
        rows_recorded: false,
        members: [],
        notes: ["row counts were not recorded"],
      },
    }));
    bindings.inspectImport = inspectImport;
    mockIPC(() => {
      throw new Error("inspectArchive must not be used");
    });
    render(<DropZone subscribe={src.subscribe} onRestore={vi.fn()} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    expect(await screen.findByTestId("drop-details")).toHaveAttribute("data-via", "inspectImport");
    expect(inspectImport).toHaveBeenCalledWith(PATH);
    expect(screen.getByTestId("drop-kind")).toHaveTextContent("pg_dump file");
    expect(screen.getByTestId("drop-tables")).toHaveTextContent("public.t");
    expect(screen.getByTestId("drop-tables")).not.toHaveTextContent("rows");
    expect(screen.getByTestId("drop-notes")).toHaveTextContent("row counts were not recorded");
    expect(screen.queryByTestId("drop-not-wired")).not.toBeInTheDocument();
  });

  it.runIf(realImport !== undefined)("reads a dropped file through the generated inspectImport command", async () => {
    const src = fakeSource();
    const calls: string[] = [];
    mockIPC((cmd, args) => {
      calls.push(cmd);
      expect(args).toEqual({ path: PATH });
      return Promise.reject({ code: "unsupported_format", message: "not a backup", hint: null, retryable: false });
    });
    render(<DropZone subscribe={src.subscribe} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    expect(await screen.findByTestId("drop-unrecognised")).toBeInTheDocument();
    expect(calls).toEqual(["inspect_import"]);
  });

  it("listens to the webview's drag-and-drop events by default", async () => {
    withoutImport();
    mockWindows("main");
    mockIPC((cmd) => (cmd === "inspect_archive" ? manifest : undefined), { shouldMockEvents: true });
    render(<DropZone />);
    await waitFor(async () => {
      await act(() => emit("tauri://drag-enter", { paths: [PATH], position: { x: 0, y: 0 } }));
      expect(screen.getByTestId("drop-overlay")).toBeInTheDocument();
    });
    await act(() => emit("tauri://drag-drop", { paths: [PATH], position: { x: 0, y: 0 } }));
    expect(await screen.findByTestId("drop-details")).toBeInTheDocument();
  });
});
