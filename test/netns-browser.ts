// Chromium inside a network namespace, for UI checks of features that need mDNS (which runs only
// inside namespaces here): the page and the headless peer it talks to share the namespace's own
// loopback. playwright wants one executable, so a small wrapper script execs Chromium through
// `ip netns exec`. Needs root.

import sparticuz from '@sparticuz/chromium';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { tempDir } from './peer-process.ts';

/** Chromium started inside `ns`. */
export async function browserIn(ns: string): Promise<Browser> {
  const real = process.env.CHROMIUM_PATH ?? await sparticuz.executablePath();
  const args = process.env.CHROMIUM_PATH ? [] : [...sparticuz.args];
  const wrapper = join(tempDir('chromium-ns'), 'chromium');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${real} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return chromium.launch({ executablePath: wrapper, args: [...args, '--no-sandbox'], headless: true, timeout: 30_000 });
}

