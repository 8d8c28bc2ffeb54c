// Builds the renderer (renderer/ -> dist/renderer/) for both hosts: the Electron window and the
// headless peer's static server. No React plugin: Vite's own transform (oxc) compiles JSX with
// the automatic runtime. `base: './'` keeps every asset URL relative, so the same build loads
// from http://127.0.0.1:PORT/ and from a file:// or custom-protocol URL in Electron.
// app/browser-bridge.ts is bundled separately (esbuild, see `npm run build:ui`) into bridge.js.

import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const here = import.meta.dirname;

/**
 * Adds `<script src="./bridge.js">` to <head>: a classic script runs while the page is parsed,
 * before any module script (those are deferred), so window.notesApi exists when the app starts.
 * Injected here rather than written in index.html, where Vite warns that it cannot bundle a
 * non-module script.
 */
const bridgeScript: Plugin = {
  name: 'lan-notes-bridge-script',
  transformIndexHtml: () => [{ tag: 'script', attrs: { src: './bridge.js' }, injectTo: 'head' }],
};

export default defineConfig({
  root: resolve(here, 'renderer'),
  base: './',
  publicDir: false,
  logLevel: 'warn',
  plugins: [bridgeScript],
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  build: {
    outDir: resolve(here, 'dist/renderer'),
    emptyOutDir: true,
    target: 'chrome130',
    // Everything is local: one JS chunk and one CSS file load faster than a waterfall.
    modulePreload: false,
    sourcemap: false,
    reportCompressedSize: false,
    // One chunk on purpose: it loads from local disk or localhost (~190 KB gzipped: React DOM
    // and CodeMirror are most of it); splitting would only add requests before first paint.
    chunkSizeWarningLimit: 800,
    // No data: URLs for assets: every file is served from 'self'.
    assetsInlineLimit: 0,
  },
});
