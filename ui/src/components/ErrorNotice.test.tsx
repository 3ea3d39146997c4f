import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { ErrorKind, ErrorPayload } from "../bindings";
import { ACTION_LABELS, ERROR_DISPLAY, errorDisplay } from "../ipc/errorDisplay";
import { ErrorActionsProvider } from "./errorActions";
import { ErrorNotice, offeredActions } from "./ErrorNotice";

/** Every code the engine can emit, read from the one place it is written: crates/core/src/error.rs. */
function engineCodes(): string[] {
  // Vitest runs from ui/.
  const path = resolve(process.cwd(), "../crates/core/src/error.rs");
  const source = readFileSync(path, "utf8");
  const codes = [...source.matchAll(/ErrorKind::\w+ => "([a-z_]+)"/g)].map((m) => m[1]!);
  return [...new Set(codes)].sort();
}

const err = (code: string, over: Partial<ErrorPayload> = {}): ErrorPayload => ({
  code: code as ErrorKind,
  message: `the ${code} message`,
  hint: null,
  retryable: false,
  ...over,
});

describe("every error's next step", () => {
  it("has an entry for every code the engine can emit, each with a next step", () => {
    const codes = engineCodes();
    expect(codes.length).toBeGreaterThanOrEqual(26);
    expect(Object.keys(ERROR_DISPLAY).sort()).toEqual(codes);
    for (const code of codes) {
      const d = errorDisplay(code);
      expect(d.title, code).not.toBe("");
      expect(d.next.length, code).toBeGreaterThan(10);
      for (const a of d.actions) expect(ACTION_LABELS[a], `${code} ${a}`).toBeTruthy();
    }
  });

  it("maps the failures a person can fix to the button that fixes them", () => {
    expect(errorDisplay("auth").actions[0]).toBe("edit_credentials");
    expect(errorDisplay("connection").actions).toEqual(["retry", "check_address"]);
    expect(errorDisplay("disk_full").actions[0]).toBe("open_backup_folder");
    expect(errorDisplay("integrity").actions[0]).toBe("verify_another");
    expect(errorDisplay("tool_missing").actions).toEqual(["open_settings"]);
  });

  it("rejected credentials offer Edit credentials, which the app provides", () => {
    const edit = vi.fn();
    render(
      <ErrorActionsProvider value={{ edit_credentials: edit }}>
        <ErrorNotice error={err("auth")} testId="e" />
      </ErrorActionsProvider>,
    );
    expect(screen.getByTestId("e-hint")).toHaveTextContent("Enter the password or token again.");
    fireEvent.click(screen.getByTestId("e-action-edit_credentials"));
    expect(edit).toHaveBeenCalledOnce();
    expect(screen.getByTestId("e-action-edit_credentials")).toHaveTextContent("Edit credentials");
  });

  it("keeps the server's own words behind Details, the sentence and next step in front", () => {
    const said = 'pg_dump: error: FATAL: password authentication failed for user "app"';
    render(
      <ErrorNotice
        error={err("auth", {
          message: "The database refused the password for user app.",
          hint: "Enter the password again in Edit credentials.",
          detail: said,
        })}
        testId="e"
      />,
    );
    expect(screen.getByTestId("e-message")).toHaveTextContent("The database refused the password for user app.");
    expect(screen.getByTestId("e-message")).not.toHaveTextContent("authentication failed");
    const details = screen.getByTestId("e-detail");
    expect(details.tagName).toBe("DETAILS");
    expect(details).not.toHaveAttribute("open");
    expect(details).toHaveTextContent(said);
  });

  it("shows no Details when the engine gave none", () => {
    render(<ErrorNotice error={err("not_found")} testId="e" />);
    expect(screen.queryByTestId("e-detail")).toBeNull();
  });

  it("offers only the actions somebody can take here, and Try again only when retryable", () => {
    const retry = vi.fn();
    expect(offeredActions(err("connection"), { retry }).map((a) => a.kind)).toEqual([]);
    expect(offeredActions(err("connection", { retryable: true }), { retry }).map((a) => a.kind)).toEqual(["retry"]);
    const check = vi.fn();
    expect(
      offeredActions(err("connection", { retryable: true }), { retry, check_address: check }).map((a) => a.label),
    ).toEqual(["Try again", "Check the address"]);
    // No handler for any of integrity's actions: no button.
    expect(offeredActions(err("integrity"), {})).toEqual([]);
    // A cancel is no failure: no retry offered even when retryable.
    expect(offeredActions(err("cancelled", { retryable: true }), { retry })).toEqual([]);
  });

  it("the screen's own handlers win over the app's, and an engine hint is shown instead of the generic step", () => {
    const app = vi.fn();
    const mine = vi.fn();
    render(
      <ErrorActionsProvider value={{ open_backup_folder: app }}>
        <ErrorNotice error={err("disk_full", { hint: "free 2 GiB" })} testId="e" actions={{ open_backup_folder: mine }} />
      </ErrorActionsProvider>,
    );
    expect(screen.getByTestId("e-hint")).toHaveTextContent("free 2 GiB");
    fireEvent.click(screen.getByTestId("e-action-open_backup_folder"));
    expect(mine).toHaveBeenCalledOnce();
    expect(app).not.toHaveBeenCalled();
  });
});

describe("an error's message reads as a sentence (issue 44)", () => {
  it("starts with a capital however the engine wrote it", () => {
    const css = readFileSync(resolve("src/styles/base.css"), "utf8");
    expect(css).toMatch(/\.sentence::first-letter\s*\{\s*text-transform:\s*uppercase;/);
    render(<ErrorNotice error={{ code: "connection", message: "the server refused", hint: null, retryable: false }} testId="e" />);
    expect(screen.getByTestId("e-message")).toHaveClass("sentence");
  });
});
