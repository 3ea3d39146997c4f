import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Welcome } from "./Welcome";

describe("the first-run welcome (issue 44)", () => {
  it("asks whether new projects are encrypted and saves the answer as the engine's default", async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === "get_default_encryption") return "off";
      if (cmd === "set_default_encryption") return (args as { mode: string }).mode;
      throw new Error(`unexpected command ${cmd}`);
    });
    render(<Welcome />);
    const key = await screen.findByTestId("welcome-key");
    await waitFor(() => expect(key).toBeEnabled());
    // No answer is made for the user: the current default is only marked.
    expect(calls.filter((c) => c.cmd === "set_default_encryption")).toHaveLength(0);
    fireEvent.click(key);
    expect(await screen.findByTestId("welcome-answered")).toHaveTextContent("New projects are encrypted with a generated key.");
    expect(calls.find((c) => c.cmd === "set_default_encryption")?.args).toEqual({ mode: "key" });
    expect(screen.queryByTestId("welcome")).toBeNull();
  });
});
