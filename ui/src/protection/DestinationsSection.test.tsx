import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { DestinationsSection, formComplete, EMPTY_FORM, testSummary } from "./DestinationsSection";
import { BackupWhere, ProtectionSummary, rules } from "./ProtectionSummary";
import type { DestinationForm, DestinationsApi, DestinationTest, DestinationView } from "./types";

const nas: DestinationView = {
  name: "nas",
  kind: "folder",
  location: "/mnt/nas/offsite",
  retention: "7 daily",
  state: "pending",
  pendingSince: "2026-11-24T09:00:00Z",
  problem: null,
};
const bucket: DestinationView = {
  name: "b2",
  kind: "s3",
  location: "s3://backups/shop/",
  retention: null,
  state: "ok",
  pendingSince: null,
  problem: null,
};

function fakeApi(over: Partial<DestinationsApi> = {}) {
  const added: DestinationForm[] = [];
  const removed: string[] = [];
  const api: DestinationsApi = {
    add: async (f) => {
      added.push(f);
      return { ok: true, data: null };
    },
    remove: async (n) => {
      removed.push(n);
      return { ok: true, data: null };
    },
    test: async (): Promise<{ ok: true; data: DestinationTest }> => ({
      ok: true,
      data: { writable: true, offline: false, freeBytes: 5 * 1024 ** 3, detail: null },
    }),
    ...over,
  };
  return { api, added, removed };
}

