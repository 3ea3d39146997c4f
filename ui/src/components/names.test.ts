import { describe, expect, it } from "vitest";
import { backupName, backupNames, databaseLabel, fileNameOf, folderOf } from "./names";

describe("names instead of paths", () => {
  it("names a backup by its type and local time", () => {
    const created = "2026-11-23T02:00:00Z";
    const local = new Date(created);
    const hh = String(local.getHours()).padStart(2, "0");
    expect(backupName({ backup_type: "database", created_at: created })).toMatch(
      new RegExp(`^Database backup of 2026-11-2\\d ${hh}:00$`),
    );
    expect(backupName({ backup_type: "storage", created_at: created })).toMatch(/^File storage backup of /);
  });

  it("a file by its name, a folder by its path", () => {
    expect(fileNameOf("/tmp/offsite-x1/shop/shop_20261123_database.tar.gz")).toBe("shop_20261123_database.tar.gz");
    expect(fileNameOf("C:\\backups\\shop\\a.tar.gz")).toBe("a.tar.gz");
    expect(folderOf("/backups/shop/a.tar.gz")).toBe("/backups/shop");
  });

  it("a restore target by database and server, without user, port or options", () => {
    expect(databaseLabel("postgres://postgres@127.0.0.1:54321/shop_copy?sslmode=disable")).toBe("shop_copy on 127.0.0.1");
    expect(databaseLabel("postgres://u:secret@db.example.com/app")).toBe("app on db.example.com");
    expect(databaseLabel("postgres://u@/app?host=/var/run/postgresql&port=5432")).toBe(
      "app on /var/run/postgresql (socket, port 5432)",
    );
  });

  it("backups of one list read differently, and only where needed: seconds, then size, then their order (issue 44)", () => {
    const b = (id: string, created_at: string, size?: number) => ({ id, backup_type: "database" as const, created_at, ...(size === undefined ? {} : { size }) });
    const names = backupNames([
      b("alone", "2026-11-25T09:00:00Z", 10),
      b("m1", "2026-11-26T18:12:05Z", 10),
      b("m2", "2026-11-26T18:12:41Z", 10),
      b("s1", "2026-11-26T17:00:16.900Z", 41_472),
      b("s2", "2026-11-26T17:00:16.100Z", 2_048),
      b("t1", "2026-11-26T16:00:16.900Z", 100),
      b("t2", "2026-11-26T16:00:16.100Z", 100),
    ]);
    expect(new Set(names.values()).size).toBe(7);
    expect(names.get("alone")).toMatch(/^Database backup of \d{4}-\d\d-\d\d \d\d:00$/); // no seconds when alone
    expect(names.get("m1")).toMatch(/:12:05$/);
    expect(names.get("m2")).toMatch(/:12:41$/);
    expect(names.get("s1")).toMatch(/:00:16, 40\.5 KB$/);
    expect(names.get("s2")).toMatch(/:00:16, 2\.0 KB$/);
    expect(names.get("t2")).toMatch(/:00:16 \(1 of 2\)$/); // the older one first
    expect(names.get("t1")).toMatch(/:00:16 \(2 of 2\)$/);
    for (const n of names.values()) expect(n).not.toMatch(/[0-9a-f]{8}-|alone|m1|t1/);
  });
});
