import { fireEvent, render, screen, within } from "@testing-library/react";
import { useReducer } from "react";
import { describe, expect, it, vi } from "vitest";
import type { Manifest } from "../../bindings";
import { ARCHIVE, configPlan, storagePlan, verifyReport } from "../fixtures";
import { initialState, planChoices, reducer, restoreRequest, type WizardState } from "../steps";
import { archiveComponents, ComponentsRestore, ConfigDiffTable, StoragePlanView } from "./ComponentsRestore";

const full = {
  counts: { database: { items: 3, bytes: 10 }, storage: { items: 3, bytes: 30 }, config: { items: 2, bytes: 20 } },
} as unknown as Manifest;

/** A wizard on the check step of an intact archive holding `manifest`, into this project's database. */
function atVerify(): WizardState {
  return [
    { type: "chooseBackup", backupId: "b-1", path: ARCHIVE } as const,
    { type: "next" } as const,
    { type: "verifyStarted" } as const,
    { type: "verifyDone", report: verifyReport() } as const,
    { type: "next" } as const,
    { type: "chooseTarget", target: { kind: "this" } } as const,
    { type: "back" } as const,
  ].reduce(reducer, initialState("shop"));
}

/** The choice form inside the wizard's state; `latest()` is the state after the user's clicks. */
function setup(manifest: Manifest | null = full) {
  let latest: WizardState = atVerify();
  function Harness() {
    const [state, dispatch] = useReducer(reducer, latest);
    latest = state;
    return (
      <ComponentsRestore
        manifest={manifest}
        project="shop"
        projects={["staging"]}
        components={state.components}
        onDatabase={(on) => dispatch({ type: "setDatabase", on })}
        onStorage={(choice) => dispatch({ type: "setStorage", choice })}
        onConfig={(choice) => dispatch({ type: "setConfig", choice })}
      />
    );
  }
  render(<Harness />);
  return { latest: () => latest, request: () => restoreRequest(latest, planChoices(latest)) };
}

