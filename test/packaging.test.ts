// electron-builder.yml, checked two ways without Electron's runtime:
//   1. statically: it parses (with the YAML parser electron-builder itself depends on), names the
//      targets we ship (AppImage, deb, dmg, nsis), every icon and hook it names exists, its files
//      are what the build produces, and the packaged main entry is package.json "main", the
//      bundle app/electron/build.ts writes;
//   2. for real: electron-builder packs a Linux app directory in a temp copy of the project, with
//      a stand-in Electron distribution (a file carrying the fuse wire), and app.asar is checked:
//      exactly the built app, no node_modules, main entry and fuses as configured.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildElectron, MAIN_BUNDLE, PRELOAD_BUNDLE } from '../app/electron/build.ts';
// Also brings the icon generator into `npm run typecheck`.
import { LINUX_SIZES } from '../build/make-icons.ts';

const ROOT = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(text: string): unknown };
const asar = require('@electron/asar') as { listPackage(file: string): string[]; extractFile(archive: string, file: string): Buffer };

interface Config {
  appId: string;
  productName: string;
  directories: { output: string; buildResources: string };
  files: string[];
  extraMetadata: { main: string };
  beforeBuild: string;
  asar: boolean;
  electronFuses: Record<string, boolean>;
  mac: { target: string | string[]; icon: string };
  win: { target: string | string[]; icon: string };
  linux: { target: string | string[]; icon: string; maintainer: string };
}

const config = yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as Config;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string; productName: string; scripts: Record<string, string>; version: string };
const targets = (t: string | string[]): string[] => (Array.isArray(t) ? t : [t]);

const dir = mkdtempSync(join(tmpdir(), 'packaging-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('electron-builder.yml', () => {
  test('parses, names the app, and builds installers to release/ (not dist/, which holds the build)', () => {
    assert.match(config.appId, /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$/);
    assert.equal(config.productName, 'LAN Notes');
    assert.equal(config.productName, pkg.productName);
    assert.equal(config.directories.output, 'release');
    assert.equal(config.directories.buildResources, 'build');
    assert.equal(config.asar, true);
  });

  test('targets: AppImage and deb (Linux), dmg (macOS), nsis (Windows)', () => {
    assert.deepEqual(targets(config.linux.target).sort(), ['AppImage', 'deb']);
    assert.deepEqual(targets(config.mac.target), ['dmg']);
    assert.deepEqual(targets(config.win.target), ['nsis']);
    assert.match(config.linux.maintainer, /<[^@\s]+@[^@\s]+>/, 'deb needs a maintainer with an email');
  });

  test('the main entry is package.json "main", the bundle build.ts writes', () => {
    assert.equal(config.extraMetadata.main, pkg.main);
    assert.equal(join(ROOT, pkg.main), MAIN_BUNDLE);
    assert.equal(relative(ROOT, MAIN_BUNDLE).split('\\').join('/'), 'dist/electron/main.js');
  });

  test('files: the built app only (main, preload, renderer, package.json), no source maps', () => {
    const wanted = [relative(ROOT, MAIN_BUNDLE), relative(ROOT, PRELOAD_BUNDLE)].map((p) => p.split('\\').join('/'));
    for (const f of wanted) assert.ok(config.files.includes(f), `${f} not packed`);
    assert.ok(config.files.includes('dist/renderer/**/*'));
    assert.ok(config.files.includes('package.json'));
    assert.ok(config.files.includes('!**/*.map'));
    for (const f of config.files) assert.doesNotMatch(f, /^(app|engine|renderer|node_modules)\b/, `${f}: sources are not packed`);
    // The renderer pattern is where vite writes the UI.
    assert.match(readFileSync(join(ROOT, 'vite.config.ts'), 'utf8'), /outDir: .*'dist\/renderer'/);
  });

  test('every icon and hook it names exists and is what electron-builder wants', () => {
    const png = (file: string): { width: number; height: number } => {
      const b = readFileSync(file);
      assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG', `${file} is not a PNG`);
      return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
    };
    const icns = readFileSync(join(ROOT, config.mac.icon));
    assert.equal(icns.subarray(0, 4).toString('latin1'), 'icns');
    assert.equal(icns.readUInt32BE(4), icns.length);
    const ico = readFileSync(join(ROOT, config.win.icon));
    assert.deepEqual([ico.readUInt16LE(0), ico.readUInt16LE(2)], [0, 1]);
    const icoSizes = Array.from({ length: ico.readUInt16LE(4) }, (_, k) => ico[6 + k * 16] || 256);
    assert.ok(icoSizes.includes(256), 'Windows wants a 256 px entry');
    const linux = join(ROOT, config.linux.icon);
    assert.ok(statSync(linux).isDirectory());
    const sizes = readdirSync(linux).map((f) => {
      const m = /^(\d+)x(\d+)\.png$/.exec(f);
      assert.ok(m, `unexpected file ${f} in ${config.linux.icon}`);
      assert.deepEqual(png(join(linux, f)), { width: Number(m[1]), height: Number(m[2]) });
      return Number(m[1]);
    });
    assert.deepEqual(sizes.sort((a, b) => a - b), [...LINUX_SIZES], 'build/icons is what build/make-icons.ts writes');
    assert.deepEqual(png(join(ROOT, config.directories.buildResources, 'icon.png')), { width: 1024, height: 1024 });
    assert.ok(existsSync(resolve(ROOT, config.beforeBuild)), config.beforeBuild);
  });

  test('fuses: no run-as-node, no NODE_OPTIONS or --inspect, app only from its checked asar', () => {
    assert.deepEqual(config.electronFuses, {
      runAsNode: false, enableCookieEncryption: true, enableNodeOptionsEnvironmentVariable: false, enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true, onlyLoadAppFromAsar: true, grantFileProtocolExtraPrivileges: false,
    });
  });

  test('npm run dist builds first, then runs electron-builder', () => {
    assert.equal(pkg.scripts.dist, 'npm run build && electron-builder');
    assert.match(pkg.scripts.build, /npm run build:ui/);
    assert.match(pkg.scripts.build, /npm run build:electron/);
    assert.equal(pkg.scripts['build:electron'], 'node app/electron/build.ts');
  });
});

