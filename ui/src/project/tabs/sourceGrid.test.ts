// Issue 44 (remote-02): the Sources grid leaves no hole. Two independent columns of cards; while
// an edit form is open the cards stand in one column, the open one first. The Tenants card's add
// form is always there, so it changes nothing.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { render, renderHook, screen } from "@testing-library/react";
import { createElement } from "react";
import { describe, expect, it, vi } from "vitest";
import { OPEN_FORM_CARD, SourceCard, SourceColumns, useOpenFormInView } from "./SourcesTab";

const CSS = readFileSync(resolve(__dirname, "tabs.css"), "utf8");
const RULES = CSS.replace(/\/\*[\s\S]*?\*\//g, "");

/** The body of the rule whose selector is exactly `selector` (inside a media query too). */
function rule(selector: string): string | null {
  for (const m of RULES.matchAll(/([^{}]+)\{([^{}]*)\}/g)) if (m[1]!.trim() === selector) return m[2]!;
  return null;
}

function card(inner: string): HTMLElement {
  const el = document.createElement("article");
  el.className = "source-card";
  el.innerHTML = inner;
  document.body.append(el);
  return el;
}

describe("the Sources grid (no holes, issue 44)", () => {
  it("deals the cards in order into two independent columns, each card keeping its place for one column", () => {
    const ids = ["database", "storage", "server", "artifacts", "tenants"];
    render(createElement(SourceColumns, null, ...ids.map((id) => createElement(SourceCard, { key: id, id, title: id, line: "" }))));
    const cols = screen.getAllByTestId("source-col");
    expect(cols).toHaveLength(2);
    const inCol = (c: HTMLElement) => Array.from(c.children).map((e) => (e as HTMLElement).dataset["testid"]);
    expect(inCol(cols[0]!)).toEqual(["source-database", "source-server", "source-tenants"]);
    expect(inCol(cols[1]!)).toEqual(["source-storage", "source-artifacts"]);
    ids.forEach((id, i) => expect(screen.getByTestId(`source-${id}`).style.order).toBe(String(i)));
    // The columns are plain stacks side by side: no grid rows a tall card could stretch.
    expect(rule(".source-cols")).toMatch(/display:\s*flex;/);
    expect(rule(".source-cols")).toMatch(/align-items:\s*flex-start;/);
    expect(rule(".source-col")).toMatch(/flex-direction:\s*column;/);
    expect(rule(".source-col")).toMatch(/flex:\s*1 1 0;/);
    expect(RULES).not.toMatch(/grid-auto-rows:\s*1px/);
  });

  it("stands the cards in one column, in order, while an edit form is open (never for the tenants' add form) and in a narrow window", () => {
    const open = `.source-cols:has(.source-card form:not(.tenant-add))`;
    expect(rule(open)).toMatch(/flex-direction:\s*column;/);
    expect(rule(`${open} > .source-col`)).toMatch(/display:\s*contents;/);
    expect(/@media \(max-width: 900px\)\s*\{[^@]*\.source-col\s*\{\s*display:\s*contents;/.test(RULES)).toBe(true);
    expect(card('<form class="form" data-testid="server-form"></form>').matches(OPEN_FORM_CARD)).toBe(true);
    expect(card('<form class="form tenant-add" data-testid="tenant-add"></form>').matches(OPEN_FORM_CARD)).toBe(false);
    expect(card('<details><form class="form tenant-add"></form></details>').matches(OPEN_FORM_CARD)).toBe(false);
    expect(card("<p>No backup server.</p>").matches(OPEN_FORM_CARD)).toBe(false);
  });

  it("puts the card with the open form first (screens-light-04)", () => {
    expect(rule(`.tab-sources ${OPEN_FORM_CARD}`)).toMatch(/order:\s*-1 !important;/);
  });

  it("brings a card into view when its form opens, not when other cards change", async () => {
    const grid = document.createElement("div");
    grid.innerHTML = '<article class="source-card" id="a"><p>x</p></article><article class="source-card" id="b"><p>y</p></article>';
    document.body.append(grid);
    const [a, b] = [grid.querySelector<HTMLElement>("#a")!, grid.querySelector<HTMLElement>("#b")!];
    a.scrollIntoView = vi.fn();
    b.scrollIntoView = vi.fn();
    renderHook(() => useOpenFormInView({ current: grid }));
    a.append(document.createElement("p"));
    await Promise.resolve();
    expect(a.scrollIntoView).not.toHaveBeenCalled();
    const form = document.createElement("form");
    form.className = "form";
    b.append(form);
    await new Promise((r) => setTimeout(r, 0));
    expect(b.scrollIntoView).toHaveBeenCalledTimes(1);
    expect(a.scrollIntoView).not.toHaveBeenCalled();
    // Still open: another change in it does not scroll again.
    b.append(document.createElement("p"));
    await new Promise((r) => setTimeout(r, 0));
    expect(b.scrollIntoView).toHaveBeenCalledTimes(1);
  });
});

describe("the Protection tab's cards (no hole under Encryption, issue 44)", () => {
  it("stacks its cards in one column", () => {
    const css = CSS.replace(/\/\*[\s\S]*?\*\//g, "");
    const m = /\.tab-protection\s+\.source-grid\s*\{([^}]*)\}/.exec(css);
    expect(m?.[1]).toMatch(/grid-template-columns:\s*minmax\(0,\s*1fr\)\s*;/);
  });
});

describe("the backup side panel (issue 44: a wider side panel, file names not clipped)", () => {
  const css = CSS.replace(/\/\*[\s\S]*?\*\//g, "");
  it("is 340 px wide beside the list (wider, the list scrolls sideways at 1100 px)", () => {
    expect(/\.tl-layout\s*\{[^}]*grid-template-columns:\s*minmax\(0,\s*1fr\)\s*340px;/.test(css)).toBe(true);
  });
  it("puts a value's label and Copy on a line above it, so the value has the panel's whole width (checklist-dark-06)", () => {
    expect(/\.tl-side \.copyable\s*\{[^}]*grid-template-columns:\s*minmax\(0,\s*1fr\)\s*auto;/.test(css)).toBe(true);
    expect(/\.tl-side \.copyable > \.muted:first-child\s*\{[^}]*grid-column:\s*1;[^}]*grid-row:\s*1;/.test(css)).toBe(true);
    expect(/\.tl-side \.copyable > button\s*\{[^}]*grid-column:\s*2;[^}]*grid-row:\s*1;/.test(css)).toBe(true);
    // Issue 44: beside Copy, the file name's end still gave way on a narrow panel.
    expect(/\.tl-side \.copyable > \.copyable-value\s*\{[^}]*grid-column:\s*1 \/ -1;[^}]*grid-row:\s*2;/.test(css)).toBe(true);
  });
});

describe("a value with Copy and no label", () => {
  it("puts Copy right after the value, not at the end of a 64ch box (storage-04)", () => {
    const css = CSS.replace(/\/\*[\s\S]*?\*\//g, "");
    const m = /\.copyable-bare\s*\{([^}]*)\}/.exec(css);
    expect(m?.[1]).toMatch(/grid-template-columns:\s*minmax\(0,\s*max-content\)\s*auto;/);
    expect(m?.[1]).toMatch(/justify-content:\s*start;/);
  });
});

describe("the database card after a backup server's backup (issue 44, remote-04)", () => {
  it("says the server reached the database when this computer never tested it", async () => {
    const { render, screen } = await import("@testing-library/react");
    const { createElement } = await import("react");
    const { ServerReached } = await import("./SourcesTab");
    const row = (origin: string, created_at: string, status = "verified") => ({ id: created_at, origin, created_at, status }) as never;
    const backups = [row("local", "2026-11-26T19:00:00Z"), row("server", "2026-11-26T18:10:00Z"), row("server", "2026-11-26T17:00:00Z")];
    const view = render(createElement(ServerReached, { tests: new Map(), backups }));
    expect(screen.getByTestId("source-database-server-reached")).toHaveTextContent(/^The backup server reached it: its backup of 2026-11-26 \d\d:10 is here/);
    view.unmount();
    // Tested from this computer, or no server backup: nothing more to say.
    const tested = new Map([["database", { source: "database", ok: true, tested_at: "2026-11-26T18:00:00Z", message: null }]]);
    render(createElement(ServerReached, { tests: tested as never, backups }));
    render(createElement(ServerReached, { tests: new Map(), backups: [row("local", "2026-11-26T19:00:00Z"), row("server", "2026-11-26T18:10:00Z", "corrupt")] }));
    expect(screen.queryByTestId("source-database-server-reached")).toBeNull();
  });
});
