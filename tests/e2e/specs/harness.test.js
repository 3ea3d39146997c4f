// The harness itself: finds keep working while the page replaces the very nodes they look for,
// as React does during a screen change (WebKitWebDriver may then answer a find with "stale"); and
// the "looks broken" check every screenshot runs finds cut-off text and footer buttons off screen.
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
