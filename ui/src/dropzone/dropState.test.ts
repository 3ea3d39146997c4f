import { describe, expect, it } from "vitest";
import { dropReducer, fileName, initialDrop } from "./dropState";

const pos = { x: 10, y: 20 } as never;

describe("drop state", () => {
  it("a file chosen in the open dialog is previewed exactly like a dropped one", () => {
    const dropped = dropReducer(initialDrop, { type: "drop", paths: ["/x/a.tar.gz"], position: pos });
    const opened = dropReducer({ ...initialDrop, over: true, count: 1 }, { type: "open", path: "/x/a.tar.gz" });
    expect(opened).toEqual(dropped);
    expect(dropReducer(opened, { type: "dismiss" }).path).toBeNull();
  });

  it("shows the overlay while files are dragged over, and hides it when they leave", () => {
    let s = dropReducer(initialDrop, { type: "enter", paths: ["/a.tar.gz", "/b.tar.gz"], position: pos });
    expect(s).toMatchObject({ over: true, count: 2, path: null });
    s = dropReducer(s, { type: "over", position: pos });
    expect(s.over).toBe(true);
    s = dropReducer(s, { type: "leave" });
    expect(s).toEqual(initialDrop);
  });

  it("an over without an enter still shows the overlay", () => {
    expect(dropReducer(initialDrop, { type: "over", position: pos }).over).toBe(true);
  });

  it("previews the first dropped file and counts the others", () => {
    let s = dropReducer(initialDrop, { type: "enter", paths: ["/x/a.tar.gz", "/x/b"], position: pos });
    s = dropReducer(s, { type: "drop", paths: ["/x/a.tar.gz", "/x/b"], position: pos });
    expect(s).toEqual({ over: false, count: 0, path: "/x/a.tar.gz", ignored: 1 });
    s = dropReducer(s, { type: "dismiss" });
    expect(s).toEqual(initialDrop);
  });

  it("a drop without files only hides the overlay and keeps an open preview", () => {
    let s = dropReducer(initialDrop, { type: "drop", paths: ["/x/a.tar.gz"], position: pos });
    s = dropReducer(s, { type: "enter", paths: [], position: pos });
    s = dropReducer(s, { type: "drop", paths: [], position: pos });
    expect(s).toMatchObject({ over: false, path: "/x/a.tar.gz" });
  });

  it("names files by either separator", () => {
    expect(fileName("/home/ada/shop.tar.gz")).toBe("shop.tar.gz");
    expect(fileName("C:\\Users\\ada\\shop.dump")).toBe("shop.dump");
    expect(fileName("plain")).toBe("plain");
  });
});
