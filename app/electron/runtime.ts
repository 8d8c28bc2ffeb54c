// Where Electron's runtime binary is, found without loading the `electron` package: its index.js
// starts a download when the binary is missing, and `npm start` must never do that by surprise
// (machines may be offline; this project's install does not run electron's download script).
// Same rules as node_modules/electron/index.js: ELECTRON_OVERRIDE_DIST_PATH, else dist/ with the
// executable named in path.txt.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type ElectronRuntime =
  | { readonly ok: true; readonly executable: string }
  | { readonly ok: false; readonly reason: string };

/** The executable inside Electron's dist/ on each platform (what path.txt holds). */
export function defaultExecutable(platform: NodeJS.Platform): string {
  if (platform === 'darwin') return 'Electron.app/Contents/MacOS/Electron';
  if (platform === 'win32') return 'electron.exe';
  return 'electron';
}

export function findElectron(root: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): ElectronRuntime {
  const pkg = join(root, 'node_modules', 'electron');
  let name = defaultExecutable(platform);
  const pathFile = join(pkg, 'path.txt');
  if (existsSync(pathFile)) name = readFileSync(pathFile, 'utf8').trim() || name;
  const override = env.ELECTRON_OVERRIDE_DIST_PATH;
  const dist = override !== undefined && override !== '' ? override : join(pkg, 'dist');
  const executable = join(dist, name);
  if (existsSync(executable) && statSync(executable).isFile()) return { ok: true, executable };
  if (!existsSync(pkg)) return { ok: false, reason: 'the electron package is not installed (run npm install)' };
  const where = override ? `ELECTRON_OVERRIDE_DIST_PATH=${override} has no ${name}` : 'node_modules/electron/dist is absent: npm install here does not download it';
  return { ok: false, reason: `Electron's runtime is not installed (${where}; \`npx install-electron\` fetches it where there is internet)` };
}
