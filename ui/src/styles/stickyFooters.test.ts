// Sticky button bars in panels (the restore wizard, dialogs, the import preview) must cover the
// panel edge to edge and down to its bottom border, so nothing scrolling beneath them shows beside
// or below the buttons (issue 44: restore-07 showed a focus ring left of "Back"; restore-11 a line
// cut in half with no sign that the content went on).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(process.cwd(), "src");
const read = (p: string) => readFileSync(resolve(SRC, p), "utf8");

/** The body of the first rule whose selector list ends with `selector` (then " {"). */
function rule(css: string, selector: string): string {
  const start = css.indexOf(`${selector} {`);
  if (start < 0) throw new Error(`no rule ${selector}`);
  return css.slice(start, css.indexOf("}", start));
}

function decl(body: string, prop: string): string {
  const m = body.match(new RegExp(`(?:^|[;{\\s])${prop}:\\s*([^;]+);`));
  if (!m) throw new Error(`no ${prop}`);
  return m[1]!.trim();
}

const panel = rule(read("styles/layout.css"), "\n.panel");
const [padY, padX] = decl(panel, "padding").split(/\s+/);

describe("sticky footers cover their panel edge to edge (issue 44, restore-07/11)", () => {
  const cases: [string, string][] = [
    ["wizard/wizard.css", "\n.wizard-actions"],
    ["styles/forms.css", ".dialog-actions"],
  ];
  it.each(cases)("%s %s", (file, selector) => {
    const css = read(file);
    // The sticky one among the selector's rules.
    const at = css.indexOf(`${selector} {\n  position: sticky`);
    const body = rule(at < 0 ? css : css.slice(at), selector);
    expect(decl(body, "position")).toBe("sticky");
    const margin = decl(body, "margin").split(/\s+/);
    // left/right: minus the panel's horizontal padding; bottom: minus its vertical padding.
    expect(margin[1]).toBe(`-${padX}`);
    expect(margin[2]).toBe(`-${padY}`);
    expect(decl(body, "bottom")).toBe(`-${padY}`);
    expect(decl(body, "box-shadow")).toMatch(/^0 -/); // a shadow on its top edge
    expect(decl(body, "background")).toBe("var(--surface)");
  });
});

describe("the recovery key's buttons stay in view (issue 44, protection-01)", () => {
  it("protection.css .recovery > .recovery-actions is a sticky bottom bar over the notice's padding", () => {
    const body = rule(read("protection/protection.css"), ".recovery > .recovery-actions");
    expect(decl(body, "position")).toBe("sticky");
    expect(decl(body, "bottom")).toBe("0");
    expect(decl(body, "background")).toBe("var(--warn-bg)");
    // The notice's padding is 10px 14px (layout.css): the bar covers it edge to edge.
    const notice = rule(read("styles/layout.css"), "\n.notice");
    expect(decl(notice, "padding")).toBe("10px 14px");
    expect(decl(body, "margin")).toBe("24px -14px -10px");
  });
});

describe("content fades out above a sticky bar instead of being cut (issue 44, restore-11)", () => {
  const forms = read("styles/forms.css");
  const at = forms.indexOf(".wizard-actions::before,");
  const selectors = forms.slice(at, forms.indexOf("{", at));
  const body = forms.slice(forms.indexOf("{", at), forms.indexOf("}", at));
  it("has a fade above every sticky bar", () => {
    for (const bar of [".wizard-actions", ".dialog .form-actions", ".drop-preview .form-actions", ".dialog-actions", ".recovery > .recovery-actions"]) {
      expect(selectors).toContain(`${bar}::before`);
    }
    expect(decl(body, "position")).toBe("absolute");
    expect(decl(body, "bottom")).toMatch(/^calc\(100%/);
    expect(decl(body, "background")).toMatch(/^linear-gradient\(to bottom, transparent,/);
    expect(decl(body, "pointer-events")).toBe("none");
  });
  it.each([
    ["wizard/wizard.css", "\n.wizard-actions"],
    ["styles/forms.css", ".dialog-actions"],
    ["protection/protection.css", ".recovery > .recovery-actions"],
  ])("%s %s leaves room for the fade above it (at rest it covers only the gap)", (file, selector) => {
    const css = read(file);
    const sticky = css.indexOf(`${selector} {\n  position: sticky`);
    const bar = rule(sticky < 0 ? css : css.slice(sticky), selector);
    const fade = parseInt(decl(body, "height"), 10);
    expect(parseInt(decl(bar, "margin").split(/\s+/)[0]!, 10)).toBeGreaterThanOrEqual(fade);
  });
});

describe("dialogs with sticky bars scroll down, never sideways (issue 44, import-06)", () => {
  it.each([
    ["styles/forms.css", "\n.dialog"],
    ["dropzone/dropzone.css", "\n.drop-preview"],
  ])("%s %s", (file, selector) => {
    expect(decl(rule(read(file), selector), "overflow")).toBe("hidden auto");
  });
});
