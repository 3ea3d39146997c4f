import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { PruneOutcome, RetentionView } from "../bindings";
import { StoreProvider } from "../store";
import { RetentionSection } from "./RetentionSection";

type Call = { cmd: string; args: Record<string, unknown> };

const view: RetentionView = {
  project: "shop",
  policy: {
    keep_last: 1,
    keep_hourly: null,
    keep_daily: 2,
    keep_weekly: null,
    keep_monthly: null,
    keep_yearly: null,
    keep_within: null,
  },
  rules: "keep-last 1, keep-daily 2",
  time_zone: "Europe/Berlin",
  updated_at: "2026-11-20T10:00:00Z",
};

const outcome = (dryRun: boolean): PruneOutcome => ({
  project: "shop",
  schedule: null,
  dry_run: dryRun,
  policy: "keep-last 1, keep-daily 2",
  time_zone: "Europe/Berlin",
  job_id: dryRun ? null : "job-p",
  kept: [
    { id: "b3", created_at: "2026-11-21T12:00:00Z", path: "/b/shop_3.tar.gz", reasons: ["last 1", "daily 2026-11-21"] },
    { id: "b1", created_at: "2026-11-20T12:00:00Z", path: "/b/shop_1.tar.gz", reasons: ["daily 2026-11-20"] },
  ],
  removed: [
    {
      id: "b2",
      created_at: "2026-11-21T08:00:00Z",
      path: "/b/shop_2.tar.gz",
      file_deleted: !dryRun,
      locked: [{ destination: "bucket", locked_until: "2026-12-03T10:00:00Z", note: "its copy at bucket stays, locked until 2026-12-03 10:00 UTC" }],
    },
  ],
  skipped: [],
});