describe("ComponentsRestore", () => {
  it("shows only for archives with storage or configuration", () => {
    expect(archiveComponents(full)).toEqual({ storage: true, config: true });
    expect(archiveComponents({ counts: { database: { items: 1, bytes: 1 } } } as unknown as Manifest)).toEqual({
      storage: false,
      config: false,
    });
    setup({ counts: { database: { items: 1, bytes: 1 } } } as unknown as Manifest);
    expect(screen.queryByTestId("wizard-components")).not.toBeInTheDocument();
  });

  it("puts the chosen storage into the wizard's one request beside the database; nothing is planned here", () => {
    const { request } = setup();
    expect(request()?.storage).toBeNull();
    expect(screen.queryByText(/on its own/)).not.toBeInTheDocument();
    expect(screen.queryByTestId("wizard-storage-plan")).not.toBeInTheDocument();
    expect(screen.queryByTestId("wizard-storage-run")).not.toBeInTheDocument();
    fireEvent.click(screen.getByTestId("wizard-components-storage"));
    expect(screen.getByTestId("wizard-storage")).toBeInTheDocument();
    expect(request()).toEqual({
      archive: ARCHIVE,
      database: { to: { project: "shop" }, options: expect.objectContaining({ replace: true }) },
      storage: { to: { kind: "project", value: "shop" }, buckets: { kind: "all" }, bucket_map: {}, mirror: false, overwrite: false },
      config: null,
    });
    // Mirror is asked for here; its typed consent is given on the review, under the plan.
    fireEvent.click(screen.getByTestId("wizard-storage-mirror"));
    expect(request()?.storage?.mirror).toBe(true);
    expect(screen.queryByTestId("wizard-storage-consent")).not.toBeInTheDocument();
    // Another saved project's storage.
    fireEvent.change(screen.getByTestId("wizard-storage-project"), { target: { value: "staging" } });
    expect(request()?.storage?.to).toEqual({ kind: "project", value: "staging" });
    fireEvent.click(screen.getByTestId("wizard-components-storage"));
    expect(request()?.storage).toBeNull();
  });

  it("restores chosen buckets into a folder (no request until the folder is typed)", () => {
    const { request } = setup();
    fireEvent.click(screen.getByTestId("wizard-components-storage"));
    fireEvent.click(screen.getByTestId("wizard-storage-some"));
    fireEvent.change(screen.getByTestId("wizard-storage-buckets"), { target: { value: "avatars" } });
    fireEvent.click(screen.getByTestId("wizard-storage-to-folder"));
    expect(request()).toBeNull();
    fireEvent.change(screen.getByTestId("wizard-storage-folder"), { target: { value: "/tmp/out" } });
    expect(request()?.storage).toMatchObject({
      to: { kind: "folder", value: "/tmp/out" },
      buckets: { kind: "only", names: ["avatars"] },
    });
  });

  it("puts the configuration into the same request, written back to the project", () => {
    const { request, latest } = setup();
    fireEvent.click(screen.getByTestId("wizard-components-config"));
    expect(request()?.config).toEqual({ project: "shop", settings: [], functions: [], vault_key: false });
    fireEvent.change(screen.getByTestId("wizard-config-project"), { target: { value: "staging" } });
    expect(request()?.config).toEqual({ project: "staging", settings: [], functions: [], vault_key: false });
    expect(request()?.database).not.toBeNull();
    expect(latest().plan.status).toBe("idle"); // a changed choice makes the plan again
  });

  it("shows the storage plan per bucket", () => {
    render(<StoragePlanView plan={storagePlan(true)} />);
    const rows = screen.getAllByTestId("wizard-storage-bucket");
    expect(rows[0]).toHaveTextContent("avatars (to be created)");
    expect(rows[1]).toHaveTextContent("docs");
    expect(screen.getByTestId("wizard-storage-summary")).toHaveTextContent(
      "2 objects to write (20 B), 0 overwritten, 1 identical skipped, 4 deleted",
    );
    expect(screen.getByTestId("wizard-storage-summary")).toHaveTextContent(/into the object store\.$/);
    expect(screen.queryByTestId("wizard-storage-target")).not.toBeInTheDocument();
  });

  it("a folder target on its own line, shortened in the middle with Copy, not a raw /tmp path in the sentence (issue 44, storage-04)", () => {
    render(<StoragePlanView plan={{ ...storagePlan(false), target: "folder /tmp/offsite-e2e-storage-6IpRFX" }} />);
    expect(screen.getByTestId("wizard-storage-summary")).not.toHaveTextContent("/tmp/");
    expect(screen.getByTestId("wizard-storage-target")).toHaveTextContent("Into the folder");
    expect(screen.getByTestId("wizard-storage-target-path-copy")).toBeInTheDocument();
    expect(screen.getByTestId("wizard-storage-target-path").querySelector(".middle-ellipsis")).toHaveAttribute(
      "title",
      "/tmp/offsite-e2e-storage-6IpRFX",
    );
  });

  it("shows the configuration side by side; redacted and non-writable settings cannot be chosen", () => {
    const onToggle = vi.fn();
    render(<ConfigDiffTable plan={configPlan} chosen={new Set()} onToggle={onToggle} />);
    const table = screen.getByTestId("wizard-config-diffs");
    const rows = within(table).getAllByTestId("wizard-config-diff");
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveTextContent("https://old.example");
    expect(rows[0]).toHaveTextContent("https://new.example");
    expect(rows[1]).toHaveTextContent("(redacted)");
    const boxes = within(table).getAllByTestId("wizard-config-choose");
    expect(boxes[1]).toBeDisabled();
    expect(boxes[1]).toHaveAttribute("title", expect.stringMatching(/Redacted/));
    expect(boxes[2]).toBeDisabled();
    fireEvent.click(boxes[0]!);
    expect(onToggle).toHaveBeenCalledWith("supabase/auth.json:site_url", true);
  });
});
