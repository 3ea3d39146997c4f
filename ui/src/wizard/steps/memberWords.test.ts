import { describe, expect, it } from "vitest";
import { memberWords } from "./memberWords";

describe("an archive's parts in plain words (issue 44, restore-02)", () => {
  it.each([
    ["database.dump", "Database"],
    ["database/toc.dat", "Database: table of contents"],
    ["database/3347.dat", "Database: data of one table"],
    ["database/3348.dat.gz", "Database: data of one table"],
    ["database/blob_16401.dat", "Database: large objects"],
    ["globals.sql", "Roles and their settings"],
    ["metadata.json", "Contents list"],
    ["storage.json", "File storage: list of files"],
    ["storage/avatars/a/b.png", "File storage: avatars/a/b.png"],
    ["config/supabase/auth.json", "Configuration: supabase/auth.json"],
    ["something-else.bin", "something-else.bin"],
  ])("%s → %s", (name, words) => {
    expect(memberWords(name)).toBe(words);
  });
});
