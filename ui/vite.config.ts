import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { svelteTesting } from "@testing-library/svelte/vite";

// The CSP the Tauri shell applies; `vite preview` serves the build with it so a browser check catches violations.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ipc: http://ipc.localhost",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

// The Tauri window freezes Object.prototype (`freezePrototype`), so assigning a property that Object.prototype
// already has (`toString`) to a plain object throws in strict code ("Attempted to assign to readonly property").
// xterm.js (its key-code helper taken from VS Code) does exactly that once at load. This build step defines the
// property instead, which the frozen prototype allows. The build fails if the code moved (an xterm upgrade):
// look for the assignment again then.
const NEEDLE = "o.toString=s;";
const REPLACEMENT = 'Object.defineProperty(o,"toString",{value:s,writable:!0,configurable:!0,enumerable:!0});';

function xtermFrozenPrototype(): Plugin {
  return {
    name: "xterm-frozen-prototype",
    transform(code, id) {
      if (!/@xterm[\\/]xterm[\\/]lib[\\/]xterm\.mjs$/.test(id.split("?")[0])) return null;
      if (!code.includes(NEEDLE)) {
        this.error(`xterm.mjs no longer contains ${NEEDLE}: check how it assigns toString (see vite.config.ts)`);
      }
      return { code: code.replace(NEEDLE, REPLACEMENT), map: null };
    },
  };
}

export default defineConfig({
  plugins: [svelte(), svelteTesting(), xtermFrozenPrototype()],
  // Relative asset URLs: the shell serves ui/dist from its own origin.
  base: "./",
  clearScreen: false,
  build: {
    outDir: "dist",
    target: "es2022",
    sourcemap: false,
    // uPlot alone is about 50 kB; nothing here should grow past this.
    chunkSizeWarningLimit: 400,
    // index.html is the window; docs.html the API reference `docktray serve` serves at /docs.
    rollupOptions: { input: { index: "index.html", docs: "docs.html" } },
  },
  server: { port: 5173, strictPort: true },
  preview: { headers: { "Content-Security-Policy": CSP } },
  test: {
    environment: "jsdom",
    include: ["tests/**/*.test.ts"],
    setupFiles: ["tests/setup.ts"],
  },
});
