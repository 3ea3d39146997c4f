import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The Tauri CLI runs `npm --prefix ui run dev` and loads http://localhost:5173 (tauri.conf.json
// `build.devUrl`); `npm --prefix ui run build` writes ui/dist (`build.frontendDist`).
const host = process.env.TAURI_DEV_HOST;

export default defineConfig({
  plugins: [react()],
  // Keep the Rust compiler's output visible when run under `tauri dev`.
  clearScreen: false,
  server: {
    port: 5173,
    strictPort: true,
    // Only listen beyond localhost when the Tauri CLI asks for it (mobile dev on a device).
    ...(host ? { host, hmr: { protocol: "ws", host, port: 5174 } } : {}),
    watch: { ignored: ["**/src-tauri/**"] },
  },
  envPrefix: ["VITE_", "TAURI_ENV_"],
  build: {
    // WebView2 (Chromium) on Windows, WebKit on macOS and Linux.
    target: process.env.TAURI_ENV_PLATFORM === "windows" ? "chrome105" : "safari15",
    minify: process.env.TAURI_ENV_DEBUG ? false : "esbuild",
    sourcemap: Boolean(process.env.TAURI_ENV_DEBUG),
    outDir: "dist",
    emptyOutDir: true,
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    // .ci/test runs these beside the Rust test binaries on two cores: a test rendering 10,000
    // rows took 6.8 s there (5 s is vitest's default). Behaviour is asserted, never speed.
    testTimeout: 20_000,
  },
});