describe("DestinationsSection", () => {
  it("lists each destination with kind, location, retention and state", () => {
    const { api } = fakeApi();
    render(<DestinationsSection destinations={{ status: "ready", data: [nas, bucket] }} api={api} reload={() => {}} />);
    const rows = screen.getAllByTestId("destination");
    expect(rows.map((r) => r.getAttribute("data-name"))).toEqual(["nas", "b2"]);
    const first = within(rows[0]!);
    expect(first.getByTestId("destination-kind")).toHaveTextContent("Folder");
    expect(first.getByTestId("destination-location")).toHaveTextContent("/mnt/nas/offsite");
    expect(first.getByTestId("destination-retention")).toHaveTextContent("7 daily");
    expect(first.getByTestId("destination-state")).toHaveTextContent("Copies pending since");
    expect(within(rows[1]!).getByTestId("destination-retention")).toHaveTextContent("every backup");
  });

  it("an up-to-date copy on the local backups' disk is amber and says so, not a green 'Up to date' (screens-light-05)", () => {
    const { api } = fakeApi();
    const sameDisk: DestinationView = { ...bucket, name: "nas", kind: "folder", sameMedium: true };
    render(<DestinationsSection destinations={{ status: "ready", data: [sameDisk, bucket] }} api={api} reload={() => {}} />);
    const [first, second] = screen.getAllByTestId("destination-state");
    expect(first).toHaveTextContent("Up to date, but on the same disk as the local backups");
    expect(first).not.toHaveClass("dest-state-ok");
    expect(first).toHaveClass("dest-state-pending");
    expect(second).toHaveTextContent(/^Up to date$/);
    expect(second).toHaveClass("dest-state-ok");
  });

  it("adds a folder destination with its retention, then reloads", async () => {
    const { api, added } = fakeApi();
    const reload = vi.fn();
    render(<DestinationsSection destinations={{ status: "ready", data: [] }} api={api} reload={reload} />);
    expect(screen.getByTestId("destinations-none")).toBeInTheDocument();
    fireEvent.click(screen.getByTestId("destination-add"));
    // The Add button gives way to the open form's title (issue 44).
    expect(screen.queryByTestId("destination-add")).toBeNull();
    expect(screen.getByTestId("destination-add-title")).toHaveTextContent("Add a destination");
    expect(screen.getByTestId("destination-save")).toBeDisabled();
    fireEvent.change(screen.getByTestId("destination-field-name"), { target: { value: " usb " } });
    fireEvent.change(screen.getByTestId("destination-field-folder"), { target: { value: "/media/usb/offsite" } });
    fireEvent.change(screen.getByTestId("destination-field-keep-daily"), { target: { value: "7" } });
    fireEvent.click(screen.getByTestId("destination-field-offsite"));
    fireEvent.click(screen.getByTestId("destination-save"));
    await screen.findByTestId("destinations-notice");
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ name: "usb", kind: "folder", folder: "/media/usb/offsite", offsite: true, retention: { keep_daily: 7 } });
    expect(reload).toHaveBeenCalled();
    expect(screen.queryByTestId("destination-form")).toBeNull();
  });

  it("collects an S3 bucket's fields and shows the engine's refusal, keeping the form open without the secret", async () => {
    const { api, added } = fakeApi({
      add: async (f) => {
        added.push(f);
        return { ok: false, error: { code: "auth", message: "The bucket refused the keys.", hint: null, retryable: false } };
      },
    });
    render(<DestinationsSection destinations={{ status: "ready", data: [] }} api={api} reload={() => {}} />);
    fireEvent.click(screen.getByTestId("destination-add"));
    fireEvent.change(screen.getByTestId("destination-field-name"), { target: { value: "b2" } });
    fireEvent.change(screen.getByTestId("destination-field-kind"), { target: { value: "s3" } });
    fireEvent.change(screen.getByTestId("destination-field-endpoint"), { target: { value: "http://127.0.0.1:9000" } });
    fireEvent.change(screen.getByTestId("destination-field-bucket"), { target: { value: "backups" } });
    fireEvent.change(screen.getByTestId("destination-field-prefix"), { target: { value: "shop/" } });
    fireEvent.change(screen.getByTestId("destination-field-key-id"), { target: { value: "AKID" } });
    fireEvent.change(screen.getByTestId("destination-field-secret"), { target: { value: "s3cr3t" } });
    fireEvent.click(screen.getByTestId("destination-field-path-style"));
    fireEvent.click(screen.getByTestId("destination-save"));
    expect(await screen.findByTestId("destination-form-error")).toHaveAttribute("data-code", "auth");
    expect(added[0]?.s3).toEqual({
      endpoint: "http://127.0.0.1:9000",
      region: "us-east-1",
      bucket: "backups",
      prefix: "shop/",
      accessKeyId: "AKID",
      secret: "s3cr3t",
      pathStyle: false,
      objectLock: "",
      lockDays: "",
      storageClass: "",
    });
    expect(screen.getByTestId("destination-field-secret")).toHaveValue("");
  });

  it("adds an S3 bucket with Object Lock, its days and a storage class, saying what each means", async () => {
    const { api, added } = fakeApi();
    render(<DestinationsSection destinations={{ status: "ready", data: [] }} api={api} reload={() => {}} />);
    fireEvent.click(screen.getByTestId("destination-add"));
    fireEvent.change(screen.getByTestId("destination-field-name"), { target: { value: "vault" } });
    fireEvent.change(screen.getByTestId("destination-field-kind"), { target: { value: "s3" } });
    fireEvent.change(screen.getByTestId("destination-field-bucket"), { target: { value: "vault" } });
    fireEvent.change(screen.getByTestId("destination-field-key-id"), { target: { value: "AKID" } });
    fireEvent.change(screen.getByTestId("destination-field-secret"), { target: { value: "s3cr3t" } });
    expect(screen.queryByTestId("destination-field-lock-days")).toBeNull();
    fireEvent.change(screen.getByTestId("destination-field-object-lock"), { target: { value: "governance" } });
    expect(screen.getByTestId("destination-field-lock-means")).toHaveTextContent("administrator");
    fireEvent.change(screen.getByTestId("destination-field-object-lock"), { target: { value: "compliance" } });
    expect(screen.getByTestId("destination-field-lock-means")).toHaveTextContent("Nobody deletes a copy before its date: not");
    fireEvent.change(screen.getByTestId("destination-field-lock-days"), { target: { value: "30" } });
    fireEvent.change(screen.getByTestId("destination-field-storage-class"), { target: { value: "DEEP_ARCHIVE" } });
    expect(screen.getByTestId("destination-field-class-note")).toHaveTextContent("must be restored in the provider before a copy can be read");
    expect(screen.getByTestId("destination-field-class-note")).toHaveAttribute("data-archive", "true");
    fireEvent.click(screen.getByTestId("destination-save"));
    await waitFor(() => expect(added).toHaveLength(1));
    expect(added[0]?.s3).toMatchObject({ objectLock: "compliance", lockDays: "30", storageClass: "DEEP_ARCHIVE" });
  });

  it("changes an S3 destination's lock and class with one Save; the engine's refusal stays in the form", async () => {
    const sent: [string, unknown][] = [];
    let refuse = true;
    const reloads: number[] = [];
    const { api } = fakeApi({
      setProtection: async (name, f) => {
        sent.push([name, f]);
        if (refuse) return { ok: false, error: { code: "invalid_input", message: "The bucket vault has no Object Lock.", hint: null, retryable: false } };
        return { ok: true, data: null };
      },
    });
    const vault: DestinationView = { ...bucket, name: "vault", s3Protection: { objectLock: "", lockDays: "", storageClass: "STANDARD_IA" } };
    render(<DestinationsSection destinations={{ status: "ready", data: [vault, nas] }} api={api} reload={() => reloads.push(1)} />);
    // A folder has no lock to change.
    expect(within(screen.getAllByTestId("destination")[1]!).queryByTestId("destination-protection-open")).toBeNull();
    fireEvent.click(screen.getByTestId("destination-protection-open"));
    expect(screen.getByTestId("destination-protection-storage-class")).toHaveValue("STANDARD_IA");
    fireEvent.change(screen.getByTestId("destination-protection-object-lock"), { target: { value: "governance" } });
    fireEvent.change(screen.getByTestId("destination-protection-lock-days"), { target: { value: "14" } });
    fireEvent.click(screen.getByTestId("destination-protection-save"));
    expect(await screen.findByTestId("destination-protection-error")).toHaveTextContent("no Object Lock");
    refuse = false;
    fireEvent.click(screen.getByTestId("destination-protection-save"));
    expect(await screen.findByTestId("destinations-notice")).toHaveTextContent("Saved vault's lock and storage class");
    expect(sent.at(-1)).toEqual(["vault", { objectLock: "governance", lockDays: "14", storageClass: "STANDARD_IA" }]);
    expect(screen.queryByTestId("destination-protection-edit")).toBeNull();
    expect(reloads).toHaveLength(1);
  });

  it("shows a destination's lock and storage class on its row", () => {
    const locked: DestinationView = { ...bucket, protection: "Each copy locked 30 days (compliance) · storage class GLACIER" };
    render(<DestinationsSection destinations={{ status: "ready", data: [locked, nas] }} api={fakeApi().api} reload={() => {}} />);
    const rows = screen.getAllByTestId("destination");
    expect(within(rows[0]!).getByTestId("destination-protection")).toHaveTextContent("locked 30 days (compliance)");
    expect(within(rows[1]!).queryByTestId("destination-protection")).toBeNull();
  });

  it("tests a destination: writable with free space, or offline", async () => {
    let answer: DestinationTest = { writable: true, offline: false, freeBytes: 5 * 1024 ** 3, detail: null };
    const { api } = fakeApi({ test: async () => ({ ok: true, data: answer }) });
    render(<DestinationsSection destinations={{ status: "ready", data: [nas] }} api={api} reload={() => {}} />);
    fireEvent.click(screen.getByTestId("destination-test"));
    const result = await screen.findByTestId("destination-test-result");
    expect(result).toHaveTextContent("Writable · 5.0 GB free");
    answer = { writable: false, offline: true, freeBytes: null, detail: null };
    fireEvent.click(screen.getByTestId("destination-test"));
    await waitFor(() => expect(screen.getByTestId("destination-test-result")).toHaveAttribute("data-offline", "true"));
    expect(screen.getByTestId("destination-test-result")).toHaveTextContent("Offline");
  });

  it("a destination on the backups' own disk is amber, not a separate copy (issue 44, protection-05)", async () => {
    const words = "On the same disk as your backups: not a separate copy. A disk that fails takes both.";
    const answer: DestinationTest = { writable: true, offline: false, freeBytes: 5 * 1024 ** 3, detail: null, sameDisk: words };
    const { api } = fakeApi({ test: async () => ({ ok: true, data: answer }) });
    const upToDate: DestinationView = { ...nas, state: "ok", pendingSince: null };
    render(<DestinationsSection destinations={{ status: "ready", data: [upToDate] }} api={api} reload={() => {}} />);
    expect(screen.getByTestId("destination-state")).toHaveTextContent(/^Up to date$/);
    fireEvent.click(screen.getByTestId("destination-test"));
    const result = await screen.findByTestId("destination-test-result");
    expect(result).toHaveClass("notice-warn");
    expect(result).not.toHaveClass("notice-ok");
    expect(result).toHaveAttribute("data-same-disk", "true");
    expect(result.textContent).toMatch(/^On the same disk as your backups: not a separate copy/);
    // Its state agrees (issue 64, protection-05: a green "Up to date" above the amber notice).
    const state = screen.getByTestId("destination-state");
    expect(state).toHaveAttribute("data-same-medium", "true");
    expect(state).toHaveClass("dest-state-pending");
    expect(state).toHaveTextContent("Up to date, but on the same disk as the local backups");
  });

  it("removes only after the confirmation", async () => {
    const { api, removed } = fakeApi();
    render(<DestinationsSection destinations={{ status: "ready", data: [nas] }} api={api} reload={() => {}} />);
    fireEvent.click(screen.getByTestId("destination-remove"));
    fireEvent.click(screen.getByTestId("destination-remove-no"));
    expect(removed).toEqual([]);
    fireEvent.click(screen.getByTestId("destination-remove"));
    fireEvent.click(screen.getByTestId("destination-remove-yes"));
    await screen.findByTestId("destinations-notice");
    expect(removed).toEqual(["nas"]);
  });

  it("one result at a time: an added destination's notice replaces an older refusal (issue 44)", async () => {
    const { api } = fakeApi({ remove: async () => ({ ok: false, error: { code: "io", message: "busy", hint: null, retryable: true } }) });
    render(<DestinationsSection destinations={{ status: "ready", data: [nas] }} api={api} reload={() => {}} />);
    fireEvent.click(screen.getByTestId("destination-remove"));
    fireEvent.click(screen.getByTestId("destination-remove-yes"));
    await screen.findByTestId("destinations-error");
    fireEvent.click(screen.getByTestId("destination-add"));
    fireEvent.change(screen.getByTestId("destination-field-name"), { target: { value: "usb" } });
    fireEvent.change(screen.getByTestId("destination-field-folder"), { target: { value: "/media/usb" } });
    fireEvent.click(screen.getByTestId("destination-save"));
    await screen.findByTestId("destinations-notice");
    expect(screen.queryByTestId("destinations-error")).toBeNull();
  });

  it("knows when a form is complete per kind", () => {
    expect(formComplete({ ...EMPTY_FORM, name: "x", kind: "rclone", remote: "" })).toBe(false);
    expect(formComplete({ ...EMPTY_FORM, name: "x", kind: "rclone", remote: "gdrive:offsite" })).toBe(true);
    expect(formComplete({ ...EMPTY_FORM, name: "", kind: "folder", folder: "/x" })).toBe(false);
    expect(testSummary({ writable: false, offline: false, freeBytes: null, detail: "read-only file system" })).toBe(
      "Not writable: read-only file system",
    );
  });
});

