// The harness itself: finds keep working while the page replaces the very nodes they look for,
// as React does during a screen change (WebKitWebDriver may then answer a find with "stale"); and
// the "looks broken" check every screenshot runs finds cut-off text and footer buttons off screen,
// and (issue 64) vertical clipping, overflow out of a card, text under a sticky bar and overlaps.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { launchApp, looksBroken, staleFindRetries } from "../lib/app.js";

describe("harness: finds while the DOM churns", () => {
  let app;

  before(async () => {
    app = await launchApp({ name: "harness" });
    await app.browser.$('[data-testid="app"]').waitForDisplayed();
  });

  after(async () => {
    await app?.browser?.execute(() => clearInterval(window.__churn));
    await app?.close();
  });

  it("finds a node that is replaced every few milliseconds", async () => {
    await app.browser.execute(() => {
      const host = document.createElement("div");
      document.body.appendChild(host);
      let n = 0;
      const replace = () => {
        const node = document.createElement("span");
        node.dataset.testid = "churn";
        node.textContent = `churn ${++n}`;
        node.appendChild(document.createElement("b"));
        host.replaceChildren(node);
      };
      replace();
      window.__churn = setInterval(replace, 10);
    });
    let found = 0;
    for (let i = 0; i < 300; i++) {
      const el = await app.browser.$('[data-testid="churn"]');
      assert.ok(el.elementId, `find ${i} returned an element`);
      const all = await app.browser.$$('[data-testid="churn"] b');
      assert.ok(all.length <= 1);
      found++;
    }
    assert.equal(found, 300);
    console.log(`# stale finds asked again: ${staleFindRetries}`);
  });
});

