import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type { DragDropEvent } from "@tauri-apps/api/webview";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { ReactNode } from "react";
import type { ErrorPayload, ImportPreview, ImportTo, JobFinished, ProjectSummary } from "../bindings";
import { StoreProvider } from "../store";
import { backup, summary } from "../screens/fixtures";
import { DropZone, type Subscribe } from "./DropZone";
import { ImportButton, ImportRequestProvider } from "./importRequest";

function Providers({ children }: { children: ReactNode }) {
  return (
    <StoreProvider>
      <ImportRequestProvider>{children}</ImportRequestProvider>
    </StoreProvider>
  );
}

const renderZone = (ui: ReactNode) => render(<Providers>{ui}</Providers>);

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

type Answers = {
  projects?: ProjectSummary[];
  startImport?: (args: { path: string; into: ImportTo; verify: boolean; database: string | null }) => unknown;
  pick?: string | null;
};

function mockInspect(answer: ImportPreview | ErrorPayload, more: Answers = {}) {
  const calls: string[] = [];
  mockIPC(
    (cmd, args) => {
      if (cmd.startsWith("plugin:event|")) return cmd === "plugin:event|listen" ? 1 : undefined;
      calls.push(cmd);
      if (cmd === "inspect_import") {
        expect(args).toEqual({ path: PATH });
        if ("code" in answer) return Promise.reject(answer);
        return answer;
      }
      if (cmd === "list_projects") return more.projects ?? [];
      if (cmd === "start_import" && more.startImport) return more.startImport(args as never);
      if (cmd === "pick_path" && more.pick !== undefined) return more.pick;
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
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
    renderZone(<DropZone subscribe={src.subscribe} currentProject="shop" onRestore={onRestore} />);
    await src.send({ type: "enter", paths: [PATH], position: pos });
    await src.send({ type: "drop", paths: [PATH], position: pos });
    expect(screen.queryByTestId("drop-overlay")).not.toBeInTheDocument();
    expect(screen.getByTestId("drop-path")).toHaveTextContent(PATH);
    // Under the title the path is one line, shortened in the middle, with Copy (issue 44: a raw
    // /tmp/… path was printed there whole).
    expect(screen.getByTestId("drop-path").querySelector(".middle-ellipsis")).toHaveAttribute("title", PATH);
    expect(screen.getByTestId("drop-path-copy")).toHaveTextContent("Copy");
    expect(await screen.findByTestId("drop-details")).toHaveAttribute("data-kind", "offsite_archive");
    expect(calls).toContain("inspect_import");
    expect(screen.getByTestId("drop-kind")).toHaveTextContent("A backup made by Offsite");
    expect(screen.getByTestId("drop-project")).toHaveTextContent("shop");
    expect(screen.getByTestId("drop-counts")).toHaveTextContent("2 tables · 2 files in the archive · its roles");
    expect(screen.getByTestId("drop-tables")).toHaveTextContent("public.orders — 1,000 rows");
    fireEvent.click(screen.getByTestId("drop-restore"));
    expect(onRestore).toHaveBeenCalledWith(PATH, "shop");
    expect(screen.queryByTestId("drop-preview")).not.toBeInTheDocument();
  });

  it("lists a project export's parts: database, storage, settings, and what is not imported", async () => {
    const src = fakeSource();
    mockInspect(
      preview({
        kind: "project_export",
        backup_type: "full",
        rows_recorded: false,
        parts: {
          database: "db/postgres.dump",
          globals: "db/globals.sql",
          storage: {
            objects: 3,
            bytes: 2048,
            buckets: [
              { name: "avatars", objects: 2, bytes: 1024 },
              { name: "docs", objects: 1, bytes: 1024 },
            ],
          },
          config: { documents: ["supabase/auth.json", "supabase/postgrest.json"], bytes: 90 },
          not_imported: [{ name: "config/.env", why: "not a JSON document" }],
          not_imported_more: 0,
        },
      }),
    );
    renderZone(<DropZone subscribe={src.subscribe} currentProject="shop" onRestore={vi.fn()} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    expect(await screen.findByTestId("drop-parts")).toBeInTheDocument();
    expect(screen.getByTestId("drop-part-database")).toHaveTextContent("db/postgres.dump with roles (db/globals.sql)");
    expect(screen.getByTestId("drop-part-storage")).toHaveTextContent("3 files, 2.0 KB in 2 buckets (avatars: 2 files, docs: 1 file)");
    expect(screen.getByTestId("drop-part-config")).toHaveTextContent("Settings: auth, postgrest");
    expect(screen.getByTestId("drop-not-imported")).toHaveTextContent("1 file not imported");
    expect(screen.getByTestId("drop-not-imported")).toHaveTextContent("config/.env — not a JSON document");
  });

  it("previews a plain pg_dump file without row counts, and offers to import it rather than restore it", async () => {
    const src = fakeSource();
    mockInspect(
      preview({
        kind: "pg_dump",
        project: "legacy",
        server_version: "15.14 (Debian 15.14-1.pgdg120+1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit",
        pg_dump_version: "15.18 (Debian 15.18-0+deb12u1)",
        tables: [{ schema: "public", table: "t", rows: 0 }],
        rows_recorded: false,
        members: [],
        has_globals: false,
        notes: ["a database dump made outside Offsite holds no row counts, so a restore of it cannot compare the rows it wrote with the source's"],
      }),
    );
    renderZone(<DropZone subscribe={src.subscribe} currentProject="shop" onRestore={vi.fn()} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    expect(await screen.findByTestId("drop-kind")).toHaveTextContent("A database dump made outside Offsite");
    // Plain words first (issue 44: import-02): the version by its number, the build string and
    // the tool's name behind Details.
    expect(screen.getByTestId("drop-server")).toHaveTextContent(/^PostgreSQL 15\.14$/);
    const shown = screen.getByTestId("drop-details").querySelector(":scope > dl.kv");
    expect(shown).not.toHaveTextContent(/pg_dump|Debian|gcc/);
    expect(screen.getByTestId("drop-technical")).not.toHaveAttribute("open");
    expect(screen.getByTestId("drop-server-full")).toHaveTextContent("x86_64-pc-linux-gnu, compiled by gcc");
    expect(screen.getByTestId("drop-technical")).toHaveTextContent("pg_dump 15.18 (Debian 15.18-0+deb12u1)");
    expect(screen.getByTestId("drop-tables")).toHaveTextContent("public.t");
    expect(screen.getByTestId("drop-tables")).not.toHaveTextContent("rows");
    // The preview speaks of the file as it is, not as a backup already imported (issue 64 item 7).
    expect(screen.getByTestId("drop-notes")).toHaveTextContent("A database dump made outside Offsite holds no row counts");
    expect(screen.getByTestId("drop-type")).toHaveTextContent(/^Database$/);
    // The dump names the database it was made of, not a project.
    expect(screen.getByTestId("drop-project").previousElementSibling).toHaveTextContent(/^Database$/);
    expect(screen.getByTestId("drop-project")).toHaveTextContent("legacy");
    expect(await screen.findByTestId("import-panel")).toBeInTheDocument();
    expect(screen.queryByTestId("drop-restore")).not.toBeInTheDocument();
  });

  it("says before packing that a plain SQL file holds statements pg_dump never writes", async () => {
    const src = fakeSource();
    mockInspect(
      preview({
        kind: "plain_sql",
        project: "legacy",
        rows_recorded: false,
        members: [],
        has_globals: false,
        plain: {
          compressed: false,
          dumpall: false,
          from_pg_dump: true,
          databases: [],
          roles: [],
          large_objects: false,
          sql_bytes: 4096,
          arbitrary_sql: [{ kind: "runs_program", excerpt: "COPY t FROM PROGRAM 'id';" }],
          arbitrary_sql_total: 2,
        },
      }),
    );
    renderZone(<DropZone subscribe={src.subscribe} onRestore={vi.fn()} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    const box = await screen.findByTestId("drop-arbitrary-sql");
    expect(box).toHaveAttribute("data-count", "2");
    expect(box).toHaveTextContent("2 statements pg_dump never writes");
    expect(box).toHaveTextContent("COPY t FROM PROGRAM 'id';");
  });

  it("says clearly when the file is not a backup Offsite can read", async () => {
    const src = fakeSource();
    mockInspect({ code: "unsupported_format", message: "not a gzip file", hint: null, retryable: false });
    renderZone(<DropZone subscribe={src.subscribe} onRestore={vi.fn()} />);
    await src.send({ type: "drop", paths: [PATH, "/tmp/other"], position: pos });
    const box = await screen.findByTestId("drop-unrecognised");
    expect(box).toHaveTextContent("This is not a backup Offsite can read.");
    // The app's words first (glossary: "a database dump made outside Offsite"); the tools' behind Details.
    expect(box.querySelector("p.notice")?.textContent).not.toMatch(/pg_dump|database\.dump/);
    expect(screen.getByTestId("drop-unrecognised-detail")).toHaveTextContent("pg_dump -Fc");
    expect(screen.getByTestId("drop-error")).toHaveAttribute("data-code", "unsupported_format");
    expect(screen.getByTestId("drop-ignored")).toHaveTextContent("1 more file was dropped");
    expect(screen.queryByTestId("drop-restore")).not.toBeInTheDocument();
    expect(screen.queryByTestId("import-panel")).not.toBeInTheDocument();
    // Escape closes the preview.
    fireEvent.keyDown(document.body, { key: "Escape" });
    expect(screen.queryByTestId("drop-preview")).not.toBeInTheDocument();
  });

  it("other errors are shown as they are, and without a project there is no Restore", async () => {
    const src = fakeSource();
    mockInspect({ code: "not_found", message: "no such file", hint: "was it moved?", retryable: false });
    renderZone(<DropZone subscribe={src.subscribe} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    expect(await screen.findByTestId("drop-error")).toHaveTextContent("was it moved?");
    expect(screen.queryByTestId("drop-unrecognised")).not.toBeInTheDocument();
  });

  it("offers no direct Restore when no project is open, but offers the import", async () => {
    const src = fakeSource();
    mockInspect(preview());
    renderZone(<DropZone subscribe={src.subscribe} onRestore={vi.fn()} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    expect(await screen.findByTestId("import-panel")).toBeInTheDocument();
    expect(screen.queryByTestId("drop-restore")).not.toBeInTheDocument();
  });

  it("asks which database to take from a pg_dumpall file that holds several", async () => {
    const src = fakeSource();
    const started: unknown[] = [];
    mockInspect(
      preview({
        kind: "pg_dumpall",
        plain: {
          compressed: false,
          dumpall: true,
          from_pg_dump: true,
          databases: [
            { name: "app", tables: ["public.orders"] },
            { name: "crm", tables: ["public.leads"] },
          ],
          roles: ["app_owner"],
          large_objects: false,
          sql_bytes: 4096,
          arbitrary_sql: [],
          arbitrary_sql_total: 0,
        },
      }),
      {
        projects: [summary("shop", null)],
        startImport: (args) => {
          started.push(args);
          return "job-8";
        },
      },
    );
    renderZone(<DropZone subscribe={src.subscribe} onRestore={vi.fn()} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    await waitFor(() => expect(screen.getByTestId("import-project")).toHaveValue("shop"));
    // The Import button sits in the preview's footer, below the body that scrolls (issue 44, import-02).
    expect(screen.getByTestId("drop-preview-footer")).toContainElement(screen.getByTestId("import-start"));
    expect(screen.getByTestId("drop-preview-body")).not.toContainElement(screen.getByTestId("import-start"));
    fireEvent.click(screen.getByTestId("import-start"));
    expect(screen.getByTestId("import-form-error")).toHaveTextContent("Choose the database");
    expect(started).toEqual([]);
    fireEvent.change(screen.getByTestId("import-database"), { target: { value: "crm" } });
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(started).toEqual([{ path: PATH, into: { project: "shop" }, verify: true, database: "crm" }]));
  });

  it("imports into the existing project of the same name, shows progress, then offers to open or restore it", async () => {
    const src = fakeSource();
    const started: unknown[] = [];
    mockInspect(preview(), {
      projects: [summary("other", null), summary("shop", null)],
      startImport: (args) => {
        started.push(args);
        return "job-7";
      },
    });
    const onOpenProject = vi.fn();
    const onRestore = vi.fn();
    renderZone(<DropZone subscribe={src.subscribe} onOpenProject={onOpenProject} onRestore={onRestore} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    await waitFor(() => expect(screen.getByTestId("import-project")).toHaveValue("shop"));
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(started).toEqual([{ path: PATH, into: { project: "shop" }, verify: true, database: null }]));
    expect(await screen.findByTestId("import-progress")).toBeInTheDocument();
    await act(() =>
      emit("job-progress", { job_id: "job-7", phase: "verifying", bytes_done: 2048, bytes_total: 4196, bytes_per_sec: null, finished: false }),
    );
    expect(screen.getByTestId("import-phase")).toHaveTextContent("2.0 KB");
    const imported = backup(1, { path: "/data/backups/shop/shop_20261121_120000_database.tar.gz", status: "verified" });
    const done: JobFinished = {
      job_id: "job-7",
      kind: "import",
      ok: true,
      error: null,
      result: { kind: "import", project: "shop", created_project: false, backup: imported },
    };
    await act(() => emit("job-finished", done));
    expect(await screen.findByTestId("import-done")).toHaveAttribute("data-project", "shop");
    expect(screen.getByTestId("import-done-path")).toHaveTextContent(imported.path);
    fireEvent.click(screen.getByTestId("import-restore"));
    expect(onRestore).toHaveBeenCalledWith(imported.path, "shop");
    expect(screen.queryByTestId("drop-preview")).not.toBeInTheDocument();
    expect(onOpenProject).not.toHaveBeenCalled();
  });

  it("imports into a new project, and shows a failed import's error with its code", async () => {
    const src = fakeSource();
    const started: unknown[] = [];
    mockInspect(
      preview({ kind: "pg_dump", project: "legacy db", source: { host: "db.example.com", port: 6543, database: "app", database_size: null, encoding: null } }),
      {
        projects: [],
        startImport: (args) => {
          started.push(args);
          return "job-8";
        },
      },
    );
    renderZone(<DropZone subscribe={src.subscribe} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    // No projects yet: a new one, named after the dump, pointing where it came from.
    await waitFor(() => expect(screen.getByTestId("import-into-new")).toBeChecked());
    expect(screen.getByTestId("import-into-existing")).toBeDisabled();
    expect(screen.getByTestId("import-new-name")).toHaveValue("legacy-db");
    expect(screen.getByTestId("import-new-url")).toHaveValue("postgres://postgres@db.example.com:6543/app");
    // Short labels, the same height side by side, so the fields line up (import-02: a two-line
    // label pushed the URL field below the name's); the detail is a help line under the field.
    expect(screen.getByLabelText("Database URL", { exact: false })).toBe(screen.getByTestId("import-new-url"));
    for (const id of ["import-new-name", "import-new-url", "import-new-password"]) {
      const label = screen.getByTestId(id).closest("label")!.firstElementChild!;
      expect(label.textContent!.length).toBeLessThanOrEqual(20);
    }
    expect(screen.getByTestId("import-new-url").nextElementSibling).toHaveTextContent("Where it would be backed up from and restored to.");
    fireEvent.change(screen.getByTestId("import-new-url"), { target: { value: "not a url" } });
    fireEvent.click(screen.getByTestId("import-start"));
    expect(screen.getByTestId("import-form-error")).toHaveTextContent("database URL");
    expect(started).toEqual([]);
    fireEvent.change(screen.getByTestId("import-new-url"), { target: { value: "postgres://app@db.example.com/app" } });
    fireEvent.change(screen.getByTestId("import-new-password"), { target: { value: "s3cret" } });
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() =>
      expect(started).toEqual([
        {
          path: PATH,
          verify: true,
          database: null,
          into: {
            new_project: {
              name: "legacy-db",
              connection: { url: "postgres://app@db.example.com/app" },
              tls: null,
              password: "s3cret",
              backup_dir: null,
            },
          },
        },
      ]),
    );
    await act(() =>
      emit("job-finished", {
        job_id: "job-8",
        kind: "import",
        ok: false,
        error: { code: "integrity", message: "database.dump does not match its SHA-256", hint: "the file is damaged", retryable: false },
        result: null,
      } satisfies JobFinished),
    );
    const error = await screen.findByTestId("import-error");
    expect(error).toHaveAttribute("data-code", "integrity");
    expect(error).toHaveTextContent("The archive is damaged");
    expect(error).toHaveTextContent("the file is damaged");
    // A damaged file is not tried again: it stays damaged.
    expect(screen.queryByTestId("import-start")).not.toBeInTheDocument();
    // No form to fill in again (the password typed is gone with it).
    expect(screen.queryByTestId("import-new-password")).not.toBeInTheDocument();
  });

  it("a damaged archive offers only what is safe: the fact once, the raw details behind a disclosure, no Restore", async () => {
    const src = fakeSource();
    mockInspect(preview(), {
      projects: [summary("shop", null)],
      startImport: () => "job-9",
      pick: null,
    });
    const onRestore = vi.fn();
    renderZone(<DropZone subscribe={src.subscribe} currentProject="shop" onRestore={onRestore} />);
    await src.send({ type: "drop", paths: [PATH], position: pos });
    // Before anything is known to be wrong, the archive can be restored.
    expect(await screen.findByTestId("drop-restore")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId("import-project")).toHaveValue("shop"));
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(screen.getByTestId("import-cancel")).toBeInTheDocument());
    const sha = "expected sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08, got 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
    await act(() =>
      emit("job-finished", {
        job_id: "job-9",
        kind: "import",
        ok: false,
        error: { code: "integrity", message: `the archive is damaged: bad member database.dump (${sha})`, hint: "nothing was imported; use another copy of this backup", retryable: false },
        result: null,
      } satisfies JobFinished),
    );
    const error = await screen.findByTestId("import-error");
    // One red truth (issue 44, import-04): what is damaged, that nothing was imported, what to do.
    expect(screen.getByTestId("import-error-next")).toHaveTextContent(/^Its contents do not match its checksum\.$/);
    expect(screen.getByTestId("import-error-hint")).toHaveTextContent("nothing was imported");
    // Not "A backup made by Offsite" above it: what the file says of itself only behind a closed Details,
    // after the damage; no import form under it.
    const facts = screen.getByTestId("drop-damaged-facts");
    expect(facts.tagName).toBe("DETAILS");
    expect(facts).not.toHaveAttribute("open");
    expect(facts).toContainElement(screen.getByTestId("drop-kind"));
    expect(error.compareDocumentPosition(facts) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(screen.queryByTestId("import-panel")).not.toBeInTheDocument();
    expect(screen.getByTestId("drop-preview")).not.toHaveTextContent("Add to Offsite");
    // The SHA-256 pair is only in the closed details, said once.
    const details = screen.getByTestId("import-error-details");
    expect(details.tagName).toBe("DETAILS");
    expect(details).not.toHaveAttribute("open");
    expect(details).toHaveTextContent("9f86d081884c");
    expect(error.textContent?.split("9f86d081884c").length).toBe(2);
    expect(screen.getByTestId("drop-preview").textContent?.match(/do not match its checksum/g)?.length).toBe(1);
    // No Restore, no Try again; another file can be chosen.
    expect(screen.queryByTestId("drop-restore")).not.toBeInTheDocument();
    expect(screen.queryByTestId("import-start")).not.toBeInTheDocument();
    fireEvent.click(screen.getByTestId("import-choose-another"));
    expect(screen.queryByTestId("drop-preview")).not.toBeInTheDocument();
    expect(onRestore).not.toHaveBeenCalled();
  });

  it("the Import… button previews the file chosen in the open dialog, like a drop", async () => {
    const src = fakeSource();
    const calls = mockInspect(preview(), { pick: PATH });
    renderZone(
      <>
        <ImportButton />
        <DropZone subscribe={src.subscribe} />
      </>,
    );
    fireEvent.click(screen.getByTestId("import-open"));
    expect(await screen.findByTestId("drop-details")).toHaveAttribute("data-kind", "offsite_archive");
    expect(calls.slice(0, 2)).toEqual(["pick_path", "inspect_import"]);
  });

  it("a cancelled open dialog changes nothing", async () => {
    const src = fakeSource();
    const calls = mockInspect(preview(), { pick: null });
    renderZone(
      <>
        <ImportButton />
        <DropZone subscribe={src.subscribe} />
      </>,
    );
    fireEvent.click(screen.getByTestId("import-open"));
    await waitFor(() => expect(calls).toEqual(["pick_path"]));
    expect(screen.queryByTestId("drop-preview")).not.toBeInTheDocument();
  });

  it("listens to the webview's drag-and-drop events by default", async () => {
    mockWindows("main");
    mockIPC((cmd) => (cmd === "inspect_import" ? preview() : cmd === "list_projects" ? [] : undefined), {
      shouldMockEvents: true,
    });
    renderZone(<DropZone />);
    await waitFor(async () => {
      await act(() => emit("tauri://drag-enter", { paths: [PATH], position: { x: 0, y: 0 } }));
      expect(screen.getByTestId("drop-overlay")).toBeInTheDocument();
    });
    await act(() => emit("tauri://drag-drop", { paths: [PATH], position: { x: 0, y: 0 } }));
    expect(await screen.findByTestId("drop-details")).toBeInTheDocument();
  });
});