describe("ProtectionSummary", () => {
  it("shows each rule and what is pending", () => {
    render(
      <ProtectionSummary
        protection={{ copies: 2, media: 2, offsite: false, pending: [{ destination: "nas", since: "2026-11-24T09:00:00Z" }] }}
      />,
    );
    expect(screen.getByTestId("protection")).toHaveAttribute("data-met", "false");
    expect(screen.getByTestId("protection-copies")).toHaveAttribute("data-met", "false");
    expect(screen.getByTestId("protection-copies")).toHaveTextContent("2 of 3");
    expect(screen.getByTestId("protection-media")).toHaveAttribute("data-met", "true");
    expect(screen.getByTestId("protection-offsite")).toHaveTextContent("none away from this computer");
    // Plain words, not the engine's "media 2 of 2" (issue 44).
    expect(screen.getByTestId("protection-media")).toHaveTextContent("2 of 2 separate disks");
    expect(screen.getByTestId("protection").textContent).not.toMatch(/\bmedia\b/);
    expect(screen.getByTestId("protection-pending")).toHaveTextContent(/copy to nas pending since/);
  });

  it("is met with three copies on two media, one offsite", () => {
    expect(rules({ copies: 3, media: 2, offsite: true, pending: [] }).every((r) => r.met)).toBe(true);
    render(<ProtectionSummary protection={{ copies: 3, media: 2, offsite: true, pending: [] }} />);
    expect(screen.getByTestId("protection-verdict")).toHaveTextContent("3-2-1: met");
  });

  it("shows where a backup lives", () => {
    render(
      <BackupWhere
        where={{
          backupId: "b1",
          localPresent: false,
          copies: [{ destination: "nas", kind: "folder", state: "stored", verified: true, at: "2026-11-24T09:01:00Z", problem: null }],
        }}
      />,
    );
    expect(screen.getByTestId("backup-where-local")).toHaveTextContent("file missing");
    expect(screen.getByTestId("backup-where-copy")).toHaveAttribute("data-state", "stored");
    expect(screen.getByTestId("backup-where-copy")).toHaveTextContent("nas");
    // Its time stays whole on one line (protection-07: "2026-11-26 / 15:51").
    expect(screen.getByTestId("backup-where-copy-at")).toHaveClass("nowrap");
    expect(screen.getByTestId("backup-where-copy-at").textContent).toMatch(/^2026-11-2\d \d\d:\d\d$/);
  });
});
