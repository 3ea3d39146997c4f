import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ConfigPlan, JobFinished, Manifest, RestoreRequest, StoragePlan } from "../../bindings";
import { StoreProvider } from "../../store";
import { archiveComponents, ComponentsRestore } from "./ComponentsRestore";

const ARCHIVE = "/b/shop_20261120_100000_full.tar.gz";
const full = {
  counts: { database: { items: 3, bytes: 10 }, storage: { items: 3, bytes: 30 }, config: { items: 2, bytes: 20 } },
} as unknown as Manifest;

const plan = (mirror: boolean): StoragePlan =>
  ({
    archive: ARCHIVE,
    backup_id: "b1",
    project: "shop",
    created_at: "2026-11-20T10:00:00Z",
    sources: [],
    target: "object store",
    mirror,
    overwrite: false,
    buckets: [
      {
        bucket: "avatars",
        target_bucket: "avatars",
        create: true,
        objects: 2,
        bytes: 20,
        upload: 2,
        upload_bytes: 20,
        overwrite: 0,
        identical: 0,
        keep_different: 0,
        extra: 0,
        delete: 0,
        delete_bytes: 0,
        overwrite_sample: [],
      },
      {
        bucket: "docs",
        target_bucket: "docs",
        create: false,
        objects: 1,
        bytes: 10,
        upload: 0,
        upload_bytes: 0,
        overwrite: 0,
        identical: 1,
        keep_different: 0,
        extra: 4,
        delete: mirror ? 4 : 0,
        delete_bytes: 0,
        overwrite_sample: [],
      },
    ],
    objects: 3,
    bytes: 30,
    upload: 2,
    upload_bytes: 20,
    overwrite_count: 0,
    identical: 1,
    keep_different: 0,
    delete: mirror ? 4 : 0,
    delete_bytes: 0,
    blockers: [],
    warnings: [],
  }) as unknown as StoragePlan;

const configPlan: ConfigPlan = {
  project: "shop",
  project_ref: "abcdefghijklmnopqrst",
  diffs: [
    { file: "supabase/auth.json", setting: "site_url", archived: "https://old.example", current: "https://new.example", writable: true, redacted: false },
    { file: "supabase/auth.json", setting: "smtp_pass", archived: "[redacted]", current: "x", writable: true, redacted: true },
    { file: "supabase/functions.json", setting: "", archived: [1], current: [2], writable: false, redacted: false },
  ],
  redacted: ["supabase/auth.json:smtp_pass"],
  will_write: [],
  blockers: [],
};

function setup(manifest: Manifest | null = full) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      switch (cmd) {
        case "plan_restore": {
          const r = a.request as RestoreRequest;
          return {
            archive: r.archive,
            database: null,
            storage: r.storage ? plan(Boolean(r.storage.mirror)) : null,
            config: r.config ? configPlan : null,
          };
        }
        case "start_restore": {
          const r = a.request as RestoreRequest;
          if (!r.config) return "job-s";
          // The configuration is written by the job; its one report says what was written.
          const finished: JobFinished = {
            job_id: "job-c",
            kind: "restore",
            ok: true,
            error: null,
            result: {
              kind: "restore",
              report: {
                archive: r.archive,
                database: null,
                storage: null,
                config: { plan: configPlan, applied: { applied: [{ file: "supabase/auth.json", setting: "site_url" }], skipped: [] } },
                ok: true,
                duration_ms: 10,
              },
            },
          };
          setTimeout(() => void emit("job-finished", finished), 0);
          return "job-c";
        }
        case "list_jobs":
          return [];
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
  render(
    <StoreProvider>
      <ComponentsRestore archive={ARCHIVE} manifest={manifest} project="shop" />
    </StoreProvider>,
  );
  return calls;
}

