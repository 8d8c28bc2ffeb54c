// Makes the README's "pair nearby" screenshots, docs/pair-nearby-confirm.png (the inviting
// device) and docs/pair-nearby-join.png (the new device), from the real UI in Chromium. Pairing
// nearby needs mDNS, which only runs inside network namespaces here, so each headless peer and
// the Chromium showing its UI run together inside one of two namespaces. Not a test; needs root
// and the built UI:
//
//   npm run build:ui && npx node test/screens-nearby.ts [OUT_DIR]     (OUT_DIR defaults to docs/)

import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import type { PairingState } from '../app/api.ts';
import { requireBuiltUi, until } from './browser.ts';
import { apiIn, createLinkedNamespaces, startPeerIn, type NetnsProcess } from './netns.ts';
import { browserIn } from './netns-browser.ts';
import { removeTempDirs, tempDir } from './peer-process.ts';

const OUT = resolve(process.argv[2] ?? new URL('../docs/', import.meta.url).pathname);

async function main(): Promise<void> {
  requireBuiltUi();
  const nets = createLinkedNamespaces('shots');
  const procs: NetnsProcess[] = [];
  const browsers: Browser[] = [];
  try {
    const { a, b } = nets;
    const start = async (ns: string, addr: string, label: string) => {
      const p = await startPeerIn(ns, ['--data', tempDir(label), '--bind', addr, '--port', '0', '--http', '127.0.0.1:0']);
      procs.push(p);
      const api = apiIn(ns, p);
      procs.push(api);
      return { p, api };
    };
    const [A, N] = await Promise.all([start(a.ns, a.addr, 'shots-a'), start(b.ns, b.addr, 'shots-n')]);
    await A.api.call('renameDevice', 'Study desktop');
    await N.api.call('renameDevice', 'New laptop');
    await A.api.call('startPairing', 'invite');
    await N.api.call('startPairing', 'join');
    await until('A nearby on N', async () => (await N.api.call<PairingState>('pairingState')).nearby.length > 0, 30_000);

    const [ba, bn] = await Promise.all([browserIn(a.ns), browserIn(b.ns)]);
    browsers.push(ba, bn);
    const page = async (br: Browser, url: string) => {
      const ctx = await br.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, colorScheme: 'light', reducedMotion: 'reduce' });
      const pg = await ctx.newPage();
      await pg.goto(url);
      await pg.getByTestId('nav-pairing').click();
      return pg;
    };
    const [pa, pn] = await Promise.all([page(ba, A.p.info.ui!), page(bn, N.p.info.ui!)]);
    await pn.getByTestId('nearby-device').first().waitFor();
    await pn.getByTestId('nearby-device').first().getByRole('button', { name: 'Join' }).click();
    await pn.getByTestId('nearby-code').waitFor();
    await pa.getByTestId('nearby-request').waitFor({ timeout: 30_000 });
    await pa.getByTestId('pair-nearby').scrollIntoViewIfNeeded();
    await pn.getByTestId('pair-nearby').scrollIntoViewIfNeeded();
    await pa.screenshot({ path: join(OUT, 'pair-nearby-confirm.png') });
    await pn.screenshot({ path: join(OUT, 'pair-nearby-join.png') });
    process.stdout.write(`wrote ${join(OUT, 'pair-nearby-confirm.png')} and ${join(OUT, 'pair-nearby-join.png')}\n`);
  } finally {
    await Promise.all(browsers.map((br) => br.close().catch(() => undefined)));
    await Promise.all(procs.map((p) => p.stop()));
    nets.remove();
    removeTempDirs();
  }
}

await main();
