// Step 1 tells its choices apart (issue 44, restore-01 / screens-light-09): two backups of the same
// minute differ in their names (seconds), the one a drill proved is marked, and the file is
// shortened in the middle with Copy rather than a raw /tmp path.
import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { BackupRow } from "../../bindings";
import { backup } from "../../screens/fixtures";
import { initialState } from "../steps";
import { SourceStep } from "./SourceStep";

const at = (iso: string, i: number, over: Partial<BackupRow> = {}) =>
  ({ ...backup(i), created_at: iso, status: "verified", ...over }) as BackupRow;

describe("the restore's first step (issue 44)", () => {
  it("two backups of the same minute read differently, the proven one is marked, and each file has Copy", () => {
    const rows = [at("2026-11-26T13:34:22Z", 0), at("2026-11-26T13:34:05Z", 1), at("2026-11-26T12:00:00Z", 2)];
    render(
      <SourceStep state={initialState("shop")} dispatch={() => {}} backups={rows} loadError={null} provenBackupId="backup-1" />,
    );
    const names = screen.getAllByTestId("wizard-backup-name").map((n) => n.textContent ?? "");
    expect(new Set(names).size).toBe(3);
    expect(names[0]).toMatch(/:34:22$/);
    expect(names[1]).toMatch(/:34:05$/);
    expect(names[2]).toMatch(/ \d\d:00$/); // alone in its minute: no seconds
    const proven = screen.getAllByTestId("wizard-backup-proven");
    expect(proven).toHaveLength(1);
    expect(proven[0]).toHaveTextContent("Proven by a drill");
    expect(proven[0]!.closest("[data-backup-id]")).toHaveAttribute("data-backup-id", "backup-1");
    expect(screen.getAllByTestId("wizard-backup-path-copy")).toHaveLength(3);
    expect(screen.getAllByTestId("wizard-backup-path")[0]!.querySelector(".middle-ellipsis")).toHaveAttribute("title", rows[0]!.path);
  });

  it("two of the same second get their size, or their order when that is the same too", () => {
    const rows = [at("2026-11-26T13:34:22Z", 0), at("2026-11-26T13:34:22Z", 1), at("2026-11-26T11:00:07Z", 2), at("2026-11-26T11:00:07Z", 3, { size: 3 * 1024 * 1024 })];
    render(<SourceStep state={initialState("shop")} dispatch={() => {}} backups={rows} loadError={null} />);
    const names = screen.getAllByTestId("wizard-backup-name").map((n) => n.textContent ?? "");
    expect(names[0]).toMatch(/:34:22, 1\.0 MB$/);
    expect(names[1]).toMatch(/:34:22, 2\.0 MB$/);
    expect(names[2]).toMatch(/:00:07 \(2 of 2\)$/);
    expect(names[3]).toMatch(/:00:07 \(1 of 2\)$/);
    expect(screen.queryByTestId("wizard-backup-proven")).not.toBeInTheDocument();
  });
});
