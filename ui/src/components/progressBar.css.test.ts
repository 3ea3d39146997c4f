import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const css = readFileSync(resolve(__dirname, "../styles/jobs.css"), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");

describe("a bar without a known size (issue 44: never a partial fill beside 'none yet')", () => {
  it("fills the whole track, faded, instead of a moving partial stripe", () => {
    const rule = /\.progress-indeterminate \.progress-fill\s*\{([^}]*)\}/.exec(css)?.[1] ?? "";
    expect(rule).toMatch(/width:\s*100%/);
    expect(rule).toMatch(/opacity:\s*0\.\d+/);
    expect(rule).not.toMatch(/translateX/);
    expect(css).not.toMatch(/width:\s*30%/);
  });
});
