// Runs the built main-process bundle once under plain Node with the stand-in `electron`
// (test/electron-fake.ts), in its own process, for tests of how the desktop app starts on a given
// notes folder. Usage: node electron-main-runner.ts BUNDLE_DIR USER_DATA ANSWERS [main's args...]
// (ANSWERS: comma-separated message box buttons the user presses). Prints one JSON line: exit
// code, error boxes, message boxes, windows opened; then quits the app cleanly.

import { registerHooks } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, dialog, fake } from './electron-fake.ts';

const [bundleDir, userData, answers, ...mainArgs] = process.argv.slice(2);
const FAKE_URL = new URL('./electron-fake.ts', import.meta.url).href;
registerHooks({
  resolve(specifier, context, next) {
    if (specifier === 'electron') return { url: FAKE_URL, shortCircuit: true };
    return next(specifier, context);
  },
});
fake.userData = userData;
dialog.answers.push(...answers.split(',').filter((a) => a !== '').map(Number));
process.argv.splice(2, process.argv.length, ...mainArgs);

await import(pathToFileURL(join(bundleDir, 'main.js')).href);
const deadline = Date.now() + 30_000;
while (fake.windows.length === 0 && app.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
// Let a notice shown right after the engine started reach the fake.
await new Promise((r) => setImmediate(r));
const report = {
  exitCode: app.exitCode,
  windows: fake.windows.length,
  errors: dialog.errors,
  boxes: dialog.boxes.map((b) => ({ type: b.type, title: b.title, message: b.message, detail: b.detail, buttons: b.buttons })),
};
process.stdout.write(`${JSON.stringify(report)}\n`);
if (app.exitCode === null) {
  app.quit();
  await app.quit$;
}
process.exit(0);