function setup(saved: RetentionView = view) {
  const calls: Call[] = [];
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    switch (cmd) {
      case "get_retention":
        return saved;
      case "set_retention":
        if ((a.policy as RetentionView["policy"]).keep_last === 0) {
          return Promise.reject({
            code: "invalid_input",
            message: "--keep-last must be at least 1",
            hint: "leave --keep-last out to turn that rule off",
            retryable: false,
          });
        }
        return { ...view, policy: a.policy, rules: "keep-last 3, keep-within 30d" };
      case "preview_prune":
        return outcome(true);
      case "apply_retention":
        return outcome(false);
      case "get_project":
      case "list_backups":
        return Promise.reject({ code: "not_found", message: "-", hint: null, retryable: false });
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  render(
    <StoreProvider>
      <RetentionSection project="shop" />
    </StoreProvider>,
  );
  return calls;
}

describe("RetentionSection", () => {
  it("shows the saved rules and the zone periods are counted in", async () => {
    setup();
    expect(await screen.findByTestId("retention-rules")).toHaveTextContent("the last 1 · 2 daily");
    expect(screen.getByTestId("retention-zone")).toHaveTextContent("Europe/Berlin");
    await waitFor(() => expect(screen.getByTestId("retention-last")).toHaveValue(1));
    expect(screen.getByTestId("retention-daily")).toHaveValue(2);
    expect(screen.getByTestId("retention-weekly")).toHaveValue(null);
  });

  it("previews every backup with its reasons or that it would be removed", async () => {
    const calls = setup();
    await screen.findByTestId("retention-rules");
    fireEvent.click(screen.getByTestId("retention-preview"));
    const rows = await screen.findAllByTestId("retention-row");
    expect(rows.map((r) => r.getAttribute("data-backup"))).toEqual(["b3", "b2", "b1"]);
    expect(within(rows[0]!).getByTestId("retention-row-outcome")).toHaveTextContent("Kept: last 1, daily 2026-11-21");
    expect(rows[1]).toHaveAttribute("data-keep", "false");
    expect(within(rows[1]!).getByTestId("retention-row-outcome")).toHaveTextContent("Would be removed");
    // Only the archive here: its copy locked at a destination stays until its date (issue 47 item 6).
    expect(within(rows[1]!).getByTestId("retention-row-locked")).toHaveTextContent("here; its copy at bucket stays, locked until 2026-12-03 10:00 UTC");
    expect(within(rows[0]!).queryByTestId("retention-row-locked")).toBeNull();
    expect(calls.some((c) => c.cmd === "apply_retention")).toBe(false);
  });

  it("applies the policy only after a confirmation", async () => {
    const calls = setup();
    await screen.findByTestId("retention-rules");
    fireEvent.click(screen.getByTestId("retention-apply"));
    expect(calls.some((c) => c.cmd === "apply_retention")).toBe(false);
    fireEvent.click(screen.getByTestId("retention-apply-confirm"));
    expect(await screen.findByTestId("retention-notice")).toHaveTextContent("Removed 1 backup.");
    expect(calls.find((c) => c.cmd === "apply_retention")?.args).toEqual({ project: "shop" });
    expect(screen.getByTestId("retention-preview-result")).toHaveAttribute("data-dry-run", "false");
  });

  it("saves the rules typed (empty fields off) and shows the engine's refusal", async () => {
    const calls = setup();
    await waitFor(() => expect(screen.getByTestId("retention-last")).toHaveValue(1));
    fireEvent.change(screen.getByTestId("retention-last"), { target: { value: "3" } });
    fireEvent.change(screen.getByTestId("retention-daily"), { target: { value: "" } });
    fireEvent.change(screen.getByTestId("retention-within"), { target: { value: "30d" } });
    // Unsaved rules cannot be previewed or applied.
    expect(screen.getByTestId("retention-preview")).toBeDisabled();
    fireEvent.click(screen.getByTestId("retention-save"));
    expect(await screen.findByTestId("retention-notice")).toHaveTextContent("keep-last 3, keep-within 30d");
    expect(calls.find((c) => c.cmd === "set_retention")?.args).toEqual({
      project: "shop",
      policy: {
        keep_last: 3,
        keep_hourly: null,
        keep_daily: null,
        keep_weekly: null,
        keep_monthly: null,
        keep_yearly: null,
        keep_within: "30d",
      },
      timeZone: null,
    });

    fireEvent.change(screen.getByTestId("retention-last"), { target: { value: "0" } });
    fireEvent.click(screen.getByTestId("retention-save"));
    const error = await screen.findByTestId("retention-action-error");
    expect(error).toHaveAttribute("data-code", "invalid_input");
    expect(screen.getByTestId("retention-action-error-hint")).toHaveTextContent("turn that rule off");
  });
});

describe("retention presets (issue 44)", () => {
  const everything: RetentionView = {
    ...view,
    policy: { keep_last: null, keep_hourly: null, keep_daily: null, keep_weekly: null, keep_monthly: null, keep_yearly: null, keep_within: null },
    rules: "keep everything",
  };

  it("a project that keeps everything says so, and one click sets 7 daily · 4 weekly · 12 monthly to save", async () => {
    const calls = setup(everything);
    await waitFor(() => expect(screen.getByTestId("retention-presets")).toHaveAttribute("data-preset", "everything"));
    expect(screen.getByTestId("retention-keeps-everything")).toBeInTheDocument();
    fireEvent.click(screen.getByTestId("retention-preset-recommended"));
    expect(screen.getByTestId("retention-daily")).toHaveValue(7);
    expect(screen.getByTestId("retention-weekly")).toHaveValue(4);
    expect(screen.getByTestId("retention-monthly")).toHaveValue(12);
    expect(screen.getByTestId("retention-presets")).toHaveAttribute("data-preset", "recommended");
    fireEvent.click(screen.getByTestId("retention-save"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "set_retention")).toBe(true));
    const sent = calls.find((c) => c.cmd === "set_retention")!.args.policy as RetentionView["policy"];
    expect(sent).toMatchObject({ keep_daily: 7, keep_weekly: 4, keep_monthly: 12, keep_last: null });
  });

  it("keep everything stays a choice, and own rules are named as such", async () => {
    setup();
    await waitFor(() => expect(screen.getByTestId("retention-presets")).toHaveAttribute("data-preset", "custom"));
    expect(screen.queryByTestId("retention-keeps-everything")).toBeNull();
    fireEvent.click(screen.getByTestId("retention-preset-everything"));
    expect(screen.getByTestId("retention-last")).toHaveValue(null);
    expect(screen.getByTestId("retention-daily")).toHaveValue(null);
    expect(screen.getByTestId("retention-presets")).toHaveAttribute("data-preset", "everything");
  });
});
