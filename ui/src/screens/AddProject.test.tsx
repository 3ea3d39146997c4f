import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { AddProject, EMPTY_FORM, toConnection, validate } from "./AddProject";
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

  it("builds the connection from URL or fields", () => {
    expect(toConnection({ ...EMPTY_FORM, url: " postgres://u@h/d " })).toEqual({ url: "postgres://u@h/d" });
    expect(toConnection({ ...EMPTY_FORM, mode: "fields", host: "h", port: "", user: "u", database: "d" })).toEqual({
      fields: { host: "h", port: null, user: "u", database: "d" },
    });
    expect(validate({ ...EMPTY_FORM, name: "shop", url: "postgresql://u@h:5432/d" })).toEqual({});
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
    expect(screen.getByTestId("report-size")).toHaveTextContent("42 MB");
    expect(screen.getByTestId("report-pg-dump")).toHaveTextContent("pg_dump (PostgreSQL) 16.4");
    expect(screen.getByTestId("report-permissions")).toHaveTextContent("public.secrets");
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
      },
    });
  });
});
