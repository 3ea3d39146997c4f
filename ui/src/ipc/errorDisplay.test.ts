import { describe, expect, it } from "vitest";
import type { ErrorKind } from "../bindings";
import { ERROR_DISPLAY, errorDisplay, errorTitle, isCancel } from "./errorDisplay";

// Every kind the bindings declare. Typed as a Record so that a new ErrorKind fails type-checking
// here too (and in the table itself) until it is listed.
const KINDS: Record<ErrorKind, true> = {
  invalid_input: true,
  not_found: true,
  already_exists: true,
  connection: true,
  auth: true,
  rate_limited: true,
  permission: true,
  tool_missing: true,
  tool_failed: true,
  integrity: true,
  unsupported_format: true,
  unsafe_path: true,
  busy: true,
  cancelled: true,
  disk_full: true,
  needs_consent: true,
  arbitrary_sql: true,
  wrong_key: true,
  validation_failed: true,
  secrets: true,
  keychain_unavailable: true,
  catalog: true,
  io: true,
  interrupted: true,
  conflict: true,
  archived: true,
  internal: true,
};

describe("the error table", () => {
  it("has a row for every error kind, and nothing else", () => {
    expect(Object.keys(ERROR_DISPLAY).sort()).toEqual(Object.keys(KINDS).sort());
    for (const [code, d] of Object.entries(ERROR_DISPLAY)) {
      expect(d.title, code).not.toBe("");
      expect(["neutral", "error", "warning"], code).toContain(d.tone);
      expect(d.outcome, code).not.toBe("");
      expect(d.restore.text, code).not.toBe("");
    }
  });

  it("shows a cancel as neutral, not as a failure, without a retry", () => {
    expect(errorDisplay("cancelled")).toMatchObject({ tone: "neutral", failure: false, outcome: "Cancelled", offerRetry: false });
    expect(isCancel("cancelled")).toBe(true);
    expect(isCancel("connection")).toBe(false);
    expect(isCancel(null)).toBe(false);
  });

  it("shows an unknown code (a newer engine) as a plain failure", () => {
    expect(errorDisplay("something_new")).toMatchObject({ tone: "error", failure: true, outcome: "Failed" });
    expect(errorTitle("something_new")).toBe("Something went wrong");
    expect(errorDisplay(undefined).failure).toBe(true);
  });

  it("keeps the titles the window showed before the table", () => {
    expect(errorTitle("connection")).toBe("Cannot reach the server");
    expect(errorTitle("disk_full")).toBe("The disk is full");
    expect(errorTitle("io")).toBe("A local error occurred");
    expect(errorTitle("catalog")).toBe("A local error occurred");
    expect(errorTitle("keychain_unavailable")).toBe("The keychain is unavailable");
    expect(errorTitle("secrets")).toBe("The keychain failed");
  });

  it("names what an import treats as an unreadable file, and the add form's name field", () => {
    const unreadable = Object.entries(ERROR_DISPLAY)
      .filter(([, d]) => d.unreadableFile)
      .map(([k]) => k)
      .sort();
    expect(unreadable).toEqual(["integrity", "invalid_input", "unsafe_path", "unsupported_format"]);
    expect(errorDisplay("already_exists").field).toBe("name");
  });
});