/** Runs electron-builder's CLI; resolves its exit code and output. */
function electronBuilder(args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules', 'electron-builder', 'cli.js'), ...args], {
      cwd, stdio: ['ignore', 'pipe', 'pipe'],
      // Nothing is downloaded: the Electron distribution is given, and nothing is signed.
      env: { ...process.env, CSC_IDENTITY_AUTO_DISCOVERY: 'false' },
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => done({ code, out }));
  });
}

describe('electron-builder packs the built app', { skip: process.platform === 'win32' && 'the stand-in Electron binary is for Linux' }, () => {
  test('a Linux app directory whose app.asar holds exactly the build, no node_modules', { timeout: 120_000 }, async () => {
    // A copy of the project with what `npm run build` produces: fresh Electron bundles, and the
    // UI from dist/renderer when it has been built (else a stand-in page).
    const project = join(dir, 'project');
    mkdirSync(project);
    for (const f of ['package.json', 'electron-builder.yml']) cpSync(join(ROOT, f), join(project, f));
    cpSync(join(ROOT, 'build'), join(project, 'build'), { recursive: true });
    await buildElectron(join(project, 'dist', 'electron'));
    const ui = join(ROOT, 'dist', 'renderer');
    if (existsSync(join(ui, 'index.html'))) cpSync(ui, join(project, 'dist', 'renderer'), { recursive: true });
    else {
      mkdirSync(join(project, 'dist', 'renderer'), { recursive: true });
      writeFileSync(join(project, 'dist', 'renderer', 'index.html'), '<!doctype html><title>LAN Notes</title>');
    }
    // Electron's distribution, as far as electron-builder looks into it: an executable that holds
    // the fuse wire (sentinel, version 1, 9 fuses, all left at their defaults).
    const electronDist = join(dir, 'electron-dist');
    mkdirSync(electronDist);
    writeFileSync(join(electronDist, 'electron'), Buffer.concat([Buffer.from('#!/bin/sh\n# dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'), Buffer.from([1, 9]), Buffer.from('101001010\n')]));
    chmodSync(join(electronDist, 'electron'), 0o755);

    const version = (require('electron/package.json') as { version: string }).version;
    const r = await electronBuilder(['--linux', 'dir', '--x64', `--config.electronDist=${electronDist}`, `--config.electronVersion=${version}`, '--publish', 'never'], project);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /using custom unpacked Electron distribution/);

    const unpacked = join(project, 'release', 'linux-unpacked');
    const archive = join(unpacked, 'resources', 'app.asar');
    const files = asar.listPackage(archive).map((f) => f.split('\\').join('/')).filter((f) => !['/dist', '/dist/electron', '/dist/renderer'].includes(f));
    const renderer = files.filter((f) => f.startsWith('/dist/renderer/'));
    assert.deepEqual(files.filter((f) => !f.startsWith('/dist/renderer/')).sort(), ['/dist/electron/main.js', '/dist/electron/preload.cjs', '/package.json']);
    assert.ok(renderer.includes('/dist/renderer/index.html'));
    assert.ok(!files.some((f) => f.includes('node_modules') || f.endsWith('.map') || f.endsWith('.ts')), files.join('\n'));
    assert.ok(!existsSync(join(unpacked, 'resources', 'app.asar.unpacked')), 'nothing unpacked beside the asar');

    const packed = JSON.parse(asar.extractFile(archive, 'package.json').toString()) as { main: string; productName: string; version: string };
    assert.equal(packed.main, pkg.main);
    assert.equal(packed.productName, 'LAN Notes');
    assert.equal(asar.extractFile(archive, 'dist/electron/main.js').toString(), readFileSync(join(project, 'dist', 'electron', 'main.js'), 'utf8'));

    // The fuses were flipped in the executable as configured, in @electron/fuses's wire order:
    // runAsNode, cookieEncryption, nodeOptions, nodeCliInspect, asarIntegrity, onlyLoadAppFromAsar,
    // browserProcessSnapshot (left as is), grantFileProtocolExtraPrivileges.
    const exe = readFileSync(join(unpacked, 'lan-notes'));
    const at = exe.indexOf('dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX') + 32;
    assert.equal(exe.subarray(at + 2, at + 2 + 8).toString('latin1'), '01001100');
  });
});
