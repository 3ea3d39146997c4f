import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { KeyListing } from "../bindings";
import { AddProject, EMPTY_FORM, formFromProject, projectChanges, toConnection, validate } from "./AddProject";
import { report, summary } from "./fixtures";

function type(testId: string, value: string) {
  fireEvent.change(screen.getByTestId(testId), { target: { value } });
}

describe("AddProject", () => {
  it("validates before calling the engine", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      throw new Error(`unexpected command ${cmd}`);
    });
    render(<AddProject onSaved={vi.fn()} onCancel={vi.fn()} />);

    fireEvent.click(screen.getByTestId("add-save"));
    expect(await screen.findByTestId("field-name-error")).toHaveTextContent("Give the project a name.");
    expect(screen.getByTestId("field-url-error")).toHaveTextContent("Paste the database URL.");
    expect(screen.getByTestId("field-name")).toHaveFocus();
    expect(screen.getByTestId("field-name")).toHaveAttribute("aria-invalid", "true");

    type("field-name", "-bad");
    type("field-url", "mysql://x");
    fireEvent.click(screen.getByTestId("add-save"));
    expect(await screen.findByTestId("field-name-error")).toHaveTextContent("not starting with");
    expect(screen.getByTestId("field-url-error")).toHaveTextContent("postgres://user@host:5432/database");

    fireEvent.click(screen.getByTestId("mode-fields"));
    type("field-host", "");
    type("field-port", "99999");
    fireEvent.click(screen.getByTestId("test-connection"));
    expect(await screen.findByTestId("field-host-error")).toBeInTheDocument();
    expect(screen.getByTestId("field-port-error")).toHaveTextContent("1 to 65535");
    expect(calls).toEqual([]);
  });

  it("never prefills the password", () => {
    mockIPC(() => null);
    render(<AddProject onSaved={vi.fn()} onCancel={vi.fn()} />);
    const password = screen.getByTestId("field-password");
    expect(password).toHaveAttribute("type", "password");
    expect(password).toHaveValue("");
  });

  it("says which retention a new project gets (the engine saves 7 daily · 4 weekly · 12 monthly with it)", () => {
    mockIPC(() => null);
    render(<AddProject onSaved={vi.fn()} onCancel={vi.fn()} />);
    expect(screen.getByTestId("add-retention-note")).toHaveTextContent("Keeps 7 daily · 4 weekly · 12 monthly backups (recommended)");
    expect(screen.getByTestId("add-retention-note")).toHaveTextContent("keep everything");
  });

  it("builds the connection from URL or fields", () => {
    expect(toConnection({ ...EMPTY_FORM, url: " postgres://u@h/d " })).toEqual({ url: "postgres://u@h/d" });
    expect(toConnection({ ...EMPTY_FORM, mode: "fields", host: "h", port: "", user: "u", database: "d" })).toEqual({
      fields: { host: "h", port: null, user: "u", database: "d" },
    });
    expect(validate({ ...EMPTY_FORM, name: "shop", url: "postgresql://u@h:5432/d" })).toEqual({});
  });

  it("lets a socket folder through, as a URL or as the host, unchanged", () => {
    const socketUrl = "postgresql:///shop?host=/var/run/postgresql";
    expect(validate({ ...EMPTY_FORM, name: "local", url: socketUrl })).toEqual({});
    expect(toConnection({ ...EMPTY_FORM, url: ` ${socketUrl} ` })).toEqual({ url: socketUrl });
    const byFields = { ...EMPTY_FORM, name: "local", mode: "fields" as const, host: "/var/run/postgresql" };
    expect(validate(byFields)).toEqual({});
    expect(toConnection(byFields)).toEqual({
      fields: { host: "/var/run/postgresql", port: 5432, user: "postgres", database: "postgres" },
    });
    // Still refused: no host part at all, or another scheme.
    expect(validate({ ...EMPTY_FORM, name: "local", url: "postgresql://" }).url).toBeDefined();
    expect(validate({ ...EMPTY_FORM, name: "local", url: "mysql:///db?host=/tmp" }).url).toBeDefined();
  });

  it("tests the connection and shows version, size, permission problems and pg_dump", async () => {
    const seen: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "test_connection") {
        seen.push(args);
        return report;
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    render(<AddProject onSaved={vi.fn()} onCancel={vi.fn()} />);
    fireEvent.click(screen.getByTestId("mode-fields"));
    type("field-host", "db.example.com");
    type("field-port", "6543");
    fireEvent.change(screen.getByTestId("field-tls"), { target: { value: "verify-full" } });
    type("field-password", "s3cret");
    fireEvent.click(screen.getByTestId("test-connection"));

    const shown = await screen.findByTestId("test-report");
    expect(shown).toHaveAttribute("data-ok", "false");
    expect(screen.getByTestId("report-version")).toHaveTextContent("PostgreSQL 16.4");
    expect(screen.getByTestId("report-size")).toHaveTextContent("42.0 MB");
    expect(screen.getByTestId("report-pg-dump")).toHaveTextContent("pg_dump (PostgreSQL) 16.4");
    // The row says what the tool is for; its name and version are the value (issue 44: engine words).
    expect(screen.getByTestId("report-pg-dump").previousElementSibling).toHaveTextContent(/^Backup tool$/);
    expect(screen.getByTestId("report-permissions")).toHaveTextContent("public.secrets");
    // One unreadable object, counted in words: never "object(s)".
    expect(screen.getByTestId("report-permissions")).toHaveTextContent("cannot read 1 object:");
    expect(seen[0]).toEqual({
      name: null,
      connection: { fields: { host: "db.example.com", port: 6543, user: "postgres", database: "postgres" } },
      tls: "verify-full",
      password: "s3cret",
    });
  });

  it("shows connection errors as message and hint, titled by code", async () => {
    mockIPC(() =>
      Promise.reject({
        code: "auth",
        message: "password authentication failed for user \"postgres\"",
        hint: "check the password",
        retryable: false,
      }),
    );
    render(<AddProject onSaved={vi.fn()} onCancel={vi.fn()} />);
    type("field-url", "postgres://postgres@db.example.com/postgres");
    fireEvent.click(screen.getByTestId("test-connection"));
    const error = await screen.findByTestId("test-error");
    expect(error).toHaveAttribute("data-code", "auth");
    expect(screen.getByTestId("test-error-title")).toHaveTextContent("The server rejected the credentials");
    expect(screen.getByTestId("test-error-message")).toHaveTextContent("password authentication failed");
    expect(screen.getByTestId("test-error-hint")).toHaveTextContent("check the password");
  });

  it("puts an already_exists error on the name field (by code, not by message)", async () => {
    mockIPC(() => Promise.reject({ code: "already_exists", message: "taken (any text)", hint: null, retryable: false }));
    const onSaved = vi.fn();
    render(<AddProject onSaved={onSaved} onCancel={vi.fn()} />);
    type("field-name", "shop");
    type("field-url", "postgres://postgres@db.example.com/postgres");
    fireEvent.click(screen.getByTestId("add-save"));
    expect(await screen.findByTestId("save-error")).toHaveAttribute("data-code", "already_exists");
    expect(screen.getByTestId("field-name-error")).toHaveTextContent("taken (any text)");
    expect(screen.getByTestId("field-name")).toHaveFocus();
    expect(screen.queryByTestId("field-url-error")).not.toBeInTheDocument();
    expect(onSaved).not.toHaveBeenCalled();
  });

  it("saves and hands back the new project", async () => {
    const requests: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "add_project") {
        requests.push(args);
        return summary("shop", null);
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    const onSaved = vi.fn();
    render(<AddProject onSaved={onSaved} onCancel={vi.fn()} />);
    type("field-name", "shop");
    type("field-url", "postgres://postgres@db.example.com:5432/postgres");
    fireEvent.change(screen.getByTestId("field-tls"), { target: { value: "require" } });
    fireEvent.click(screen.getByTestId("add-save"));
    await waitFor(() => expect(onSaved).toHaveBeenCalledOnce());
    expect(requests[0]).toEqual({
      request: {
        name: "shop",
        connection: { url: "postgres://postgres@db.example.com:5432/postgres" },
        tls: "require",
        password: null,
        backup_dir: null,
        skip_test: false,
      },
      components: null,
    });
  });

  it("a database the engine cannot reach is refused; Add without testing adds it anyway", async () => {
    const requests: { request: { skip_test?: boolean } }[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "add_project") {
        const a = args as { request: { skip_test?: boolean } };
        requests.push(a);
        if (!a.request.skip_test)
          return Promise.reject({
            code: "connection",
            message: 'project "shop" was not added: cannot reach postgres@127.0.0.1:1/shop',
            hint: "To add it anyway, run again with --no-test (in the app: \"Add without testing\")",
            retryable: true,
          });
        return summary("shop", null);
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    const onSaved = vi.fn();
    render(<AddProject onSaved={onSaved} onCancel={vi.fn()} />);
    type("field-name", "shop");
    type("field-url", "postgres://app@127.0.0.1:1/shop");
    expect(screen.queryByTestId("add-save-untested")).not.toBeInTheDocument();
    fireEvent.click(screen.getByTestId("add-save"));
    expect(await screen.findByTestId("save-error")).toHaveAttribute("data-code", "connection");
    expect(onSaved).not.toHaveBeenCalled();
    fireEvent.click(screen.getByTestId("add-save-untested"));
    await waitFor(() => expect(onSaved).toHaveBeenCalledOnce());
    expect(requests.map((r) => r.request.skip_test)).toEqual([false, true]);
  });

  it("Supabase quick add fills the database, storage endpoint and ref; all are saved with their secrets", async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === "add_project") {
        // The engine checks the parts (as for the command line) and adds all or nothing.
        const c = (args as { components: { storage: { secret_access_key: string } | null } }).components;
        if (c.storage?.secret_access_key === "")
          return Promise.reject({
            code: "secrets",
            message: "the S3 secret access key is missing",
            hint: "give it once; it is kept in the keychain",
            retryable: false,
          });
        return summary("abcdefghijklmnopqrst", null);
      }
      // The engine reads what was pasted; the form only shows its answer.
      if (cmd === "supabase_project") {
        const input = (args as { input: string }).input;
        if (input !== "https://abcdefghijklmnopqrst.supabase.co")
          return Promise.reject({
            code: "invalid_input",
            message: `"${input}" is not a Supabase project URL or ref`,
            hint: null,
            retryable: false,
          });
        return {
          project_ref: "abcdefghijklmnopqrst",
          db_host: "db.abcdefghijklmnopqrst.supabase.co",
          db_port: 5432,
          db_user: "postgres",
          db_name: "postgres",
          tls: "require",
          storage_endpoint: "https://abcdefghijklmnopqrst.storage.supabase.co/storage/v1/s3",
        };
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    const saving = () => calls.filter((c) => c.cmd !== "supabase_project");
    const onSaved = vi.fn();
    render(<AddProject onSaved={onSaved} onCancel={vi.fn()} />);
    type("supabase-url", "https://nope.example.com");
    fireEvent.click(screen.getByTestId("supabase-fill"));
    const refused = await screen.findByTestId("supabase-url-error");
    expect(refused).toHaveAttribute("data-code", "invalid_input");
    expect(refused).toHaveTextContent("not a Supabase project URL or ref");
    type("supabase-url", "https://abcdefghijklmnopqrst.supabase.co");
    fireEvent.click(screen.getByTestId("supabase-fill"));
    await waitFor(() => expect(screen.queryByTestId("supabase-url-error")).not.toBeInTheDocument());
    expect(calls.filter((c) => c.cmd === "supabase_project").map((c) => c.args)).toEqual([
      { input: "https://nope.example.com" },
      { input: "https://abcdefghijklmnopqrst.supabase.co" },
    ]);
    expect(screen.getByTestId("field-name")).toHaveValue("abcdefghijklmnopqrst");
    expect(screen.getByTestId("field-port")).toHaveValue("5432");
    expect(screen.getByTestId("field-host")).toHaveValue("db.abcdefghijklmnopqrst.supabase.co");
    expect(screen.getByTestId("field-user")).toHaveValue("postgres");
    expect(screen.getByTestId("field-tls")).toHaveValue("require");
    expect(screen.getByTestId("add-s3-endpoint")).toHaveValue("https://abcdefghijklmnopqrst.storage.supabase.co/storage/v1/s3");
    expect(screen.getByTestId("add-supabase-ref")).toHaveValue("abcdefghijklmnopqrst");

    // Storage without its secret: the engine refuses the whole add, and the form stays.
    type("add-s3-key-id", "AKID");
    fireEvent.click(screen.getByTestId("add-save"));
    expect(await screen.findByTestId("save-error")).toHaveTextContent("secret access key");
    expect(saving().map((c) => c.cmd)).toEqual(["add_project"]);
    expect(onSaved).not.toHaveBeenCalled();

    type("add-s3-secret", "s3cret");
    type("add-supabase-token", "sbp_token");
    type("add-s3-buckets", "avatars, docs");
    fireEvent.click(screen.getByTestId("add-save"));
    await waitFor(() => expect(onSaved).toHaveBeenCalledOnce());
    // One call per save: the project with its parts, all or nothing.
    expect(saving().map((c) => c.cmd)).toEqual(["add_project", "add_project"]);
    expect((saving()[1]?.args as { components: unknown }).components).toEqual({
      storage: {
        endpoint: "https://abcdefghijklmnopqrst.storage.supabase.co/storage/v1/s3",
        region: "us-east-1",
        access_key_id: "AKID",
        secret_access_key: "s3cret",
        path_style: true,
        buckets: { kind: "only", names: ["avatars", "docs"] },
        concurrency: null,
      },
      supabase: { project_ref: "abcdefghijklmnopqrst", api_url: null, access_token: "sbp_token" },
      default_type: null,
      artifacts: null,
      server: null,
    });
  });

  it("when the storage part is refused, nothing was saved: the error shows and the form stays to fix it", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "add_project")
        return Promise.reject({ code: "invalid_input", message: "not a URL: ftp://x", hint: null, retryable: false });
      throw new Error(`unexpected command ${cmd}`);
    });
    const onSaved = vi.fn();
    render(<AddProject onSaved={onSaved} onCancel={vi.fn()} />);
    type("field-name", "shop");
    type("field-url", "postgres://postgres@db.example.com/postgres");
    type("add-s3-endpoint", "ftp://x");
    type("add-s3-key-id", "AKID");
    type("add-s3-secret", "s3cret");
    fireEvent.click(screen.getByTestId("add-save"));
    expect(await screen.findByTestId("save-error")).toHaveTextContent("not a URL");
    // No "partly saved" state: the engine added nothing, so there is no project to open.
    expect(screen.queryByTestId("components-partly-saved")).not.toBeInTheDocument();
    expect(calls).toEqual(["add_project"]);
    expect(onSaved).not.toHaveBeenCalled();
    expect(screen.getByTestId("add-save")).toHaveTextContent("Save");
    expect(screen.getByTestId("add-s3-secret")).toHaveValue("s3cret");
    // Fixed and saved again: one more call, and the project is handed back.
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "add_project") return summary("shop", null);
      throw new Error(`unexpected command ${cmd}`);
    });
    type("add-s3-endpoint", "https://s3.example.com");
    fireEvent.click(screen.getByTestId("add-save"));
    await waitFor(() => expect(onSaved).toHaveBeenCalledOnce());
    expect(calls).toEqual(["add_project", "add_project"]);
  });

  it("leaves the parts' rules to the engine: a token without a ref is sent, and the engine's refusal shows", async () => {
    const sent: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "add_project") {
        sent.push((args as { components: unknown }).components);
        return Promise.reject({
          code: "invalid_input",
          message: '"" is not a Supabase project ref',
          hint: "the ref is the 20 letters in https://<ref>.supabase.co",
          retryable: false,
        });
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    render(<AddProject onSaved={vi.fn()} onCancel={vi.fn()} />);
    type("field-name", "shop");
    type("field-url", "postgres://postgres@db.example.com/postgres");
    type("add-supabase-token", "sbp_x");
    fireEvent.click(screen.getByTestId("add-save"));
    expect(await screen.findByTestId("save-error")).toHaveTextContent("is not a Supabase project ref");
    expect(sent).toEqual([
      {
        storage: null,
        supabase: { project_ref: "", api_url: null, access_token: "sbp_x" },
        default_type: null,
        artifacts: null,
        server: null,
      },
    ]);
  });

  it("puts a chosen backup folder in the add form; a cancelled dialog leaves it", async () => {
    let answer: string | null = "/mnt/offsite/shop";
    const requests: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "pick_path") return answer;
      if (cmd === "add_project") {
        requests.push(args);
        return summary("shop", null);
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    const onSaved = vi.fn();
    render(<AddProject onSaved={onSaved} onCancel={vi.fn()} />);
    fireEvent.click(screen.getByTestId("backup-dir-choose"));
    await waitFor(() => expect(screen.getByTestId("field-backup-dir")).toHaveValue("/mnt/offsite/shop"));
    answer = null;
    fireEvent.click(screen.getByTestId("backup-dir-choose"));
    await new Promise((r) => setTimeout(r, 0));
    expect(screen.getByTestId("field-backup-dir")).toHaveValue("/mnt/offsite/shop");

    type("field-name", "shop");
    type("field-url", "postgres://postgres@db.example.com/postgres");
    fireEvent.click(screen.getByTestId("add-save"));
    await waitFor(() => expect(onSaved).toHaveBeenCalledOnce());
    expect((requests[0] as { request: { backup_dir: string } }).request.backup_dir).toBe("/mnt/offsite/shop");
  });
});

