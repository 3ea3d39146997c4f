import { describe, expect, it } from "vitest";
import { bucketsLabel, defaultType, parseBuckets, typeUnavailable } from "./backupTypes";

const none = { storage: null, supabase: null, default_type: null };

describe("backup types", () => {
  it("storage and incremental need storage, config needs Supabase; database and full always work", () => {
    expect(typeUnavailable(none, "storage")).toMatch(/storage/);
    expect(typeUnavailable(none, "incremental")).toMatch(/storage/);
    expect(typeUnavailable(none, "config")).toMatch(/Supabase/);
    expect(typeUnavailable(none, "database")).toBeNull();
    expect(typeUnavailable(none, "full")).toBeNull();
    expect(typeUnavailable({ ...none, supabase: { project_ref: "r", api_url: null } }, "config")).toBeNull();
  });

  it("the default type is the project's, or database", () => {
    expect(defaultType(null)).toBe("database");
    expect(defaultType({ ...none, default_type: "full" })).toBe("full");
    expect(defaultType({ ...none, default_type: "nonsense" })).toBe("database");
  });

  it("parses bucket lists", () => {
    expect(parseBuckets("")).toEqual({ kind: "all" });
    expect(parseBuckets(" ALL ")).toEqual({ kind: "all" });
    expect(parseBuckets("a, b,,a ")).toEqual({ kind: "only", names: ["a", "b"] });
    expect(bucketsLabel({ kind: "all" })).toBe("all buckets");
    expect(bucketsLabel({ kind: "only", names: ["a", "b"] })).toBe("a, b");
  });
});
