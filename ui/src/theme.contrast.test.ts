// Every text/background pair the stylesheet uses, in both themes, at WCAG AA (4.5:1 for normal
// text), computed with the WCAG 2 formula from the custom properties in styles/theme.css.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// Vitest runs from ui/.
const STYLES = resolve(process.cwd(), "src/styles");
const CSS = readFileSync(resolve(STYLES, "theme.css"), "utf8");
/** Every file of the app's stylesheet (src/styles/), for the rules the controls use. */
const ALL = readdirSync(STYLES)
  .filter((f) => f.endsWith(".css"))
  .map((f) => readFileSync(resolve(STYLES, f), "utf8"))
  .join("\n");

/** The custom properties (`--name: #hex;`) of the first rule whose selector is exactly `selector`. */
function themeVars(selector: string): Record<string, string> {
  const start = CSS.indexOf(`${selector} {`);
  if (start < 0) throw new Error(`no rule ${selector}`);
  const body = CSS.slice(start, CSS.indexOf("}", start));
  return Object.fromEntries([...body.matchAll(/--([a-z0-9-]+):\s*(#[0-9a-fA-F]{3,6})\s*;/g)].map((m) => [m[1]!, m[2]!]));
}

function channel(c: number): number {
  const s = c / 255;
  return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
}

function luminance(hex: string): number {
  let h = hex.replace("#", "");
  if (h.length === 3) h = [...h].map((c) => c + c).join("");
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  return 0.2126 * channel(r!) + 0.7152 * channel(g!) + 0.0722 * channel(b!);
}

/** The WCAG 2 contrast ratio of two colours, 1–21. */
export function contrast(a: string, b: string): number {
  const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (l1! + 0.05) / (l2! + 0.05);
}

/** [text, background] pairs the stylesheet puts together. */
const PAIRS: [string, string][] = [
  ["text", "bg"],
  ["text", "surface"],
  ["text", "surface-2"],
  ["text", "neutral-bg"],
  ["text", "select"],
  ["muted", "bg"],
  ["muted", "surface"],
  ["muted", "surface-2"],
  ["accent-text", "accent"],
  ["accent", "surface"],
  ["accent", "bg"],
  ["ok", "ok-bg"],
  ["ok", "surface"],
  ["warn", "warn-bg"],
  ["warn", "surface"],
  ["danger-text", "danger-bg"],
  ["danger-text", "surface"],
  ["danger-text", "bg"],
  ["disabled-text", "disabled-bg"],
  ["placeholder", "bg"],
];

/** [control edge, background] pairs: the boundary of an unticked checkbox, radio or switch, at the
 *  3:1 WCAG asks of user-interface components (1.4.11 non-text contrast). */
const NON_TEXT_PAIRS: [string, string][] = [
  ["control-border", "bg"],
  ["control-border", "surface"],
  ["control-border", "surface-2"],
  ["control-border", "select"],
  ["accent", "bg"],
  ["accent", "surface"],
];

const THEMES = {
  light: themeVars(":root"),
  dark: themeVars(':root[data-theme="dark"]'),
  "dark (system)": themeVars(':root:not([data-theme="light"])'),
};

describe("theme contrast (WCAG AA)", () => {
  it("computes the WCAG ratio", () => {
    expect(contrast("#000000", "#ffffff")).toBeCloseTo(21, 5);
    expect(contrast("#777777", "#ffffff")).toBeCloseTo(4.48, 2);
    expect(contrast("#fff", "#fff")).toBe(1);
  });

  it("the system's dark theme and the chosen dark theme are the same colours", () => {
    expect(THEMES["dark (system)"]).toEqual(THEMES.dark);
  });

  for (const [name, vars] of Object.entries(THEMES)) {
    it(`${name}: every text on its background reaches 4.5:1`, () => {
      const low: string[] = [];
      for (const [fg, bg] of PAIRS) {
        expect(vars[fg], `--${fg} in ${name}`).toBeDefined();
        expect(vars[bg], `--${bg} in ${name}`).toBeDefined();
        const ratio = contrast(vars[fg]!, vars[bg]!);
        if (ratio < 4.5) low.push(`--${fg} on --${bg}: ${ratio.toFixed(2)}`);
      }
      expect(low).toEqual([]);
    });

    it(`${name}: every control edge on its background reaches 3:1`, () => {
      const low: string[] = [];
      for (const [fg, bg] of NON_TEXT_PAIRS) {
        expect(vars[fg], `--${fg} in ${name}`).toBeDefined();
        expect(vars[bg], `--${bg} in ${name}`).toBeDefined();
        const ratio = contrast(vars[fg]!, vars[bg]!);
        if (ratio < 3) low.push(`--${fg} on --${bg}: ${ratio.toFixed(2)}`);
      }
      expect(low).toEqual([]);
    });
  }
});

/** The declarations of the rule whose selector list is exactly `selector`. */
function rule(selector: string): string {
  const start = ALL.indexOf(`${selector} {`);
  if (start < 0) throw new Error(`no rule ${selector}`);
  return ALL.slice(start, ALL.indexOf("}", start));
}

/** Every stylesheet under src/ (the app's and the screens' own), as [path, text]. */
function allStylesheets(dir = resolve(process.cwd(), "src")): [string, string][] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e): [string, string][] => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return allStylesheets(p);
    return e.name.endsWith(".css") ? [[p, readFileSync(p, "utf8")]] : [];
  });
}

