// The layers of engine/ are a rule, not a habit: engine/core/ is pure logic (no I/O, no timers, no
// libp2p, no SQLite) and imports only engine/core/; nothing in engine/ imports app/ or renderer/ or
// electron. A change that breaks this fails here, with the file and the import named.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CORE = join(ROOT, 'engine', 'core');
// Hashing is computation, not I/O; everything else of Node's is off limits for core.
// node-diff3 is pure computation too (line diff and 3-way merge, no I/O): text-merge.ts uses it.
// Computation only: hashing, frame compression, and the line diff of the text merge.
const CORE_ALLOWED_BUILTINS = new Set(['node:crypto', 'node:zlib', 'node-diff3']);
const CORE_FORBIDDEN_GLOBALS = /\b(setTimeout|setInterval|setImmediate|queueMicrotask|Date\.now|performance\.now|Math\.random|process\.|fetch\()/;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specs: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm, // import x from, export { y } from
    /^\s*import\s*['"]([^'"]+)['"]/gm, // import './side-effect.ts'
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // await import('x')
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) specs.push(m[1]);
  return specs;
}

/** Lines of `source` outside comments that use a timer, a clock or a random source. */
function impureLines(source: string): string[] {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').split('\n').map((l) => l.replace(/\/\/.*$/, '')).filter((l) => CORE_FORBIDDEN_GLOBALS.test(l));
}

test('the import scanner sees static, type-only, re-exported and dynamic imports', () => {
  const src = [
    `import a from './a.ts';`,
    `import type {\n  B,\n  C,\n} from "../b.ts";`,
    `export { c } from './c.ts';`,
    `import './side.ts';`,
    `const d = await import('node:fs');`,
    `// import x from './commented.ts';`,
    `export type Path = 'local' | 'import';`,
  ].join('\n');
  assert.deepEqual(importsOf(src).sort(), ['../b.ts', './a.ts', './c.ts', './side.ts', 'node:fs']);
});

test('engine/core imports only engine/core (and node:crypto, node:zlib for hashing and compression)', () => {
  const files = tsFiles(CORE);
  assert.ok(files.length >= 10, `core has its modules (${files.length})`);
  const bad: string[] = [];
  for (const f of files) {
    for (const spec of importsOf(readFileSync(f, 'utf8'))) {
      const ok = spec.startsWith('.') ? resolve(dirname(f), spec).startsWith(CORE + '/') : CORE_ALLOWED_BUILTINS.has(spec);
      if (!ok) bad.push(`${relative(ROOT, f)} imports ${spec}`);
    }
  }
  assert.deepEqual(bad, [], 'core modules importing outside core');
});

test('engine/core reads no clock, timer or random source', () => {
  const bad = tsFiles(CORE).flatMap((f) => impureLines(readFileSync(f, 'utf8')).map((l) => `${relative(ROOT, f)}: ${l.trim()}`));
  assert.deepEqual(bad, [], 'core lines using a timer, clock or random source');
});

test('engine/ never imports app/, renderer/ or electron', () => {
  const bad: string[] = [];
  for (const f of tsFiles(join(ROOT, 'engine'))) {
    for (const spec of importsOf(readFileSync(f, 'utf8'))) {
      const target = spec.startsWith('.') ? relative(ROOT, resolve(dirname(f), spec)) : spec;
      if (/^(app|renderer)\//.test(target) || spec === 'electron' || spec.startsWith('electron/')) bad.push(`${relative(ROOT, f)} imports ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});
