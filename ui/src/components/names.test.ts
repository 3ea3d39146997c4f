import { describe, expect, it } from "vitest";
import { backupName, databaseLabel, fileNameOf, folderOf } from "./names";

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
});
