import { describe, expect, it } from "vitest";
import { countOf, databaseHost, databaseName, formatAgo, formatBytes, formatDuration } from "./format";

describe("format", () => {
  it("counts with the noun in the right number", () => {
    expect(countOf(1, "object")).toBe("1 object");
    expect(countOf(0, "object")).toBe("0 objects");
    expect(countOf(2048, "object")).toBe("2,048 objects");
    expect(countOf(2, "entry", "entries")).toBe("2 entries");
  });

  it("formats sizes as the engine does (the vectors of offsite_core::units)", () => {
    const vectors: [number, string][] = [
      [0, "0 B"],
      [1, "1 B"],
      [1023, "1023 B"],
      [1024, "1.0 KB"],
      [1536, "1.5 KB"],
      [1_048_575, "1.0 MB"],
      [1_572_864, "1.5 MB"],
      [44_040_192, "42.0 MB"],
      [2_147_483_648, "2.0 GB"],
      [3_298_534_883_328, "3.0 TB"],
    ];
    for (const [bytes, text] of vectors) expect(formatBytes(bytes)).toBe(text);
  });

  it("formats bytes, durations and ages", () => {
    expect(formatBytes(null)).toBe("—");
    expect(formatDuration(5)).toBe("5 s");
    expect(formatDuration(185)).toBe("3 min 5 s");
    expect(formatDuration(3720)).toBe("1 h 2 min");
    expect(formatDuration(null)).toBe("—");
    const now = Date.parse("2026-11-21T12:00:00Z");
    expect(formatAgo(null, now)).toBe("never");
    expect(formatAgo("2026-11-21T11:59:30Z", now)).toBe("just now");
    expect(formatAgo("2026-11-19T12:00:00Z", now)).toBe("2 days ago");
  });

  it("reads host and database from a stored URL, never a password", () => {
    expect(databaseHost("postgres://postgres@db.x.supabase.co:5432/postgres?sslmode=require")).toBe(
      "db.x.supabase.co:5432",
    );
    expect(databaseHost("postgres://u:secret@h/d")).toBe("h");
    expect(databaseHost("postgresql://[::1]:6543/d")).toBe("[::1]:6543");
    expect(databaseName("postgres://u@h:1/my%20db?sslmode=disable")).toBe("my db");
    // A socket folder (the canonical stored form, and libpq's other spellings).
    expect(databaseHost("postgres://postgres@/shop?host=/var/run/postgresql&port=5432")).toBe(
      "/var/run/postgresql (socket, port 5432)",
    );
    expect(databaseHost("postgres://u@/d?host=/tmp/my%20pg&port=6000&sslmode=disable")).toBe(
      "/tmp/my pg (socket, port 6000)",
    );
    expect(databaseHost("postgresql://%2Fvar%2Frun%2Fpostgresql/shop")).toBe("/var/run/postgresql (socket)");
    expect(databaseName("postgres://postgres@/shop?host=/var/run/postgresql&port=5432")).toBe("shop");
  });
});
