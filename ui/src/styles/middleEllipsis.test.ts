// A shortened value's end (a file name, a checksum's last bytes) never wraps or shrinks: only its
// start gives way (issue 44: restore-01 and browse-01 showed "…database.tar.zs" with an orphan "t").
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const css = readFileSync(resolve(process.cwd(), "src/styles/base.css"), "utf8");
const body = (selector: string) => {
  const start = css.indexOf(`\n${selector} {`);
  if (start < 0) throw new Error(`no rule ${selector}`);
  return css.slice(start, css.indexOf("}", start));
};

describe("a value shortened in the middle", () => {
  it("keeps its end on one line, giving way only after the start, and then with an ellipsis (screens-light-02)", () => {
    expect(body(".middle-ellipsis-tail")).toMatch(/white-space:\s*nowrap/);
    expect(body(".middle-ellipsis-tail")).not.toMatch(/overflow-wrap:\s*anywhere/);
    // Elsewhere the end never shrinks (a shrinking end collapsed the restore report's path)...
    expect(body(".middle-ellipsis-tail")).toMatch(/flex:\s*0 0 auto/);
    // ...in the side panel it shrinks (flex-shrink 1) a thousand times less readily than the start (1000)...
    const tail = body(".tl-side .middle-ellipsis-tail");
    expect(tail).toMatch(/flex:\s*0 1 auto/);
    expect(body(".middle-ellipsis-head")).toMatch(/flex:\s*0 1000 auto/);
    // ...and when it must, ends in "…" instead of being cut at the edge.
    expect(tail).toMatch(/overflow:\s*hidden/);
    expect(tail).toMatch(/text-overflow:\s*ellipsis/);
    expect(tail).toMatch(/min-width:\s*0/);
  });
  it("gives way at its start", () => {
    expect(body(".middle-ellipsis-head")).toMatch(/text-overflow:\s*ellipsis/);
  });
});
