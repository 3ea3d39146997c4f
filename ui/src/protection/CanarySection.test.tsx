import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { CanarySection } from "./CanarySection";

type Call = { cmd: string; args: Record<string, unknown> };

function setup() {
  const calls: Call[] = [];
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    switch (cmd) {
      case "canary_thresholds":
        return { archive_drop_pct: 50, table_drop_pct: 90 };
      case "set_canary_thresholds": {
        const t = a.thresholds as { archive_drop_pct: number; table_drop_pct: number } | null;
        if (t === null) return { archive_drop_pct: 50, table_drop_pct: 90 };
        if (t.archive_drop_pct > 100)
          return Promise.reject({ code: "invalid_input", message: "the archive threshold must be 1–100 %", hint: "write a percentage", retryable: false });
        return t;
      }
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  render(<CanarySection project="shop" />);
  return calls;
}

describe("CanarySection", () => {
  it("shows the thresholds that apply, saves new ones and goes back to the defaults", async () => {
    const calls = setup();
    const archive = await screen.findByTestId("canary-archive");
    expect(archive).toHaveValue(50);
    expect(screen.getByTestId("canary-table")).toHaveValue(90);
    expect(screen.getByTestId("canary-section")).toHaveTextContent("a table or a schema is gone (always)");

    fireEvent.change(archive, { target: { value: "30" } });
    fireEvent.change(screen.getByTestId("canary-table"), { target: { value: "75" } });
    fireEvent.click(screen.getByTestId("canary-save"));
    await screen.findByTestId("canary-notice");
    expect(calls.find((c) => c.cmd === "set_canary_thresholds")?.args).toEqual({
      project: "shop",
      thresholds: { archive_drop_pct: 30, table_drop_pct: 75 },
    });
    expect(screen.getByTestId("canary-archive")).toHaveValue(30);

    fireEvent.click(screen.getByTestId("canary-defaults"));
    await waitFor(() => expect(screen.getByTestId("canary-archive")).toHaveValue(50));
    expect(calls.filter((c) => c.cmd === "set_canary_thresholds").at(-1)?.args).toEqual({ project: "shop", thresholds: null });
    expect(screen.getByTestId("canary-notice")).toHaveTextContent("Back to the defaults.");
  });

  it("shows the engine's refusal and sends nothing while a field is not a number", async () => {
    const calls = setup();
    const archive = await screen.findByTestId("canary-archive");
    fireEvent.change(archive, { target: { value: "" } });
    expect(screen.getByTestId("canary-save")).toBeDisabled();
    fireEvent.change(archive, { target: { value: "150" } });
    fireEvent.click(screen.getByTestId("canary-save"));
    expect(await screen.findByTestId("canary-error")).toHaveTextContent("1–100 %");
    expect(calls.filter((c) => c.cmd === "set_canary_thresholds")).toHaveLength(1);
  });
});
