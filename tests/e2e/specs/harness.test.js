// The harness itself: finds keep working while the page replaces the very nodes they look for,
// as React does during a screen change (WebKitWebDriver may then answer a find with "stale").
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { launchApp, staleFindRetries } from "../lib/app.js";

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