describe("harness: the looks-broken check before every screenshot", () => {
  let app;

  before(async () => {
    app = await launchApp({ name: "harness-looks" });
    await app.browser.$('[data-testid="empty-state"]').waitForDisplayed({ timeout: 30_000 });
  });

  after(async () => app?.close());

  it("passes the first screen, then names cut-off text and a dialog's button below the fold", async () => {
    assert.deepEqual(await looksBroken(app.browser), []);
    await app.browser.execute(() => {
      // Styles set through the CSSOM: the app's content security policy drops style attributes.
      const host = document.createElement("div");
      host.id = "looks-test";
      const add = (tag, text, style, attrs = {}) => {
        const el = document.createElement(tag);
        el.textContent = text;
        Object.assign(el.style, style);
        for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
        host.appendChild(el);
        return el;
      };
      const narrow = { width: "120px", whiteSpace: "nowrap" };
      add("p", "A sentence far too long for its narrow box", { ...narrow, overflow: "hidden" }, { "data-testid": "cut" });
      add("p", "Shortened on purpose, with an ellipsis", { ...narrow, overflow: "hidden", textOverflow: "ellipsis" });
      add("div", "A scroll container is meant to scroll sideways", { ...narrow, overflow: "auto" });
      const footer = add("div", "", { position: "fixed", top: "5000px", left: "0" }, { class: "scroll-panel-footer" });
      const button = document.createElement("button");
      button.className = "btn btn-primary";
      button.textContent = "Import";
      footer.appendChild(button);
      document.body.appendChild(host);
    });
    try {
      const broken = await looksBroken(app.browser);
      assert.equal(broken.length, 2, broken.join("\n"));
      assert.match(broken[0], /^text cut off in <p> in \[data-testid="cut"\]: "A sentence far too long/);
      assert.match(broken[1], /^the button "Import" .* is outside the window/);
      await assert.rejects(app.screenshot("looks-broken"), /the screen harness-looks-looks-broken looks broken/);
    } finally {
      await app.browser.execute(() => document.getElementById("looks-test").remove());
    }
  });
});

describe("harness: the looks-broken check finds clipping, overflow, a sticky bar's cut and overlaps (issue 64)", () => {
  let app;

  before(async () => {
    app = await launchApp({ name: "harness-looks64" });
    await app.browser.$('[data-testid="empty-state"]').waitForDisplayed({ timeout: 30_000 });
  });

  after(async () => app?.close());

  /**
   * Plants elements (each `[parent index or -1 for the host, tag, text, style, attributes]`, styles
   * set through the CSSOM: the app's content security policy drops style attributes), scrolls
   * element `scroll[0]` to `scroll[1]`, and returns what the check says.
   */
  async function planted(elements, scroll = null) {
    await app.browser.execute(
      (items, scrollTo) => {
        const host = document.createElement("div");
        host.id = "looks-test";
        const made = [];
        for (const [parent, tag, text, style, attrs] of items) {
          const el = document.createElement(tag);
          if (text) el.textContent = text;
          Object.assign(el.style, style);
          for (const [k, v] of Object.entries(attrs ?? {})) el.setAttribute(k, v);
          (parent < 0 ? host : made[parent]).appendChild(el);
          made.push(el);
        }
        document.body.prepend(host);
        if (scrollTo) made[scrollTo[0]].scrollTop = scrollTo[1];
      },
      elements,
      scroll,
    );
    try {
      return await looksBroken(app.browser);
    } finally {
      await app.browser.execute(() => document.getElementById("looks-test").remove());
    }
  }

  it("passes the first screen", async () => {
    assert.deepEqual(await looksBroken(app.browser), []);
  });

  it("names text cut at the bottom of a box that hides its overflow (vertical clipping)", async () => {
    const broken = await planted([
      [-1, "p", "Three lines of help text in a box one line high, so the second and third are cut away",
        { width: "200px", height: "20px", lineHeight: "20px", overflow: "hidden" }, { "data-testid": "clipped" }],
      // A line clamp says it shortened: not broken.
      [-1, "p", "Clamped on purpose to one line with an ellipsis at its end, as a summary",
        { width: "200px", display: "-webkit-box", webkitBoxOrient: "vertical", webkitLineClamp: "1", overflow: "hidden" }],
    ]);
    assert.equal(broken.length, 1, broken.join("\n"));
    assert.match(broken[0], /^text cut off at the top or bottom of <p> in \[data-testid="clipped"\]: "Three lines/);
  });

  it("names a table running out of the side of its card", async () => {
    const broken = await planted([
      [-1, "div", "", { width: "300px" }, { class: "panel", "data-testid": "narrow-card" }],
      [0, "div", "A plan table far wider than the card it sits in", { width: "500px", whiteSpace: "nowrap" }, { "data-testid": "wide-table" }],
      // Inside a box that scrolls sideways, width is that box's business: not broken.
      [-1, "div", "", { width: "300px" }, { class: "panel" }],
      [2, "div", "", { overflowX: "auto" }],
      [3, "div", "A wide table in a box of its own that scrolls", { width: "500px" }],
    ]);
    assert.equal(broken.length, 1, broken.join("\n"));
    assert.match(broken[0], /^<div> in \[data-testid="wide-table"\] \("A plan table far wider.*"\) runs \d+ px out of the side of its card <div.panel> in \[data-testid="narrow-card"\]/);
  });

  it("names a line half under a sticky bar", async () => {
    const broken = await planted([
      [-1, "div", "", { width: "300px" }],
      [0, "div", "Save", { position: "sticky", top: "0", height: "24px", background: "white", marginBottom: "-10px" }, { "data-testid": "bar" }],
      [0, "p", "Help text that runs under the bar", { margin: "0", lineHeight: "20px" }, { "data-testid": "under" }],
    ]);
    assert.ok(broken.length >= 1, "found");
    assert.match(broken[0], /^the line "Help text that runs under the bar" \(<p> in \[data-testid="under"\]\) runs under the sticky <div> in \[data-testid="bar"\]/);
    assert.equal(broken.length, 1, broken.join("\n"));
  });

  it("names text under a sticky footer only where scrolling cannot bring it out", async () => {
    const footer = (testid) => [
      [-1, "div", "", { height: "100px", overflowY: "auto", width: "300px" }, { "data-testid": testid }],
      [0, "p", "First line", { margin: "0", lineHeight: "20px" }],
      [0, "p", "Second line", { margin: "0", lineHeight: "20px" }],
      [0, "p", "Third line", { margin: "0", lineHeight: "20px" }],
      [0, "p", "Fourth line", { margin: "0", lineHeight: "20px" }],
      [0, "p", "The last line, under the footer", { margin: "0", lineHeight: "20px" }, { "data-testid": `${testid}-last` }],
      [0, "div", "Done", { position: "sticky", bottom: "0", height: "30px", marginTop: "-10px", background: "white" }, { "data-testid": `${testid}-bar` }],
    ];
    // Scrolled to the top: the box can still scroll down, so what the footer covers comes out.
    assert.deepEqual(await planted(footer("can-scroll")), []);
    // Scrolled to the end: the last line stays half under the footer.
    const broken = await planted(footer("at-end"), [0, 1000]);
    assert.equal(broken.length, 1, broken.join("\n"));
    assert.match(broken[0], /^the line "The last line, under the footer" \(<p> in \[data-testid="at-end-last"\]\) runs under the sticky <div> in \[data-testid="at-end-bar"\]/);
  });

  it("names two texts that overlap", async () => {
    const broken = await planted([
      [-1, "div", "", { width: "400px" }],
      [0, "p", "a role name running on", { margin: "0", lineHeight: "20px" }, { "data-testid": "first" }],
      [0, "p", "into the next column", { margin: "-14px 0 0 40px", lineHeight: "20px" }, { "data-testid": "second" }],
      // Lines one below the other: not broken.
      [0, "p", "A line", { margin: "0", lineHeight: "20px" }],
      [0, "p", "Another line", { margin: "0", lineHeight: "20px" }],
      // What a closed <details> holds is not drawn (WebKit still gives it boxes): not broken.
      [0, "details", "", {}],
      [5, "summary", "Details", {}],
      [5, "p", "folded away", { margin: "-30px 0 0 0", lineHeight: "20px" }],
      [5, "p", "also folded", { margin: "-20px 0 0 0", lineHeight: "20px" }],
    ]);
    assert.equal(broken.length, 1, broken.join("\n"));
    assert.match(broken[0], /^the text "a role name running on" \(<p> in \[data-testid="first"\]\) and "into the next column" \(<p> in \[data-testid="second"\]\) overlap/);
  });

  it("names a button cut by the edge of the box it scrolls in", async () => {
    const broken = await planted(
      [
        [-1, "div", "", { height: "100px", overflowY: "auto", width: "300px" }, { "data-testid": "scroller" }],
        [0, "div", "", { height: "200px" }],
        [0, "button", "Done", { height: "30px", display: "block" }, { class: "btn" }],
        [0, "div", "", { height: "200px" }],
      ],
      [0, 215],
    );
    assert.equal(broken.length, 1, broken.join("\n"));
    assert.match(broken[0], /^the button "Done" \(<button.btn> in \[data-testid="scroller"\]\) is cut by the top edge of the box it scrolls in/);
  });

  it("checks every screenshot again in an 800×600 window: names what only breaks there, and puts the window back", async () => {
    const before = await app.browser.getWindowSize();
    // A card as wide as the window, holding a line 900 px long: whole at 1100 px, out of the
    // card's side at 800 px.
    await app.browser.execute(() => {
      const card = document.createElement("div");
      card.className = "panel";
      card.id = "looks-test";
      card.dataset.testid = "window-wide-card";
      const line = document.createElement("div");
      line.textContent = "A plan line that fits a wide window and not a narrow one";
      Object.assign(line.style, { width: "900px", whiteSpace: "nowrap" });
      line.dataset.testid = "nine-hundred";
      card.appendChild(line);
      document.body.prepend(card);
    });
    try {
      assert.deepEqual(await looksBroken(app.browser), [], "whole at the default size");
      await assert.rejects(app.screenshot("narrow-planted"), (err) => {
        assert.match(err.message, /looks broken at 800×600 \(.*harness-looks64-narrow-planted-800x600\.png\)/);
        assert.match(err.message, /\[data-testid="nine-hundred"\] \("A plan line that fits.*"\) runs \d+ px out of the side of its card <div.panel> in \[data-testid="window-wide-card"\]/);
        return true;
      });
      assert.deepEqual(await app.browser.getWindowSize(), before, "the window is back to its size");
      assert.deepEqual(await looksBroken(app.browser), [], "and whole again");
    } finally {
      await app.browser.execute(() => document.getElementById("looks-test").remove());
    }
  });
});
