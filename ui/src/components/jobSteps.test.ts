import { describe, expect, it } from "vitest";
import { doneLabel, jobSteps } from "./jobSteps";

const states = (s: ReturnType<typeof jobSteps>) => s?.map((x) => `${x.id}:${x.state}`);

describe("a job's named steps (issue 64 item 6)", () => {
  it("a backup: dump → compress → verify, copy once it copies", () => {
    expect(states(jobSteps("backup", null))).toEqual(["dump:current", "compress:todo", "verify:todo"]);
    expect(states(jobSteps("backup", "globals", ["connecting", "dumping"]))).toEqual(["dump:current", "compress:todo", "verify:todo"]);
    expect(states(jobSteps("backup", "syncing", ["connecting", "dumping", "packing"]))).toEqual(["dump:done", "compress:current", "verify:todo"]);
    expect(states(jobSteps("backup", "copying", ["dumping", "packing", "verifying"]))).toEqual([
      "dump:done",
      "compress:done",
      "verify:done",
      "copy:current",
    ]);
    expect(states(jobSteps("backup", "done", ["dumping", "packing", "verifying"]))).toEqual(["dump:done", "compress:done", "verify:done"]);
  });

  it("a step done stays done when a later phase looks like an earlier step's", () => {
    // A backup of storage downloads after dumping; the step stays the first one, and nothing goes back.
    expect(states(jobSteps("backup", "downloading", ["dumping", "packing"]))).toEqual(["dump:done", "compress:current", "verify:todo"]);
  });

  it("a backup made on the backup server, a restore, and one-step jobs", () => {
    expect(states(jobSteps("backup", "downloading", ["on_server"]))).toEqual(["server:done", "download:current", "verify:todo"]);
    expect(states(jobSteps("backup", null, [], true))).toEqual(["server:current", "download:todo", "verify:todo"]);
    expect(states(jobSteps("restore", "restoring", ["planning"]))).toEqual(["plan:done", "restore:current", "check:todo"]);
    expect(states(jobSteps("restore", "validating", ["planning", "safety_backup", "restoring"]))).toEqual([
      "plan:done",
      "safety:done",
      "restore:done",
      "check:current",
    ]);
    expect(jobSteps("verify", "verifying")).toBeNull();
    expect(jobSteps(null, null)).toBeNull();
  });

  it("says what a phase's sizes are", () => {
    expect(doneLabel("dumping")).toBe("Read from the database");
    expect(doneLabel("packing")).toBe("Compressed");
    expect(doneLabel("verifying")).toBe("Checked");
    expect(doneLabel("counting")).toBe("Done");
  });
});
