// The paired devices table and the small frames of issue 9, in-process: what devices.json keeps
// across a reopen, what it refuses, and that malformed device-name and rotation frames are
// refused with typed errors.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { reason } from '../engine/core/doctor.ts';
import { ProtocolError, ValidationError } from '../engine/core/errors.ts';
import { decodeNameFrame, encodeNameFrame } from '../engine/net/device-name.ts';
import { checkDeviceName, DeviceSettingsFile } from '../engine/net/device-settings.ts';
import { DeviceBook, DEVICES_FILE, dialableAddress, MAX_DEVICE_ADDRS } from '../engine/net/devices.ts';
import { decodeOffer, encodeOffer } from '../engine/net/vault-rotation.ts';

const dirs: string[] = [];
const dir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'notes-devices-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const B = '12D3KooWBqQmm6DUdSZRUW1SsMnxuqnxSzTLkQz8XKgHGmvNFX1x';
const C = '12D3KooWCqQmm6DUdSZRUW1SsMnxuqnxSzTLkQz8XKgHGmvNFX1x';

test('the table survives a reopen: addresses (newest first, deduplicated, no /p2p), names, errors; forget removes', () => {
  const d = dir();
  let t = 1000;
  const book = DeviceBook.open(d, () => t);
  book.learn(B, [`/ip4/192.168.1.5/tcp/27182/p2p/${B}`, '/ip4/0.0.0.0/tcp/27182', '/dns4/x/tcp/1']);
  t = 2000;
  book.listensOn(B, ['/ip4/192.168.1.5/tcp/40000', '/ip4/127.0.0.1/tcp/40000']);
  book.named(B, 'Kitchen');
  book.failed(B, reason('timed-out', 2500));
  book.seen(C, ['/ip4/10.0.0.2/tcp/27182']);
  const again = DeviceBook.open(d, () => t);
  const b = again.get(B)!;
  assert.deepEqual(b.addresses, ['/ip4/192.168.1.5/tcp/40000', '/ip4/127.0.0.1/tcp/40000', '/ip4/192.168.1.5/tcp/27182']);
  assert.equal(b.name, 'Kitchen');
  assert.equal(b.firstSeen, 1000);
  assert.equal(b.lastSeen, null);
  assert.equal(b.lastError?.code, 'timed-out');
  assert.equal(again.get(C)!.lastSeen, 2000);
  again.seen(B);
  assert.equal(DeviceBook.open(d).get(B)!.lastError, null, 'a connection clears the problem');
  assert.equal(again.forget(B), true);
  assert.equal(again.forget(B), false);
  assert.deepEqual(DeviceBook.open(d).list().map((x) => x.peerId), [C]);
});

test('at most MAX_DEVICE_ADDRS addresses are kept, and only dialable ones', () => {
  const book = DeviceBook.open(dir());
  book.learn(B, Array.from({ length: 20 }, (_, i) => `/ip4/10.0.0.${i + 1}/tcp/27182`));
  assert.equal(book.get(B)!.addresses.length, MAX_DEVICE_ADDRS);
  assert.equal(dialableAddress('/ip4/0.0.0.0/tcp/1'), null);
  assert.equal(dialableAddress('/ip4/10.0.0.1/tcp/0'), null);
  assert.equal(dialableAddress('/ip4/10.0.0.1/udp/1/quic'), null);
  assert.equal(dialableAddress(`/ip6/fe80::1/tcp/5/p2p/${B}`), '/ip6/fe80::1/tcp/5');
});

test('a devices.json that is not JSON is moved aside and the table starts empty; junk entries are dropped', () => {
  const d = dir();
  writeFileSync(join(d, DEVICES_FILE), '{ not json');
  const book = DeviceBook.open(d);
  assert.deepEqual(book.list(), []);
  assert.equal(existsSync(join(d, DEVICES_FILE)), false);
  assert.equal(readdirSync(d).filter((f) => f.startsWith(`${DEVICES_FILE}.unreadable-`)).length, 1, 'kept for a look');
  writeFileSync(join(d, DEVICES_FILE), JSON.stringify({ format: 'lan-notes-devices', version: 1, devices: [{ peerId: 'not a peer id' }, 7, null, { peerId: B, addresses: ['junk', 5, '/ip4/1.2.3.4/tcp/9'] }] }));
  const read = DeviceBook.open(d).list();
  assert.deepEqual(read.map((x) => [x.peerId, x.addresses]), [[B, ['/ip4/1.2.3.4/tcp/9']]]);
});

test('device names: trimmed, 1-64 characters, no control characters; device.json keeps name and port', () => {
  assert.equal(checkDeviceName('  Desk  '), 'Desk');
  for (const bad of ['', '   ', 'x'.repeat(65), 'a\nb', 7, null]) assert.throws(() => checkDeviceName(bad), ValidationError);
  const d = dir();
  const s = DeviceSettingsFile.open(d);
  s.update({ name: 'Desk', port: 40123 });
  assert.deepEqual(DeviceSettingsFile.open(d).get(), { name: 'Desk', port: 40123 });
  writeFileSync(join(d, 'device.json'), '{"name": "", "port": 99999}');
  const fallback = DeviceSettingsFile.open(d).get();
  assert.equal(fallback.port, null);
  assert.ok(fallback.name.length > 0);
});

test('malformed device-name and rotation frames are refused with typed errors', () => {
  assert.equal(decodeNameFrame(encodeNameFrame('Desk')), 'Desk');
  for (const bad of ['{', '{"name": ""}', '{"name": 5}', `{"name": "${'x'.repeat(600)}"}`]) {
    assert.throws(() => decodeNameFrame(new TextEncoder().encode(bad)), ProtocolError, bad.slice(0, 20));
  }
  assert.throws(() => decodeNameFrame(new Uint8Array([0xff, 0xfe])), ProtocolError);
  const offer = { fromVault: '0123456789abcdef', secret: new Uint8Array(32).fill(7), forget: [B] };
  assert.deepEqual(decodeOffer(encodeOffer(offer)), offer);
  const bad = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  for (const o of [
    { v: 2, fromVault: offer.fromVault, secret: '07'.repeat(32), forget: [] },
    { v: 1, fromVault: 'xyz', secret: '07'.repeat(32), forget: [] },
    { v: 1, fromVault: offer.fromVault, secret: '07'.repeat(31), forget: [] },
    { v: 1, fromVault: offer.fromVault, secret: '07'.repeat(32), forget: 'all' },
    { v: 1, fromVault: offer.fromVault, secret: '07'.repeat(32), forget: Array(65).fill(B) },
  ]) assert.throws(() => decodeOffer(bad(o)), ProtocolError, JSON.stringify(o).slice(0, 60));
  assert.throws(() => decodeOffer(new Uint8Array(9000)), ProtocolError);
});
