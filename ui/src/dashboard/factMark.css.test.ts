import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const css = readFileSync(resolve(__dirname, "dashboard.css"), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");

describe("an open fact's amber mark (issue 44: no green beside a warning)", () => {
  it("is never put into the copy list, beside a place's own dot", () => {
    const rules = [...css.matchAll(/([^{}]+)\{[^}]*content:\s*"! "[^}]*\}/g)].map((m) => m[1]!.trim());
    expect(rules.length).toBeGreaterThan(0);
    for (const selector of rules) expect(selector).toContain(":not(.copy-marks)");
  });
});

describe("the card's Fix button (issue 44)", () => {
  it("stays in the last column when the card has no reason line of its own", () => {
    const m = /\.dash-fix\s*\{([^}]*)\}/.exec(css);
    expect(m?.[1]).toMatch(/grid-column:\s*-2 \/ -1;/);
  });
});