describe("every colour comes from the theme", () => {
  it("each var(--x) a stylesheet uses is defined by the theme (in light and dark), none with a fallback colour", () => {
    const light = themeVars(":root");
    const dark = themeVars(':root[data-theme="dark"]');
    const problems: string[] = [];
    for (const [file, text] of allStylesheets()) {
      for (const m of text.matchAll(/var\(--([a-z0-9-]+)\s*(,[^)]*)?\)/g)) {
        const [name, fallback] = [m[1]!, m[2]];
        if (name === "mono") continue;
        if (!(name in light) || !(name in dark)) problems.push(`${file}: --${name} is not a theme colour`);
        if (fallback && /#|rgb|white|black/.test(fallback)) problems.push(`${file}: --${name} falls back to ${fallback.slice(1).trim()}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe("controls in both themes", () => {
  it("a disabled button keeps readable colours (no faded primary: the low-contrast Save)", () => {
    const disabled = rule(".btn:disabled,\n.btn-primary:disabled");
    expect(disabled).toContain("color: var(--disabled-text)");
    expect(disabled).toContain("background: var(--disabled-bg)");
    expect(ALL).not.toMatch(/\.btn[^{]*:disabled[^{]*\{[^}]*opacity:\s*0\./);
  });

  it("native fields, selects and checkboxes take the theme's colours", () => {
    const fields = rule('input:not([type="checkbox"]):not([type="radio"]):not([type="range"]):not([type="file"]),\nselect,\ntextarea');
    expect(fields).toContain("color: var(--text)");
    expect(fields).toContain("background-color: var(--bg)");
    expect(rule("option")).toContain("background-color: var(--surface)");
    expect(rule('input[type="checkbox"],\ninput[type="radio"],\ninput[type="range"],\nprogress')).toContain(
      "accent-color: var(--accent)",
    );
    expect(rule(':root[data-theme="dark"]')).toContain("color-scheme: dark");
  });

  it("checkboxes and radios are drawn by the app in the theme's colours (WebKitGTK paints a native one white in dark mode)", () => {
    const box = rule('input[type="checkbox"],\ninput[type="radio"]');
    expect(box).toContain("appearance: none");
    expect(box).toContain("-webkit-appearance: none");
    expect(box).toContain("border: 1.5px solid var(--control-border)");
    expect(box).toContain("background-color: var(--bg)");
    const ticked = rule('input[type="checkbox"]:checked,\ninput[type="radio"]:checked');
    expect(ticked).toContain("background-color: var(--accent)");
    expect(rule('input[type="checkbox"]:disabled,\ninput[type="radio"]:disabled')).toContain("background-color: var(--disabled-bg)");
  });

  it("a field's sizing leaves its checkboxes and radios alone (drills: radios stretched to 32 px ovals), fieldsets take the theme's border", () => {
    expect(ALL).not.toMatch(/\.field input,/);
    expect(rule('.field input:not([type="checkbox"]):not([type="radio"]),\n.field select')).toContain("height: 32px");
    expect(rule("fieldset")).toContain("border: 1px solid var(--border)");
  });

  it("number fields' spin buttons are drawn by the app in the theme's colours (WebKitGTK paints a grey GTK button)", () => {
    const spin = rule('input[type="number"]::-webkit-inner-spin-button');
    expect(spin).toContain("appearance: none");
    expect(spin).toContain("-webkit-appearance: none");
    // The arrows are a mask over the muted colour: they follow the theme; no grey block behind them.
    expect(spin).toContain("background-color: var(--muted)");
    expect(spin).toMatch(/-webkit-mask: url\(/);
    expect(rule('input[type="number"]::-webkit-inner-spin-button:hover')).toContain("background-color: var(--text)");
  });

  it("selects are drawn by the app (WebKitGTK paints a native one as a grey GTK button), and no rule wipes their arrow", () => {
    const select = rule("select");
    expect(select).toContain("appearance: none");
    expect(select).toContain("background-image:");
    expect(select).toContain("var(--muted)");
    // A `background:` shorthand on a select would reset its arrow (background-image) to none.
    const wipes = [...ALL.matchAll(/([^{}]*select[^{}]*)\{([^}]*)\}/g)].filter(([, sel, body]) => /(^|[\s,>+~])select(?![-\w])|backup-type-select/.test(sel!) && /(^|[;\s])background:/.test(body!));
    expect(wipes.map(([, sel]) => sel!.trim())).toEqual([]);
  });
});
