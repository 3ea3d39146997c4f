// Issue 44 (remote-02): the Sources grid leaves no hole. A card spans both columns only while an
// edit form is open in it; the Tenants card's add form is always there, so it stays one column
// (spanning both for good, it left a hole under the shorter column above it).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const CSS = readFileSync(resolve(__dirname, "tabs.css"), "utf8");

/** The selector of the rule that makes a Sources card span the whole grid. */
function wideSelector(): string {
  const m = /([^{}]+)\{\s*grid-column:\s*1\s*\/\s*-1;?\s*\}/.exec(CSS.replace(/\/\*[\s\S]*?\*\//g, ""));
  return (m?.[1] ?? "").trim();
}

function card(inner: string): HTMLElement {
  const el = document.createElement("article");
  el.className = "source-card";
  el.innerHTML = inner;
  document.body.append(el);
  return el;
}

describe("the Sources grid (no holes)", () => {
  it("spans a card over both columns while an edit form is open, never for the tenants' add form", () => {
    const selector = wideSelector();
    expect(selector).toContain(".source-card");
    expect(card('<form class="form" data-testid="server-form"></form>').matches(selector)).toBe(true);
    expect(card('<form class="form tenant-add" data-testid="tenant-add"></form>').matches(selector)).toBe(false);
    expect(card('<details><form class="form tenant-add"></form></details>').matches(selector)).toBe(false);
    expect(card("<p>No backup server.</p>").matches(selector)).toBe(false);
  });
});

describe("the Protection tab's cards (no hole under Encryption, issue 44)", () => {
  it("stacks its cards in one column", () => {
    const css = CSS.replace(/\/\*[\s\S]*?\*\//g, "");
    const m = /\.tab-protection\s+\.source-grid\s*\{([^}]*)\}/.exec(css);
    expect(m?.[1]).toMatch(/grid-template-columns:\s*minmax\(0,\s*1fr\)\s*;/);
  });
});
