// The engine's sentences that can reach a screen (issue 64, item 4): the string literals of the
// engine (crates/core/src) and the desktop shell (src-tauri) that read as words — error messages
// and hints, health reasons and checklist lines, plan and report lines — but not code: tests
// (tests.rs, *_tests.rs, tests/ and what follows `#[cfg(test)]`), comments, attributes, log lines
// (tracing), panics and asserts, SQL. For tests.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export type EngineSaid = { file: string; line: number; text: string };

function rustSources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === "tests" || n === "target" || n === "gen" ? [] : rustSources(p);
    return n.endsWith(".rs") && n !== "tests.rs" && !n.endsWith("_tests.rs") && !n.startsWith("tests_") ? [p] : [];
  });
}

/** Lines that are code, not words for a person. */
const CODE_LINE = /^\s*(\/\/|#\[|#!\[)|tracing::|\b(debug|info|warn|error|trace|panic|unreachable|todo|unimplemented|assert|assert_eq|assert_ne|debug_assert)!\(|\.expect\(/;
const SQL = /^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|WITH|SET|BEGIN|COMMIT|COPY|GRANT|REVOKE|ENABLE|DISABLE|REPLICA)\b/;

/** Every literal of the engine and the shell with at least two words, by file and line. */
export function engineSentences(repo: string): EngineSaid[] {
  const files = [...rustSources(join(repo, "crates", "core", "src")), ...rustSources(join(repo, "src-tauri"))];
  return files.flatMap((f) => {
    let src = readFileSync(f, "utf8");
    const tests = src.search(/^#\[cfg\(test\)\]/m);
    if (tests >= 0) src = src.slice(0, tests);
    return src.split("\n").flatMap((line, i) => {
      if (CODE_LINE.test(line)) return [];
      return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)]
        // A placeholder is code ("{media}" is a variable), not a word: "…" in its place.
        .map((m) => m[1]!.replace(/\{[^{}]*\}/g, "…"))
        .filter((t) => /[a-z]{2,}\S*\s+\S*[a-z]{2,}/i.test(t) && !SQL.test(t))
        .map((text) => ({ file: relative(repo, f), line: i + 1, text }));
    });
  });
}
