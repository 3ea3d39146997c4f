// The engine's destinations and copies (generated bindings) mapped onto what the
// protection components draw and take (./types.ts), and back. No rule is decided here.
import {
  type BackupCopies,
  commands,
  type CopyMark,
  type CopyView as EngineCopy,
  type DestinationRecord,
  type DestinationSpec,
  type DestinationTest as EngineTest,
  type Protection,
  type RetentionPolicy,
} from "../bindings";
import { call, type Call } from "../ipc/call";
import type {
  BackupLocations,
  CopyView,
  DestinationForm,
  DestinationsApi,
  DestinationTest,
  DestinationView,
  ProtectionView,
} from "./types";
import { protectionSpec, protectionWords } from "./S3Protection";

/** The catalog's name for the copy in the project's own folder. */
export const LOCAL = "local";

function mapped<A, B>(r: Call<A>, f: (a: A) => B): Call<B> {
  return r.ok ? { ok: true, data: f(r.data) } : r;
}

const RULE_WORDS: [keyof RetentionPolicy, string][] = [
  ["keep_last", "last"],
  ["keep_hourly", "hourly"],
  ["keep_daily", "daily"],
  ["keep_weekly", "weekly"],
  ["keep_monthly", "monthly"],
  ["keep_yearly", "yearly"],
];

/** A destination's policy in words ("7 daily, 12 monthly"); `null`: it keeps everything. */
export function retentionWords(p: RetentionPolicy | null | undefined): string | null {
  if (!p) return null;
  const parts = RULE_WORDS.flatMap(([k, w]) => {
    const n = p[k];
    return typeof n === "number" && n > 0 ? [`${n} ${w}`] : [];
  });
  if (p.keep_within) parts.push(`all within ${p.keep_within}`);
  return parts.length ? parts.join(", ") : null;
}

/** The list as shown: each destination with its pending copies (from the 3-2-1 state). */
export function destinationViews(
  list: DestinationRecord[],
  protection: Protection | null,
  /** The project's copy marks (the checklist's), for which copies count as another medium. */
  copies: CopyMark[] = [],
): DestinationView[] {
  return list.map((d) => {
    const pending = (protection?.pending ?? []).filter((p) => p.destination === d.name);
    const oldest = pending.reduce<string | null>((a, p) => (a === null || p.since < a ? p.since : a), null);
    const problem = pending.find((p) => p.last_error)?.last_error ?? null;
    return {
      name: d.name,
      kind: d.kind,
      location: d.location,
      retention: retentionWords(d.retention),
      state: pending.length === 0 ? "ok" : problem ? "failing" : "pending",
      pendingSince: oldest,
      problem,
      sameMedium: copies.some((c) => c.kind === "destination" && c.place === d.name && !!c.same_medium_as),
      protection: protectionWords(d.s3),
      ...(d.s3
        ? { s3Protection: { objectLock: d.s3.object_lock ?? "", lockDays: d.s3.lock_days ? String(d.s3.lock_days) : "", storageClass: d.s3.storage_class ?? "" } }
        : {}),
    };
  });
}

/** What the add form sends: the spec, and the S3 secret apart (it goes to the keychain). */
export function destinationSpec(f: DestinationForm): { spec: DestinationSpec; secret: string | null } {
  const policy = Object.fromEntries(Object.entries(f.retention).filter(([, v]) => v !== null && v !== undefined));
  const spec: DestinationSpec = {
    name: f.name,
    kind: f.kind,
    folder: f.kind === "folder" ? f.folder.trim() : null,
    s3:
      f.kind === "s3"
        ? {
            endpoint: f.s3.endpoint.trim(),
            region: f.s3.region.trim(),
            bucket: f.s3.bucket.trim(),
            prefix: f.s3.prefix.trim().replace(/^\/+|\/+$/g, ""),
            key_id: f.s3.accessKeyId.trim(),
            path_style: f.s3.pathStyle,
            ...protectionSpec(f.s3),
          }
        : null,
    rclone: f.kind === "rclone" ? f.remote.trim() : null,
    offsite: f.kind === "folder" ? f.offsite : true,
    retention: Object.keys(policy).length ? (policy as RetentionPolicy) : null,
  };
  return { spec, secret: f.kind === "s3" ? f.s3.secret : null };
}

export function testView(t: EngineTest): DestinationTest {
  return {
    writable: t.writable,
    offline: t.offline,
    freeBytes: t.free_bytes ?? null,
    detail: t.message ?? t.error?.message ?? null,
    sameDisk: t.same_disk ?? null,
  };
}

export function destinationsApi(project: string): DestinationsApi {
  return {
    add: async (f) => {
      const { spec, secret } = destinationSpec(f);
      return call(commands.addDestination(project, spec, secret));
    },
    remove: async (name) => call(commands.removeDestination(project, name)),
    test: async (name) => mapped(await call(commands.testDestination(project, name)), testView),
    setProtection: async (name, f) => {
      const p = protectionSpec(f);
      return call(commands.setDestinationProtection(project, name, p.object_lock, p.lock_days, p.storage_class));
    },
  };
}

export function copyView(c: EngineCopy): CopyView {
  return {
    destination: c.destination,
    kind: c.kind ?? null,
    state: c.state,
    verified: c.verified_at !== null && c.verified_at !== undefined,
    at: c.state === "pending" ? (c.pending_since ?? null) : (c.uploaded_at ?? c.verified_at ?? null),
    problem: c.last_error ?? null,
  };
}

/** Where a backup lives: the local archive (when its file is there) and every other copy. */
export function backupLocations(b: BackupCopies, localPresent: boolean): BackupLocations {
  return {
    backupId: b.backup_id,
    localPresent,
    copies: b.copies.filter((c) => c.destination !== LOCAL).map(copyView),
  };
}

export function protectionView(p: Protection): ProtectionView {
  // One line per destination: the oldest pending copy's time.
  const since = new Map<string, string>();
  for (const x of p.pending) {
    const s = since.get(x.destination);
    if (s === undefined || x.since < s) since.set(x.destination, x.since);
  }
  return {
    copies: p.copies,
    media: p.media,
    offsite: p.offsite,
    pending: [...since].map(([destination, s]) => ({ destination, since: s })),
  };
}
