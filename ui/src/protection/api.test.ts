import { describe, expect, it } from "vitest";
import type { DestinationRecord, Protection } from "../bindings";
import { destinationSpec, destinationViews, protectionView, retentionWords } from "./api";
import { EMPTY_FORM } from "./DestinationsSection";

const record = (name: string, over: Partial<DestinationRecord> = {}): DestinationRecord => ({
  id: `d-${name}`,
  project_id: "p1",
  name,
  kind: "folder",
  location: `/mnt/${name}`,
  folder: `/mnt/${name}`,
  s3: null,
  rclone: null,
  offsite: false,
  retention: null,
  retention_zone: null,
  created_at: "2026-11-24T08:00:00Z",
  ...over,
});

const protection = (pending: Protection["pending"]): Protection => ({
  project: "shop",
  newest_backup: "b2",
  copies: 2,
  media: 2,
  offsite: false,
  meets_321: false,
  destinations: 2,
  pending,
  notes: [],
  summary: "",
});

describe("the protection api mapping", () => {
  it("sends a folder's spec without a secret, and an S3 bucket's secret apart from its spec", () => {
    const folder = destinationSpec({ ...EMPTY_FORM, name: "usb", folder: " /media/usb ", offsite: true, retention: { keep_daily: 7, keep_weekly: null } });
    expect(folder).toEqual({
      spec: { name: "usb", kind: "folder", folder: "/media/usb", s3: null, rclone: null, offsite: true, retention: { keep_daily: 7 } },
      secret: null,
    });
    const s3 = destinationSpec({
      ...EMPTY_FORM,
      name: "b2",
      kind: "s3",
      s3: {
        endpoint: "http://127.0.0.1:9000",
        region: "us-east-1",
        bucket: "backups",
        prefix: "/shop/",
        accessKeyId: "AKID",
        secret: "s3cr3t",
        pathStyle: true,
        objectLock: "",
        lockDays: "12",
        storageClass: "",
      },
    });
    expect(s3.secret).toBe("s3cr3t");
    expect(JSON.stringify(s3.spec)).not.toContain("s3cr3t");
    // No lock: no days either (the engine refuses days without a lock), and the bucket's class.
    expect(s3.spec.s3).toEqual({
      endpoint: "http://127.0.0.1:9000",
      region: "us-east-1",
      bucket: "backups",
      prefix: "shop",
      key_id: "AKID",
      path_style: true,
      object_lock: null,
      lock_days: null,
      storage_class: null,
    });
    expect(s3.spec.retention).toBeNull();
  });

  it("sends an S3 destination's Object Lock, its days (empty: the engine derives them) and storage class", () => {
    const form = (lockDays: string) =>
      destinationSpec({
        ...EMPTY_FORM,
        name: "vault",
        kind: "s3",
        s3: { ...EMPTY_FORM.s3, bucket: "vault", accessKeyId: "AKID", secret: "x", objectLock: "compliance", lockDays, storageClass: "GLACIER" },
      }).spec.s3;
    expect(form("30")).toMatchObject({ object_lock: "compliance", lock_days: 30, storage_class: "GLACIER" });
    expect(form("")).toMatchObject({ object_lock: "compliance", lock_days: null, storage_class: "GLACIER" });
  });

  it("says an S3 destination's lock and class on its row", () => {
    const s3 = { endpoint: "", region: "us-east-1", bucket: "vault", prefix: "", key_id: "AKID", path_style: false };
    const views = destinationViews([
      record("vault", { kind: "s3", s3: { ...s3, object_lock: "governance", lock_days: 30, storage_class: "STANDARD_IA" } }),
      record("plain", { kind: "s3", s3 }),
      record("usb"),
    ], null);
    expect(views[0]?.protection).toBe("Each copy locked 30 days (governance) · storage class STANDARD_IA");
    expect(views[0]?.s3Protection).toEqual({ objectLock: "governance", lockDays: "30", storageClass: "STANDARD_IA" });
    expect(views[1]?.protection).toBeNull();
    expect(views[2]?.protection).toBeNull();
    expect(views[2]?.s3Protection).toBeUndefined();
  });

  it("shows a destination with pending copies as pending since the oldest, failing when one has an error", () => {
    const views = destinationViews(
      [record("nas"), record("usb"), record("b2", { kind: "s3", location: "s3://backups/shop", retention: { keep_monthly: 12 } })],
      protection([
        { backup_id: "b1", destination: "nas", since: "2026-11-24T09:00:00Z", last_error: null, attempts: 1 },
        { backup_id: "b2", destination: "nas", since: "2026-11-24T10:00:00Z", last_error: null, attempts: 1 },
        { backup_id: "b2", destination: "usb", since: "2026-11-24T10:00:00Z", last_error: "offline", attempts: 3 },
      ]),
    );
    expect(views.map((v) => [v.name, v.state, v.pendingSince])).toEqual([
      ["nas", "pending", "2026-11-24T09:00:00Z"],
      ["usb", "failing", "2026-11-24T10:00:00Z"],
      ["b2", "ok", null],
    ]);
    expect(views[2]?.retention).toBe("12 monthly");
  });

  it("marks a destination whose copy is on the local backups' disk (the engine's same_medium_as), and only it (screens-light-05)", () => {
    const views = destinationViews([record("nas"), record("usb")], protection([]), [
      { place: "This computer", kind: "local", ok: true },
      { place: "nas", kind: "destination", ok: true, same_medium_as: "This computer", note: "nas is on the same disk as the local backups: one medium, not two" },
      { place: "usb", kind: "destination", ok: true, same_medium_as: null },
    ] as never);
    expect(views.map((v) => [v.name, v.state, v.sameMedium])).toEqual([
      ["nas", "ok", true],
      ["usb", "ok", false],
    ]);
  });

  it("names each destination once in the 3-2-1 line, with its oldest pending copy", () => {
    const v = protectionView(
      protection([
        { backup_id: "b2", destination: "nas", since: "2026-11-24T10:00:00Z", last_error: null, attempts: 1 },
        { backup_id: "b1", destination: "nas", since: "2026-11-24T09:00:00Z", last_error: null, attempts: 1 },
      ]),
    );
    expect(v).toEqual({ copies: 2, media: 2, offsite: false, pending: [{ destination: "nas", since: "2026-11-24T09:00:00Z" }] });
  });

  it("says a policy in words", () => {
    expect(retentionWords(null)).toBeNull();
    expect(retentionWords({})).toBeNull();
    expect(retentionWords({ keep_last: 3, keep_daily: 7, keep_within: "30d" })).toBe("3 last, 7 daily, all within 30d");
  });
});

describe("destinationsApi over IPC", () => {
  it("changes a destination's lock and class with set_destination_protection", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    const { destinationsApi } = await import("./api");
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      return record("vault");
    });
    const r = await destinationsApi("shop").setProtection?.("vault", { objectLock: "compliance", lockDays: "", storageClass: "GLACIER" });
    expect(r?.ok).toBe(true);
    expect(calls).toEqual([["set_destination_protection", { project: "shop", name: "vault", lock: "compliance", lockDays: null, storageClass: "GLACIER" }]]);
  });
});
