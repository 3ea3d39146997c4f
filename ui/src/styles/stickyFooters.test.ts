// Button bars of panels (the restore wizard, dialogs, the import preview) sit in a footer below a
// body that scrolls, so nothing scrolls under them (issue 44: restore-11 and import-02 showed a
// line sliced by a sticky bar's edge). The recovery key's notice keeps a sticky bar of its own.
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

describe("panels with a footer: the body scrolls above it, nothing under it (issue 44, restore-11, import-02)", () => {
  const forms = read("styles/forms.css");
  it("the panel is a column, the body scrolls down only, the footer does not shrink", () => {
    const panel = rule(forms, ".panel.scroll-panel");
    expect(decl(panel, "display")).toBe("flex");
    expect(decl(panel, "flex-direction")).toBe("column");
    expect(decl(panel, "overflow")).toBe("hidden");
    const body = rule(forms, ".scroll-panel-body");
    expect(decl(body, "overflow")).toBe("hidden auto");
    expect(decl(body, "min-height")).toBe("0");
    expect(decl(rule(forms, ".scroll-panel-footer"), "flex")).toBe("none");
  });
  it.each([
    ["wizard/wizard.css", "wizard-actions"],
    ["styles/forms.css", "form-actions"],
  ])("%s: no sticky bar over scrolling content is left", (file, bar) => {
    expect(read(file)).not.toMatch(new RegExp(`\\.${bar}[^{]*\\{\\s*position: sticky`));
  });
  it.each([
    ["styles/forms.css", "\n.dialog"],
    ["dropzone/dropzone.css", "\n.drop-preview"],
  ])("%s %s does not scroll itself (its body does)", (file, selector) => {
    expect(rule(read(file), selector)).not.toMatch(/overflow/);
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

