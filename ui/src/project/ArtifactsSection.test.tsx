import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ArtifactsComponent, BackupRecord, Components, JobFinished, JobProgress } from "../bindings";
import { StoreProvider } from "../store";
import { ArtifactsSection } from "./ArtifactsSection";

type Call = { cmd: string; args: Record<string, unknown> };
type Extra = Record<string, (args: Record<string, unknown>) => unknown>;

const SECRET = "artifacts-secret-wJalrXUtnFEMI";

const none: Components = { storage: null, supabase: null, default_type: null, server: null, artifacts: null };
const bucket: ArtifactsComponent = {
  endpoint: "http://127.0.0.1:9000",
  region: "us-east-1",
  access_key_id: "AKIDDUMPS",
  path_style: true,
  bucket: "dumps",
  prefix: "nightly/",
  pattern: "*.dump",
  imported: [{ key: "nightly/shop-0.dump", etag: "e0" }],
};
const withBucket: Components = { ...none, artifacts: bucket };

function setup(initial: Components, extra: Extra = {}) {
  const calls: Call[] = [];
  let current = initial;
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      const handler = extra[cmd];
      if (handler) return handler(a);
      switch (cmd) {
        case "get_components":
          return current;
        case "set_artifacts": {
          const s = a.settings as { location: string; endpoint: string | null; pattern: string | null } | null;
          current = {
            ...current,
            artifacts: s
              ? {
                  ...bucket,
                  endpoint: s.endpoint,
                  bucket: s.location.replace(/^s3:\/\//, "").split("/")[0] ?? "",
                  prefix: s.location.replace(/^s3:\/\/[^/]*\/?/, ""),
                  pattern: s.pattern,
                  imported: [],
                }
              : null,
          };
          return current;
        }
        case "start_pull":
          return "job-a";
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
  render(
    <StoreProvider>
      <ArtifactsSection project="shop" />
    </StoreProvider>,
  );
  return calls;
}

const record: BackupRecord = {
  id: "b1",
  project_id: "p1",
  path: "/backups/shop/shop-1.tar.gz",
  size: 4096,
  sha256: "ff".repeat(32),
  backup_type: "database",
  created_at: "2026-11-23T02:00:00Z",
  verified_at: "2026-11-23T02:00:05Z",
  status: "verified",
  verify_problem: null,
  manifest_json: null,
  job_id: "job-i",
  origin: "artifact",
};

const progress = (p: Partial<JobProgress>): JobProgress => ({
  job_id: "job-a",
  phase: "downloading",
  bytes_done: 0,
  bytes_total: null,
  bytes_per_sec: 0,
  finished: false,
  ...p,
});

describe("ArtifactsSection", () => {
  it("adds a bucket: the secret is sent once, in a password field, and never shown", async () => {
    const calls = setup(none);
    expect(await screen.findByTestId("artifacts-none")).toBeInTheDocument();
    expect(screen.queryByTestId("artifacts-pull")).not.toBeInTheDocument();
    fireEvent.click(screen.getByTestId("artifacts-edit"));
    fireEvent.change(screen.getByTestId("artifacts-field-location"), { target: { value: " s3://dumps/nightly/ " } });
    fireEvent.change(screen.getByTestId("artifacts-field-pattern"), { target: { value: "*.dump" } });
    fireEvent.change(screen.getByTestId("artifacts-field-endpoint"), { target: { value: "http://127.0.0.1:9000" } });
    fireEvent.change(screen.getByTestId("artifacts-field-key-id"), { target: { value: "AKIDDUMPS" } });
    // No secret yet: a first bucket cannot be saved.
    expect(screen.getByTestId("artifacts-save")).toBeDisabled();
    fireEvent.change(screen.getByTestId("artifacts-field-secret"), { target: { value: SECRET } });
    expect(screen.getByTestId("artifacts-field-secret")).toHaveAttribute("type", "password");
    fireEvent.click(screen.getByTestId("artifacts-field-path-style"));
    fireEvent.click(screen.getByTestId("artifacts-save"));

    expect(await screen.findByTestId("artifacts-location")).toHaveTextContent("s3://dumps/nightly/");
    expect(calls.find((c) => c.cmd === "set_artifacts")?.args).toEqual({
      project: "shop",
      settings: {
        location: "s3://dumps/nightly/",
        endpoint: "http://127.0.0.1:9000",
        region: "us-east-1",
        access_key_id: "AKIDDUMPS",
        secret_access_key: SECRET,
        path_style: false,
        pattern: "*.dump",
      },
    });
    expect(screen.getByTestId("artifacts-pattern")).toHaveTextContent("*.dump");
    expect(screen.getByTestId("artifacts-secret")).toHaveTextContent("stored in the keychain");
    expect(screen.getByTestId("artifacts-imported")).toHaveTextContent("nothing yet");
    expect(screen.getByTestId("artifacts-notice")).toHaveTextContent("listed it");
    expect(screen.getByTestId("artifacts-section").textContent).not.toContain(SECRET);
    expect(screen.queryByTestId("artifacts-form")).not.toBeInTheDocument();
  });

  it("shows why saving was refused (a bucket the keys do not see), with a hint, and keeps nothing of the secret", async () => {
    setup(none, {
      set_artifacts: () => {
        throw { code: "not_found", message: "NoSuchBucket: dumps", hint: "check the bucket's name in s3://dumps/", retryable: false };
      },
    });
    fireEvent.click(await screen.findByTestId("artifacts-edit"));
    fireEvent.change(screen.getByTestId("artifacts-field-location"), { target: { value: "s3://dumps/" } });
    fireEvent.change(screen.getByTestId("artifacts-field-key-id"), { target: { value: "AKID" } });
    fireEvent.change(screen.getByTestId("artifacts-field-secret"), { target: { value: SECRET } });
    fireEvent.click(screen.getByTestId("artifacts-save"));
    const err = await screen.findByTestId("artifacts-form-error");
    expect(err).toHaveTextContent("NoSuchBucket: dumps");
    expect(err).toHaveTextContent("check the bucket's name");
    expect(screen.getByTestId("artifacts-none")).toBeInTheDocument();
    expect(screen.getByTestId("artifacts-field-secret")).toHaveValue("");
  });

  it("wrong keys without a hint from the store get one", async () => {
    setup(none, {
      set_artifacts: () => {
        throw { code: "auth", message: "InvalidAccessKeyId", hint: null, retryable: false };
      },
    });
    fireEvent.click(await screen.findByTestId("artifacts-edit"));
    fireEvent.change(screen.getByTestId("artifacts-field-location"), { target: { value: "s3://dumps" } });
    fireEvent.change(screen.getByTestId("artifacts-field-key-id"), { target: { value: "AKID" } });
    fireEvent.change(screen.getByTestId("artifacts-field-secret"), { target: { value: "wrong" } });
    fireEvent.click(screen.getByTestId("artifacts-save"));
    expect(await screen.findByTestId("artifacts-form-error")).toHaveTextContent("Check the access key id and the secret access key");
  });

  it("a location that is not s3://BUCKET/… cannot be saved", async () => {
    setup(none);
    fireEvent.click(await screen.findByTestId("artifacts-edit"));
    fireEvent.change(screen.getByTestId("artifacts-field-location"), { target: { value: "https://dumps" } });
    fireEvent.change(screen.getByTestId("artifacts-field-key-id"), { target: { value: "AKID" } });
    fireEvent.change(screen.getByTestId("artifacts-field-secret"), { target: { value: SECRET } });
    expect(screen.getByTestId("artifacts-save")).toBeDisabled();
  });

  it("editing keeps the stored secret (null) and shows the saved settings", async () => {
    const calls = setup(withBucket);
    expect(await screen.findByTestId("artifacts-imported")).toHaveTextContent("1 artifact");
    fireEvent.click(screen.getByTestId("artifacts-edit"));
    expect(screen.queryByTestId("artifacts-edit")).not.toBeInTheDocument(); // issue 44: not above its open form
    expect(screen.getByTestId("artifacts-form-title")).toHaveTextContent("Edit the artifact bucket");
    expect(screen.getByTestId("artifacts-field-location")).toHaveValue("s3://dumps/nightly/");
    expect(screen.getByTestId("artifacts-field-key-id")).toHaveValue("AKIDDUMPS");
    expect(screen.getByTestId("artifacts-field-secret")).toHaveValue("");
    expect(screen.getByTestId("artifacts-field-secret")).toHaveAttribute("placeholder", "leave empty to keep the stored one");
    fireEvent.change(screen.getByTestId("artifacts-field-pattern"), { target: { value: "" } });
    fireEvent.click(screen.getByTestId("artifacts-save"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "set_artifacts")).toBe(true));
    const sent = calls.find((c) => c.cmd === "set_artifacts")?.args.settings as Record<string, unknown>;
    expect(sent.secret_access_key).toBeNull();
    expect(sent.pattern).toBeNull();
    expect(await screen.findByTestId("artifacts-pattern")).toHaveTextContent("every file");
  });

  it("Pull new: progress, then what was imported; the count of imported artifacts is read again", async () => {
    const calls = setup(withBucket);
    fireEvent.click(await screen.findByTestId("artifacts-pull"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "start_pull")).toBe(true));
    expect(calls.find((c) => c.cmd === "start_pull")?.args).toEqual({ project: "shop" });
    expect(await screen.findByTestId("artifacts-job-phase")).toHaveTextContent("Starting…");
    expect(screen.getByTestId("artifacts-pull")).toBeDisabled();
    expect(screen.getByTestId("artifacts-remove")).toBeDisabled();

    await act(() => emit("job-progress", progress({ bytes_done: 1024, bytes_total: 4096 })));
    expect(screen.getByTestId("artifacts-job-phase")).toHaveTextContent("1.0 KB of 4.0 KB");
    expect(screen.getByTestId("artifacts-job-progress")).toHaveAttribute("aria-valuenow", "25");

    const reads = calls.filter((c) => c.cmd === "get_components").length;
    const done: JobFinished = {
      job_id: "job-a",
      kind: "import",
      ok: true,
      error: null,
      result: {
        kind: "pull",
        server: false,
        downloaded: [],
        already_local: 0,
        in_progress: 0,
        artifacts: { imported: [record], already_imported: 1 },
      },
    };
    await act(() => emit("job-finished", done));
    const result = await screen.findByTestId("artifacts-job-result");
    expect(result).toHaveAttribute("data-ok", "true");
    expect(result).toHaveTextContent("1 artifact imported and verified, 1 imported before.");
    expect(result.textContent).not.toContain("backup server");
    expect(screen.getByTestId("artifacts-pull")).toBeEnabled();
    await waitFor(() => expect(calls.filter((c) => c.cmd === "get_components").length).toBeGreaterThan(reads));
  });

  it("a failed pull shows its error with the hint", async () => {
    setup(withBucket);
    fireEvent.click(await screen.findByTestId("artifacts-pull"));
    await screen.findByTestId("artifacts-job-phase");
    const failed: JobFinished = {
      job_id: "job-a",
      kind: "import",
      ok: false,
      error: { code: "integrity", message: "nightly/shop-2.dump does not match its .sha256", hint: null, retryable: false },
      result: null,
    };
    await act(() => emit("job-finished", failed));
    expect(await screen.findByTestId("artifacts-job-result")).toHaveAttribute("data-ok", "false");
    expect(screen.getByTestId("artifacts-job-error")).toHaveTextContent("does not match its .sha256");
  });

  it("removes the bucket (and its secret) after a second question", async () => {
    const calls = setup(withBucket);
    fireEvent.click(await screen.findByTestId("artifacts-remove"));
    expect(screen.getByTestId("artifacts-remove-confirm")).toHaveTextContent("delete its secret access key");
    fireEvent.click(screen.getByTestId("artifacts-remove-yes"));
    expect(await screen.findByTestId("artifacts-none")).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === "set_artifacts")?.args).toEqual({ project: "shop", settings: null });
    expect(screen.getByTestId("artifacts-notice")).toHaveTextContent("Backups imported from it stay");
  });
});
