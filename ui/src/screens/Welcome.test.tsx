import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Welcome } from "./Welcome";

describe("the first-run welcome (issue 44)", () => {
  it("asks whether new projects are encrypted and saves the answer as the engine's default", async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === "get_default_encryption") return { mode: "off", chosen: false };
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

  it("is not shown again once the question was answered, whatever the answer", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      // Answered before ("No, not for now" included): the engine says it was chosen.
      if (cmd === "get_default_encryption") return { mode: "off", chosen: true };
      throw new Error(`unexpected command ${cmd}`);
    });
    const { container } = render(<Welcome />);
    await waitFor(() => expect(calls).toContain("get_default_encryption"));
    // Let the answer arrive, then nothing is there: no question, no notice.
    await new Promise((r) => setTimeout(r, 0));
    expect(screen.queryByTestId("welcome")).toBeNull();
    expect(screen.queryByTestId("welcome-answered")).toBeNull();
    expect(container).toBeEmptyDOMElement();
  });

  it("asks when the engine could not say, and an answer still saves", async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === "get_default_encryption") throw { code: "catalog", message: "The catalog is locked.", hint: null, retryable: true };
      if (cmd === "set_default_encryption") return (args as { mode: string }).mode;
      throw new Error(`unexpected command ${cmd}`);
    });
    render(<Welcome />);
    const off = await screen.findByTestId("welcome-off");
    expect(off).toBeEnabled();
    fireEvent.click(off);
    expect(await screen.findByTestId("welcome-answered")).toHaveTextContent("New projects are not encrypted.");
    expect(calls.find((c) => c.cmd === "set_default_encryption")?.args).toEqual({ mode: "off" });
  });
});
