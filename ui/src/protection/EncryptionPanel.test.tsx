import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { EncryptionSettings } from "../bindings";
import { EncryptionPanel } from "./EncryptionPanel";

const KEY = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS0EXAMPLE";

describe("EncryptionPanel over IPC", () => {
  it("sets up a key, shows the item, confirms it, and the engine's wrong_key shows as such", async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    let settings: EncryptionSettings = { mode: "off", public_key: null, recipients: [], confirmed: true };
    mockIPC((cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      switch (cmd) {
        case "get_encryption":
          return settings;
        case "set_encryption":
          settings = { mode: "key", public_key: "age1pub", recipients: [], confirmed: false };
          return { settings, recovery_item: KEY };
        case "confirm_recovery":
          if (a.item !== KEY) throw { code: "wrong_key", message: "This key does not open it.", hint: null, retryable: false };
          settings = { ...settings, confirmed: true };
          return settings;
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    });
    render(<EncryptionPanel project="shop" confirmRequest={0} />);
    await waitFor(() => expect(screen.getByTestId("encryption-view")).toHaveAttribute("data-state", "off"));
    fireEvent.click(screen.getByTestId("encryption-edit"));
    fireEvent.click(screen.getByTestId("encryption-mode-key"));
    fireEvent.change(screen.getByTestId("encryption-recipients-input"), { target: { value: "age1team" } });
    fireEvent.click(screen.getByTestId("encryption-save"));
    expect(await screen.findByTestId("encryption-recovery-item")).toHaveTextContent(KEY);
    expect(calls.find((c) => c.cmd === "set_encryption")?.args).toEqual({
      project: "shop",
      request: { mode: "key", passphrase: null, recipients: ["age1team"] },
    });
    fireEvent.click(screen.getByTestId("encryption-recovery-continue"));
    fireEvent.change(screen.getByTestId("encryption-confirm-input"), { target: { value: "AGE-SECRET-KEY-1NOPE" } });
    fireEvent.click(screen.getByTestId("encryption-confirm-submit"));
    expect(await screen.findByTestId("encryption-confirm-error")).toHaveAttribute("data-code", "wrong_key");
    fireEvent.change(screen.getByTestId("encryption-confirm-input"), { target: { value: KEY } });
    fireEvent.click(screen.getByTestId("encryption-confirm-submit"));
    await waitFor(() => expect(screen.getByTestId("encryption-view")).toHaveAttribute("data-state", "active"));
    expect(calls.filter((c) => c.cmd === "confirm_recovery").map((c) => c.args)).toEqual([
      { project: "shop", item: "AGE-SECRET-KEY-1NOPE" },
      { project: "shop", item: KEY },
    ]);
  });
});