describe("ComponentsRestore", () => {
  it("shows only for archives with storage or configuration", () => {
    expect(archiveComponents(full)).toEqual({ storage: true, config: true });
    expect(archiveComponents({ counts: { database: { items: 1, bytes: 1 } } } as unknown as Manifest)).toEqual({
      storage: false,
      config: false,
    });
  });

  it("plans the storage restore per bucket, and mirror needs the typed word", async () => {
    const calls = setup();
    fireEvent.click(screen.getByTestId("wizard-components-storage"));
    expect(screen.getByTestId("wizard-storage-run")).toBeDisabled();
    fireEvent.click(screen.getByTestId("wizard-storage-plan"));
    const rows = await screen.findAllByTestId("wizard-storage-bucket");
    expect(rows[0]).toHaveTextContent("avatars (created)");
    expect(rows[1]).toHaveTextContent("docs");
    expect(screen.getByTestId("wizard-storage-summary")).toHaveTextContent("2 objects to write (20 B), 0 overwritten, 1 identical skipped");
    expect(calls.find((c) => c.cmd === "plan_restore")?.args).toEqual({
      request: {
        archive: ARCHIVE,
        database: null,
        storage: { to: { kind: "project", value: "shop" }, buckets: { kind: "all" }, bucket_map: {}, mirror: false, overwrite: false },
        config: null,
      },
    });

    // Mirror: a new plan, and Restore waits for the typed word.
    fireEvent.click(screen.getByTestId("wizard-storage-mirror"));
    expect(screen.queryByTestId("wizard-storage-planned")).not.toBeInTheDocument();
    fireEvent.click(screen.getByTestId("wizard-storage-plan"));
    expect(await screen.findByTestId("wizard-storage-summary")).toHaveTextContent("4 deleted");
    expect(screen.getByTestId("wizard-storage-run")).toBeDisabled();
    fireEvent.change(screen.getByTestId("wizard-storage-consent"), { target: { value: "mirro" } });
    expect(screen.getByTestId("wizard-storage-run")).toBeDisabled();
    fireEvent.change(screen.getByTestId("wizard-storage-consent"), { target: { value: "mirror" } });
    fireEvent.click(screen.getByTestId("wizard-storage-run"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "start_restore")).toBe(true));
    expect((calls.find((c) => c.cmd === "start_restore")?.args.request as RestoreRequest).storage?.mirror).toBe(true);
    expect(await screen.findByTestId("wizard-components-notice")).toHaveTextContent("Storage restore started");
  });

  it("restores chosen buckets into a folder", async () => {
    const calls = setup();
    fireEvent.click(screen.getByTestId("wizard-components-storage"));
    fireEvent.click(screen.getByTestId("wizard-storage-some"));
    fireEvent.change(screen.getByTestId("wizard-storage-buckets"), { target: { value: "avatars" } });
    fireEvent.click(screen.getByTestId("wizard-storage-to-folder"));
    expect(screen.getByTestId("wizard-storage-plan")).toBeDisabled();
    fireEvent.change(screen.getByTestId("wizard-storage-folder"), { target: { value: "/tmp/out" } });
    fireEvent.click(screen.getByTestId("wizard-storage-plan"));
    await screen.findByTestId("wizard-storage-planned");
    expect((calls.find((c) => c.cmd === "plan_restore")?.args.request as RestoreRequest).storage).toMatchObject({
      to: { kind: "folder", value: "/tmp/out" },
      buckets: { kind: "only", names: ["avatars"] },
    });
  });

  it("shows the configuration side by side; redacted and non-writable settings cannot be chosen", async () => {
    const calls = setup();
    fireEvent.click(screen.getByTestId("wizard-components-config"));
    expect(screen.getByTestId("wizard-config-apply")).toBeDisabled();
    fireEvent.click(screen.getByTestId("wizard-config-plan"));
    const table = await screen.findByTestId("wizard-config-diffs");
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
    expect(screen.getByTestId("wizard-config-apply")).toHaveTextContent("Write 1 setting back");
    fireEvent.click(screen.getByTestId("wizard-config-apply"));
    expect(await screen.findByTestId("wizard-components-notice")).toHaveTextContent("Wrote 1 setting back.");
    expect(calls.find((c) => c.cmd === "start_restore")?.args).toEqual({
      request: {
        archive: ARCHIVE,
        database: null,
        storage: null,
        config: { project: "shop", settings: ["supabase/auth.json:site_url"] },
      },
    });
  });
});
