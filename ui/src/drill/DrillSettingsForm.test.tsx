import { act, fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { ErrorPayload } from "../bindings";
import { DrillSettingsForm, sampleProblem } from "./DrillSettingsForm";

const defaults = { server_url: null, server_password_saved: false, storage_sample: null };

describe("DrillSettingsForm", () => {
  it("shows the defaults and saves a scratch server with its password and a sample size", async () => {
    const onSave = vi.fn().mockResolvedValue(null);
    render(<DrillSettingsForm settings={defaults} onSave={onSave} />);
    expect(screen.getByTestId("drill-settings-throwaway")).toBeChecked();
    expect(screen.getByTestId("drill-settings-storage-all")).toBeChecked();
    expect(screen.queryByTestId("drill-settings-url")).toBeNull();
    fireEvent.click(screen.getByTestId("drill-settings-server"));
    fireEvent.change(screen.getByTestId("drill-settings-url"), { target: { value: " postgres://drill@scratch:5432/postgres " } });
    fireEvent.change(screen.getByTestId("drill-settings-password"), { target: { value: "pw-1" } });
    fireEvent.click(screen.getByTestId("drill-settings-storage-sample"));
    fireEvent.change(screen.getByTestId("drill-settings-sample-size"), { target: { value: "25" } });
    await act(async () => fireEvent.click(screen.getByTestId("drill-settings-save")));
    expect(onSave).toHaveBeenCalledWith({ serverUrl: "postgres://drill@scratch:5432/postgres", password: "pw-1", storageSample: 25 });
    expect(screen.getByTestId("drill-settings-saved")).toBeInTheDocument();
    // The password field is emptied once saved (never shown back).
    expect(screen.getByTestId("drill-settings-password")).toHaveValue("");
  });

  it("starts from the saved settings and keeps the saved password when the field is left empty", async () => {
    const onSave = vi.fn().mockResolvedValue(null);
    render(
      <DrillSettingsForm
        settings={{ server_url: "postgres://drill@scratch/postgres", server_password_saved: true, storage_sample: 7 }}
        onSave={onSave}
      />,
    );
    expect(screen.getByTestId("drill-settings-server")).toBeChecked();
    expect(screen.getByTestId("drill-settings-url")).toHaveValue("postgres://drill@scratch/postgres");
    expect(screen.getByTestId("drill-settings-password")).toHaveAttribute("placeholder", expect.stringContaining("Saved"));
    expect(screen.getByTestId("drill-settings-sample-size")).toHaveValue(7);
    fireEvent.click(screen.getByTestId("drill-settings-throwaway"));
    fireEvent.click(screen.getByTestId("drill-settings-storage-all"));
    await act(async () => fireEvent.click(screen.getByTestId("drill-settings-save")));
    expect(onSave).toHaveBeenCalledWith({ serverUrl: null, password: null, storageSample: null });
  });

  it("shows the engine's refusal and does not send what cannot be read", async () => {
    const refusal: ErrorPayload = {
      code: "invalid_input",
      message: "the scratch server URL contains a password; Offsite keeps passwords in the OS keychain, never in its catalog",
      hint: null,
      retryable: false,
    };
    const onSave = vi.fn().mockResolvedValue(refusal);
    render(<DrillSettingsForm settings={defaults} onSave={onSave} />);
    fireEvent.click(screen.getByTestId("drill-settings-server"));
    fireEvent.change(screen.getByTestId("drill-settings-url"), { target: { value: "mysql://x" } });
    await act(async () => fireEvent.click(screen.getByTestId("drill-settings-save")));
    expect(onSave).not.toHaveBeenCalled();
    expect(screen.getByTestId("drill-settings-url-error")).toBeInTheDocument();
    fireEvent.change(screen.getByTestId("drill-settings-url"), { target: { value: "postgres://u:pw@x/postgres" } });
    await act(async () => fireEvent.click(screen.getByTestId("drill-settings-save")));
    expect(onSave).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId("drill-settings-error")).toHaveTextContent("contains a password");
    expect(screen.queryByTestId("drill-settings-saved")).toBeNull();
    expect(sampleProblem("12")).toBeNull();
    expect(sampleProblem("1.5")).not.toBeNull();
    expect(sampleProblem("")).not.toBeNull();
  });
});
