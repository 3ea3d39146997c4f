// The job flow through the generated bindings: subscribe to the events, start the job, match
// events by the returned id. The Rust side is mocked; the event names and payload shapes are
// the generated ones.
import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import { commands, events, type JobFinished, type JobProgress } from "../bindings";
import { toErrorPayload } from "./errors";

describe("jobs through the bindings", () => {
  it("delivers progress and the finish of the started job", async () => {
    mockIPC(
      (cmd, args) => {
        if (cmd === "start_backup") {
          expect(args).toEqual({ project: "shop", backupType: null, note: null });
          return "job-1";
        }
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const progress: JobProgress[] = [];
    const finished: JobFinished[] = [];
    const stopProgress = await events.jobProgress.listen((e) => progress.push(e.payload));
    const stopFinished = await events.jobFinished.listen((e) => finished.push(e.payload));

    const started = await commands.startBackup("shop", null, null);
    expect(started).toEqual({ status: "ok", data: "job-1" });

    const update: JobProgress = {
      job_id: "job-1",
      phase: "dumping",
      bytes_done: 1024,
      bytes_total: null,
      bytes_per_sec: 512,
      finished: false,
    };
    await emit("job-progress", update);
    const done: JobFinished = {
      job_id: "job-1",
      kind: "backup",
      ok: false,
      error: { code: "cancelled", message: "cancelled", hint: null, retryable: false },
      result: null,
    };
    await emit("job-finished", done);

    expect(progress).toEqual([update]);
    expect(finished).toEqual([done]);
    stopProgress();
    stopFinished();
  });

  it("returns command errors as a typed result", async () => {
    mockIPC(() =>
      Promise.reject({ code: "not_found", message: "no project named \"x\"", hint: "add it", retryable: false }),
    );
    const result = await commands.getProject("x");
    expect(result.status).toBe("error");
    if (result.status === "error") {
      expect(toErrorPayload(result.error)).toMatchObject({ code: "not_found", hint: "add it" });
    }
  });

  it("normalises framework errors (plain strings) into payloads", () => {
    expect(toErrorPayload("command get_project not found")).toEqual({
      code: "internal",
      message: "command get_project not found",
      hint: null,
      retryable: false,
    });
  });
});
