// A real Chromium for the end-to-end UI tests and the README screenshots, driven by
// playwright-core. The browser is the one inside the @sparticuz/chromium devDependency (so
// `npm install` alone brings it), launched with that package's args; $CHROMIUM_PATH overrides it
// (Debian's /usr/bin/chromium, a Mac's Chrome). Each peer gets its own browser context: a fresh
// profile, so IndexedDB (drafts, UI state) is never shared between two "devices".

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sparticuz from '@sparticuz/chromium';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { waitFor } from './wait.ts';

/** Where `npm run build:ui` puts the UI that the headless peer serves. */
export const UI_DIR = new URL('../dist/renderer/', import.meta.url).pathname;

/** Fails with what to do when the built UI is missing (the peer would then serve the API alone). */
export function requireBuiltUi(): void {
  if (!existsSync(join(UI_DIR, 'index.html'))) {
    throw new Error(`the built UI is missing (${UI_DIR}index.html): run \`npm run build:ui\` first (npm test does it)`);
  }
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export async function launchBrowser(): Promise<Browser> {
  let executablePath = process.env.CHROMIUM_PATH;
  let args: string[];
  if (executablePath) {
    args = [];
  } else {
    executablePath = await sparticuz.executablePath();
    args = [...sparticuz.args];
  }
  // Chromium refuses to start as root with its sandbox on.
  if (isRoot && !args.includes('--no-sandbox')) args.push('--no-sandbox');
  return chromium.launch({ executablePath, args, headless: true, timeout: 30_000 });
}

export interface UiPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Page errors, failed console messages and requests that left 127.0.0.1, for failure messages. */
  readonly problems: string[];
  /** Every request the page made to anything but 127.0.0.1 (should stay empty). */
  readonly offLoopback: string[];
}

/** A fresh browser context (its own profile) with one page on `url`, the app rendered. */
export async function openUi(browser: Browser, url: string, opts: { width?: number; height?: number } = {}): Promise<UiPage> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 }, deviceScaleFactor: 1, colorScheme: 'light', reducedMotion: 'reduce' });
  // Every wait in a test is bounded: no locator action or wait may take longer than this.
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(15_000);
  const problems: string[] = [];
  const offLoopback: string[] = [];
  context.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.protocol !== 'blob:' && u.hostname !== '127.0.0.1') offLoopback.push(r.url());
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  await page.goto(url);
  await page.locator('.app, [data-testid=fatal-error]').first().waitFor();
  if (await page.getByTestId('fatal-error').count()) throw new Error(`the UI failed to start: ${await page.getByTestId('fatal-error').innerText()}`);
  return { page, context, problems, offLoopback };
}

/** Bounded polling with the UI tests' defaults (test/wait.ts). */
export function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 15_000, every = 50): Promise<T> {
  return waitFor(what, check, ms, every);
}

/** Waits until the element's text contains `text` (bounded); returns the text. */
export function untilText(what: string, locator: Locator, text: string, ms = 15_000): Promise<string> {
  let seen = '';
  return until(`${what} to contain ${JSON.stringify(text)}`, async () => {
    seen = await locator.innerText({ timeout: 1_000 });
    return seen.includes(text) ? seen : undefined;
  }, ms).catch((e: Error) => {
    throw new Error(`${e.message}; last text: ${JSON.stringify(seen)}`);
  });
}

/** Creates a note through the UI (Alt+N), types its title and, in the CodeMirror editor, its body. */
export async function typeNewNote(page: Page, title: string, body: string): Promise<void> {
  await page.getByTestId('nav-notes').click();
  await page.keyboard.press('Alt+N');
  // The note is created on the host first; then the title field takes the focus.
  await page.locator('[data-testid=title-input]:focus').waitFor();
  await page.keyboard.type(title);
  await page.keyboard.press('Enter');
  await page.locator('[data-testid=editor-content]:focus').waitFor();
  await page.keyboard.type(body);
}

/** Waits until everything typed in the open note was acknowledged by the host. */
export async function untilSaved(page: Page): Promise<void> {
  await page.locator('[data-testid=save-state][data-state=saved][data-saved-at]').waitFor();
}
