// Small layout rules from the screenshot reviews (issue 44, "looks broken"): a gap between facts
// and the buttons under them, and between a button and the form it opened; the project header's
// "not counted" note on one line.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const read = (p: string) => readFileSync(resolve(process.cwd(), "src", p), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");

function body(css: string, selector: string): string {
  const at = css.indexOf(`\n${selector} {`);
  if (at < 0) throw new Error(`no rule ${selector}`);
  return css.slice(at, css.indexOf("}", at));
}

describe("spacing and one-line rules (issue 44)", () => {
  const forms = read("styles/forms.css");
  it("keeps buttons off the facts above them and a form off its button", () => {
    expect(body(forms, ".kv + .form-actions")).toMatch(/margin-top:\s*10px/);
    expect(body(forms, ".form-actions + .form")).toMatch(/margin-top:\s*12px/);
  });
  it("writes the project header's 'not counted' note on one line (projects-06)", () => {
    const b = body(read("dashboard/dashboard.css"), ".project-status-head .check-not-counted");
    expect(b).toMatch(/white-space:\s*nowrap/);
    expect(b).toMatch(/max-width:\s*none/);
  });
  it("sets More backup schedules apart from the buttons above it (schedule-02)", () => {
    const b = body(read("styles/layout.css"), ".named-schedules");
    expect(b).toMatch(/margin-top:\s*20px/);
    expect(b).toMatch(/border-top:/);
    expect(readFileSync(resolve(process.cwd(), "src/schedules/NamedSchedules.tsx"), "utf8")).toContain('className="named-schedules"');
  });
  it("packs a field's label and control at its top, so side-by-side controls line up (projects-02)", () => {
    expect(body(forms, ".field")).toMatch(/align-content:\s*start/);
  });
  it("lines up the welcome's three answers at their top (projects-01)", () => {
    expect(body(read("styles/layout.css"), ".welcome-answer")).toMatch(/align-content:\s*start/);
  });
  it("writes Settings' update state and Check now on one line, and About's facts right under its title (settings-14)", () => {
    expect(body(forms, ".update-check")).toMatch(/display:\s*flex/);
    expect(body(forms, ".update-check > p")).toMatch(/margin:\s*0/);
    const info = body(read("styles/base.css"), ".panel-title + .info");
    expect(info).toMatch(/border-top:\s*none/);
    expect(info).toMatch(/margin-top:\s*0/);
  });
  it("spaces the row recovery's parts by its grid alone, and its confirmation off what is around it (recover-light-02)", () => {
    const css = read("recover/recover.css");
    expect(body(css, ".recover > .toolbar,\n.recover > p")).toMatch(/margin:\s*0/);
    expect(body(css, ".recover-confirm")).toMatch(/margin:\s*12px 0/);
  });
});
