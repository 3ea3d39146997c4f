import "@testing-library/jest-dom/vitest";
import { clearMocks } from "@tauri-apps/api/mocks";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";
import { refuseClicksOnDisabledControls } from "./clicks";

// findBy…/waitFor wait for what a test expects to appear; their default deadline (1 s) is the
// machine's speed, not the app's behaviour: beside the Rust test binaries on two cores a save's
// error took longer than that to render (a flake of .ci/test, docs/development.md). They still
// return as soon as it appears; the deadline is inside vitest's testTimeout (vite.config.ts).
configure({ asyncUtilTimeout: 15_000 });

afterEach(() => {
  cleanup();
  clearMocks();
});

refuseClicksOnDisabledControls();