describe("Edit project", () => {
  const saved = () => {
    const s = summary("shop", null);
    s.project.backup_dir = "/mnt/backups/shop";
    return s;
  };

  function mockEdit(handlers: Partial<Record<string, (args: Record<string, unknown>) => unknown>> = {}) {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC((cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      const h = handlers[cmd];
      if (h) return h(a);
      if (cmd === "get_project") return saved();
      throw new Error(`unexpected command ${cmd}`);
    });
    return calls;
  }

  it("prefills the form from the saved project, never the password", async () => {
    mockEdit();
    render(<AddProject editName="shop" onSaved={vi.fn()} onCancel={vi.fn()} />);
    expect(await screen.findByTestId("edit-project-form")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Edit shop" })).toBeInTheDocument();
    expect(screen.getByTestId("field-name")).toHaveValue("shop");
    expect(screen.getByTestId("field-url")).toHaveValue("postgres://postgres@db.shop.example.com:5432/postgres?sslmode=require");
    expect(screen.getByTestId("field-tls")).toHaveValue("require");
    expect(screen.getByTestId("field-backup-dir")).toHaveValue("/mnt/backups/shop");
    const password = screen.getByTestId("field-password");
    expect(password).toHaveValue("");
    expect(password).toHaveAttribute("placeholder", "leave empty to keep the stored password");
    expect(screen.getByText(/Leave empty to keep the stored password/)).toBeInTheDocument();
  });

  it("saves only what changed (null keeps) and hands back the project", async () => {
    const calls = mockEdit({ update_project: () => summary("shop2", null) });
    const onSaved = vi.fn();
    render(<AddProject editName="shop" onSaved={onSaved} onCancel={vi.fn()} />);
    await screen.findByTestId("edit-project-form");
    type("field-name", "shop2");
    type("field-password", "n3w");
    fireEvent.click(screen.getByTestId("backup-dir-default"));
    fireEvent.click(screen.getByTestId("edit-save"));
    await waitFor(() => expect(onSaved).toHaveBeenCalledOnce());
    expect(onSaved.mock.calls[0]?.[0].project.name).toBe("shop2");
    expect(calls.find((c) => c.cmd === "update_project")?.args).toEqual({
      name: "shop",
      changes: { name: "shop2", connection: null, tls: null, password: "n3w", backup_dir: "" },
    });
  });

  it("sends a changed connection and TLS", async () => {
    const calls = mockEdit({ update_project: () => summary("shop", null) });
    const onSaved = vi.fn();
    render(<AddProject editName="shop" onSaved={onSaved} onCancel={vi.fn()} />);
    await screen.findByTestId("edit-project-form");
    type("field-url", "postgres://backup@db.other.example.com:6543/postgres");
    fireEvent.change(screen.getByTestId("field-tls"), { target: { value: "verify-full" } });
    fireEvent.click(screen.getByTestId("edit-save"));
    await waitFor(() => expect(onSaved).toHaveBeenCalledOnce());
    expect(calls.find((c) => c.cmd === "update_project")?.args).toEqual({
      name: "shop",
      changes: {
        name: null,
        connection: { url: "postgres://backup@db.other.example.com:6543/postgres" },
        tls: "verify-full",
        password: null,
        backup_dir: null,
      },
    });
  });

  it("tests an unchanged project by name (stored password), a changed one with what was typed", async () => {
    const calls = mockEdit({ test_connection: () => report });
    render(<AddProject editName="shop" onSaved={vi.fn()} onCancel={vi.fn()} />);
    await screen.findByTestId("edit-project-form");
    fireEvent.click(screen.getByTestId("test-connection"));
    await screen.findByTestId("test-report");
    type("field-url", "postgres://postgres@db.new.example.com:5432/postgres");
    type("field-password", "typed");
    fireEvent.click(screen.getByTestId("test-connection"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "test_connection")).toHaveLength(2));
    expect(calls.filter((c) => c.cmd === "test_connection").map((c) => c.args)).toEqual([
      { name: "shop", connection: null, tls: null, password: null },
      {
        name: null,
        connection: { url: "postgres://postgres@db.new.example.com:5432/postgres" },
        tls: "require",
        password: "typed",
      },
    ]);
  });

  it("shows a load error", async () => {
    mockEdit({ get_project: () => Promise.reject({ code: "not_found", message: "no project shop", hint: null, retryable: false }) });
    const onCancel = vi.fn();
    render(<AddProject editName="shop" onSaved={vi.fn()} onCancel={onCancel} />);
    expect(await screen.findByTestId("edit-load-error")).toHaveAttribute("data-code", "not_found");
    fireEvent.click(screen.getByTestId("edit-cancel"));
    expect(onCancel).toHaveBeenCalledOnce();
  });

  it("computes changes and the prefilled form", () => {
    const initial = formFromProject(summary("shop", null));
    expect(initial.password).toBe("");
    expect(projectChanges(initial, initial)).toEqual({
      name: null,
      connection: null,
      tls: null,
      password: null,
      backup_dir: null,
    });
    expect(projectChanges(initial, { ...initial, backupDir: " /x " }).backup_dir).toBe("/x");
  });

  it("removes the project only after its name is typed; Escape cancels", async () => {
    const calls = mockEdit({ remove_project: () => null });
    const onRemoved = vi.fn();
    render(<AddProject editName="shop" onSaved={vi.fn()} onCancel={vi.fn()} onRemoved={onRemoved} />);
    await screen.findByTestId("edit-project-form");

    const open = screen.getByTestId("project-remove");
    open.focus();
    fireEvent.click(open);
    let dialog = screen.getByRole("dialog");
    expect(dialog).toHaveAttribute("aria-modal", "true");
    expect(dialog).toHaveTextContent("backup files stay on disk");
    expect(dialog).toHaveTextContent("deletes its stored password from your system keychain");
    expect(screen.getByTestId("project-remove-name")).toHaveFocus();
    fireEvent.keyDown(screen.getByTestId("project-remove-name"), { key: "Escape" });
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(open).toHaveFocus();

    fireEvent.click(open);
    dialog = screen.getByRole("dialog");
    const confirm = screen.getByTestId("project-remove-confirm");
    expect(confirm).toBeDisabled();
    type("project-remove-name", "sho");
    expect(confirm).toBeDisabled();
    type("project-remove-name", "shop");
    expect(confirm).toBeEnabled();

    // Focus stays in the dialog: Tab from the last button wraps to the first field, Shift+Tab back.
    confirm.focus();
    fireEvent.keyDown(confirm, { key: "Tab" });
    expect(screen.getByTestId("project-remove-name")).toHaveFocus();
    fireEvent.keyDown(screen.getByTestId("project-remove-name"), { key: "Tab", shiftKey: true });
    expect(confirm).toHaveFocus();

    fireEvent.click(confirm);
    await waitFor(() => expect(onRemoved).toHaveBeenCalledOnce());
    expect(calls.find((c) => c.cmd === "remove_project")?.args).toEqual({
      name: "shop",
      typedName: "shop",
      deleteKey: false,
    });
  });

  it("a project whose key encrypts backups: the dialog says the key is kept, offers saving it, and passes the delete-key choice", async () => {
    const keyOf = [{ name: "shop", mode: "key", public_key: "age1xyz", orphaned: false, removed_at: null }];
    const calls = mockEdit({ list_keys: () => keyOf, save_recovery_file: () => true, remove_project: () => null });
    const onRemoved = vi.fn();
    render(<AddProject editName="shop" onSaved={vi.fn()} onCancel={vi.fn()} onRemoved={onRemoved} />);
    await screen.findByTestId("edit-project-form");
    fireEvent.click(screen.getByTestId("project-remove"));
    const note = await screen.findByTestId("project-remove-key");
    expect(note).toHaveTextContent("Its key is kept in your keychain (listed by offsite key list, marked orphaned) unless you tick “Also delete its key”");
    expect(screen.getByTestId("project-remove-export-command")).toHaveTextContent("offsite key export shop");
    expect(screen.queryByTestId("project-remove-key-note")).not.toBeInTheDocument();

    fireEvent.click(screen.getByTestId("project-remove-save-key"));
    expect(await screen.findByTestId("project-remove-key-saved")).toHaveTextContent("Saved");
    expect(calls.find((c) => c.cmd === "save_recovery_file")?.args).toEqual({ project: "shop" });

    const deleteKey = screen.getByTestId("project-remove-delete-key");
    expect(deleteKey).not.toBeChecked();
    fireEvent.click(deleteKey);
    expect(screen.getByTestId("project-remove-delete-key-warning")).toBeInTheDocument();
    type("project-remove-name", "shop");
    fireEvent.click(screen.getByTestId("project-remove-confirm"));
    await waitFor(() => expect(onRemoved).toHaveBeenCalledOnce());
    expect(calls.find((c) => c.cmd === "remove_project")?.args).toEqual({ name: "shop", typedName: "shop", deleteKey: true });
  });

  it("keeps the key unless the box is ticked; a project without a key shows no key section", async () => {
    let keyOf: KeyListing[] = [{ name: "shop", mode: "passphrase", public_key: null, orphaned: false, removed_at: null }];
    let calls = mockEdit({ list_keys: () => keyOf, remove_project: () => null });
    const onRemoved = vi.fn();
    const { unmount } = render(<AddProject editName="shop" onSaved={vi.fn()} onCancel={vi.fn()} onRemoved={onRemoved} />);
    await screen.findByTestId("edit-project-form");
    fireEvent.click(screen.getByTestId("project-remove"));
    await screen.findByTestId("project-remove-key");
    expect(screen.getByTestId("project-remove-save-key")).toHaveTextContent("Save the passphrase to a file…");
    type("project-remove-name", "shop");
    fireEvent.click(screen.getByTestId("project-remove-confirm"));
    await waitFor(() => expect(onRemoved).toHaveBeenCalledOnce());
    expect(calls.find((c) => c.cmd === "remove_project")?.args).toEqual({ name: "shop", typedName: "shop", deleteKey: false });
    unmount();

    // Only an orphaned key of that name (not this project's): no key section, no general note.
    keyOf = [{ name: "shop", mode: "key", public_key: "age1", orphaned: true, removed_at: "2026-11-20T10:00:00Z" }];
    calls = mockEdit({ list_keys: () => keyOf });
    render(<AddProject editName="shop" onSaved={vi.fn()} onCancel={vi.fn()} />);
    await screen.findByTestId("edit-project-form");
    fireEvent.click(screen.getByTestId("project-remove"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "list_keys")).toBe(true));
    await waitFor(() => expect(screen.queryByTestId("project-remove-key-note")).not.toBeInTheDocument());
    expect(screen.queryByTestId("project-remove-key")).not.toBeInTheDocument();
  });

  it("shows a busy error in the dialog and keeps it open", async () => {
    mockEdit({
      remove_project: () =>
        Promise.reject({ code: "busy", message: "a backup is running", hint: "wait for it", retryable: true }),
    });
    const onRemoved = vi.fn();
    render(<AddProject editName="shop" onSaved={vi.fn()} onCancel={vi.fn()} onRemoved={onRemoved} />);
    await screen.findByTestId("edit-project-form");
    fireEvent.click(screen.getByTestId("project-remove"));
    type("project-remove-name", "shop");
    fireEvent.click(screen.getByTestId("project-remove-confirm"));
    const error = await screen.findByTestId("remove-error");
    expect(error).toHaveAttribute("data-code", "busy");
    expect(screen.getByRole("dialog")).toContainElement(error);
    expect(screen.getByTestId("project-remove-confirm")).toBeEnabled();
    expect(onRemoved).not.toHaveBeenCalled();
  });
});
