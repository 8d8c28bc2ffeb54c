// `npm run build:electron`: bundles the main process and the preload with esbuild into
// dist/electron/. The main bundle carries the whole engine (libp2p and friends included), so the
// packaged app needs no node_modules at all: electron-builder.yml packs dist/ and package.json.
//
//   dist/electron/main.js      ESM (package.json "type": "module"; Electron 45 loads ESM mains),
//                              `electron` and Node built-ins (node:sqlite included) external
//   dist/electron/preload.cjs  one CommonJS file: a sandboxed preload can require only `electron`

import { build, type BuildOptions } from 'esbuild';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const OUT_DIR = join(ROOT, 'dist', 'electron');
export const MAIN_BUNDLE = join(OUT_DIR, 'main.js');
export const PRELOAD_BUNDLE = join(OUT_DIR, 'preload.cjs');

/**
 * Electron 45 runs Node 24 in its main process; the preload's target (chrome138) is older than
 * the Chromium of any Electron from 38 on, so nothing it emits is too new.
 */
const common: BuildOptions = {
  bundle: true,
  external: ['electron'],
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: ROOT,
};

/** Builds both bundles into `outDir` (tests build into a temp directory). */
export async function buildElectron(outDir = OUT_DIR): Promise<{ main: string; preload: string }> {
  const main = join(outDir, 'main.js');
  const preload = join(outDir, 'preload.cjs');
  await mkdir(outDir, { recursive: true });
  await Promise.all([
    build({
      ...common,
      entryPoints: [join(ROOT, 'app/electron/main.ts')],
      outfile: main,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      // Some bundled dependencies are CommonJS and call require() for Node built-ins; an ESM
      // bundle has no require of its own.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    }),
    build({
      ...common,
      entryPoints: [join(ROOT, 'app/electron/preload.ts')],
      outfile: preload,
      platform: 'browser',
      format: 'cjs',
      target: 'chrome138',
    }),
  ]);
  return { main, preload };
}

if (import.meta.main) {
  const started = performance.now();
  const out = await buildElectron();
  console.log(`built ${out.main} and ${out.preload} in ${Math.round(performance.now() - started)} ms`);
}
