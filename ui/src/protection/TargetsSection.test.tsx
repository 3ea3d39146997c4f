import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { durationOf, secondsOf, TargetsSection } from "./TargetsSection";

type Call = { cmd: string; args: Record<string, unknown> };

function setup(saved = { rpo_seconds: 86400, rto_seconds: 1800 }) {
  const calls: Call[] = [];
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    switch (cmd) {
      case "recovery_targets":
        return saved;
      case "set_recovery_targets": {
        const t = a.targets as { rpo_seconds: number | null };
        if (t.rpo_seconds === 0)
          return Promise.reject({ code: "invalid_input", message: "an RPO of 0 cannot be met", hint: "give at least a minute", retryable: false });
        return t;
      }
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  render(<TargetsSection project="shop" />);
  return calls;
}

describe("TargetsSection", () => {
  it("shows the saved targets in hours or minutes and says what each means", async () => {
    setup();
    expect(await screen.findByTestId("targets-rpo-amount")).toHaveValue("24");
    expect(screen.getByTestId("targets-rpo-unit")).toHaveValue("hours");
    expect(screen.getByTestId("targets-rto-amount")).toHaveValue("30");
    expect(screen.getByTestId("targets-rto-unit")).toHaveValue("minutes");
    const text = screen.getByTestId("targets-section").textContent ?? "";
    expect(text).toContain("the most data you accept to lose");
    expect(text).toContain("the longest a restore may take");
    expect(text).toContain("At risk");
  });

  it("saves both together in seconds; an empty field clears its target", async () => {
    const calls = setup();
    fireEvent.change(await screen.findByTestId("targets-rpo-amount"), { target: { value: "90" } });
    fireEvent.change(screen.getByTestId("targets-rpo-unit"), { target: { value: "minutes" } });
    fireEvent.change(screen.getByTestId("targets-rto-amount"), { target: { value: "" } });
    fireEvent.click(screen.getByTestId("targets-save"));
    await screen.findByTestId("targets-notice");
    expect(calls.find((c) => c.cmd === "set_recovery_targets")?.args).toEqual({
      project: "shop",
      targets: { rpo_seconds: 5400, rto_seconds: null },
    });
    expect(screen.getByTestId("targets-rto-amount")).toHaveValue("");
  });

  it("shows the engine's refusal; text that is not a number sends nothing", async () => {
    const calls = setup();
    const rpo = await screen.findByTestId("targets-rpo-amount");
    fireEvent.change(rpo, { target: { value: "a day" } });
    expect(screen.getByTestId("targets-save")).toBeDisabled();
    fireEvent.change(rpo, { target: { value: "0" } });
    fireEvent.click(screen.getByTestId("targets-save"));
    expect(await screen.findByTestId("targets-error")).toHaveTextContent("an RPO of 0 cannot be met");
    expect(calls.filter((c) => c.cmd === "set_recovery_targets")).toHaveLength(1);
  });

  it("converts between seconds and the fields", () => {
    expect(durationOf(7200)).toEqual({ amount: "2", unit: "hours" });
    expect(durationOf(900)).toEqual({ amount: "15", unit: "minutes" });
    expect(durationOf(null)).toEqual({ amount: "", unit: "hours" });
    expect(secondsOf({ amount: "1.5", unit: "hours" })).toBe(5400);
    expect(secondsOf({ amount: " ", unit: "hours" })).toBeNull();
    expect(secondsOf({ amount: "-3", unit: "minutes" })).toBeUndefined();
  });
});
