import { mockIPC } from "@tauri-apps/api/mocks";
import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { BackupRow, BackupType, Manifest } from "../bindings";
import { BackupContents, contentsLabel } from "./BackupContents";

const row = (backup_type: BackupType): BackupRow => ({
  id: "b1",
  path: `/b/shop_20261120_100000_${backup_type}.tar.gz`,
  size: 1024,
  backup_type,
  created_at: "2026-11-20T10:00:00Z",
  verified_at: null,
  status: "unverified",
  verify_problem: null,
});

const manifest = {
  counts: { database: { items: 12, bytes: 4096 }, storage: { items: 1234, bytes: 5242880 }, config: { items: 3, bytes: 100 } },
  storage: {
    buckets: 2,
    objects: 1234,
    bytes: 5242880,
    downloaded_objects: 1000,
    downloaded_bytes: 1,
    reused_objects: 234,
    vanished: 0,
    deleted: 0,
  },
} as unknown as Manifest;

describe("BackupContents", () => {
  it("sums up a manifest's components", () => {
    expect(contentsLabel(manifest)).toBe(
      "database: 12 tables · 1,234 objects in 2 buckets (5.0 MB), 234 reused · 3 configuration files",
    );
    expect(contentsLabel({ counts: { storage: { items: 7, bytes: 2048 } } } as unknown as Manifest)).toBe("7 objects (2.0 KB)");
  });

  it("reads the manifest of a full backup only, never of a database one", async () => {
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "inspect_archive") {
        asked.push(args);
        return manifest;
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    const { rerender } = render(<BackupContents backup={row("full")} />);
    expect(await screen.findByTestId("backup-contents")).toHaveTextContent("1,234 objects in 2 buckets");
    expect(asked).toEqual([{ path: "/b/shop_20261120_100000_full.tar.gz" }]);
    rerender(<BackupContents backup={row("database")} />);
    expect(screen.queryByTestId("backup-contents")).not.toBeInTheDocument();
    expect(asked).toHaveLength(1);
  });
});
