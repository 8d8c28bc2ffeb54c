import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { EngineError } from '../engine/core/errors.ts';
import { deriveVaultKeys, IDENTITY_FILE, openVault, VAULT_FILE, vaultIdOf } from '../engine/net/vault.ts';

process.env.NOTES_LOG ??= 'warn';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'notes-vault-'));
  dirs.push(d);
  return path.join(d, 'data'); // not yet existing: openVault creates it
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.promises.rm(d, { recursive: true, force: true });
});

const posix = process.platform !== 'win32';

function isCode(code: string) {
  return (err: unknown) => err instanceof EngineError && err.code === code;
}

describe('vault derivations', () => {
  const secret = new Uint8Array(32).map((_, i) => i);

  test('are deterministic and distinct per secret', () => {
    const a = deriveVaultKeys(secret);
    assert.deepEqual(deriveVaultKeys(secret.slice()), a);
    const b = deriveVaultKeys(secret.map((x) => x ^ 1));
    assert.notEqual(a.id, b.id);
    assert.notDeepEqual(a.swarmKey, b.swarmKey);
    assert.notEqual(a.serviceTag, b.serviceTag);
    assert.notEqual(a.topic, b.topic);
  });

  test('have the expected shapes', () => {
    const k = deriveVaultKeys(secret);
    assert.match(k.id, /^[0-9a-f]{16}$/);
    assert.equal(k.id, vaultIdOf(secret));
    assert.equal(k.topic, `/notes/${k.id}/1`);
    // A DNS-SD service name: "_" + at most 15 letters/digits/hyphens, then the protocol and domain.
    assert.match(k.serviceTag, /^_[a-z][a-z0-9-]{0,14}\._udp\.local$/);
    const lines = new TextDecoder().decode(k.swarmKey).split('\n');
    assert.deepEqual(lines.slice(0, 2), ['/key/swarm/psk/1.0.0/', '/base16/']);
    assert.match(lines[2], /^[0-9a-f]{64}$/);
    assert.equal(lines.length, 3);
  });

  test('the pnet key is not the vault id or the secret', () => {
    const k = deriveVaultKeys(secret);
    const psk = new TextDecoder().decode(k.swarmKey).split('\n')[2];
    assert.notEqual(psk, Buffer.from(secret).toString('hex'));
    assert.ok(!psk.startsWith(k.id));
  });
});

describe('openVault', () => {
  test('creates the secret and identity once, mode 0600, and reopens them', async () => {
    const dir = await tempDir();
    const first = await openVault(dir);
    assert.equal(first.outcome, 'created');
    assert.equal(first.secret.length, 32);
    assert.match(first.peerId, /^12D3KooW/);
    if (posix) {
      for (const f of [VAULT_FILE, IDENTITY_FILE]) {
        assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
      }
    }
    assert.deepEqual(fs.readdirSync(dir).sort(), [IDENTITY_FILE, VAULT_FILE].sort(), 'no temporary files left behind');

    const again = await openVault(dir);
    assert.equal(again.outcome, 'opened');
    assert.equal(again.id, first.id);
    assert.deepEqual(again.secret, first.secret);
    assert.equal(again.peerId, first.peerId, 'identity persists');
    assert.deepEqual(again.identityKey, first.identityKey);
  });

  test('two data directories get different vaults and identities', async () => {
    const [a, b] = await Promise.all([openVault(await tempDir()), openVault(await tempDir())]);
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.peerId, b.peerId);
  });

  test('concurrent first opens of one directory agree on one vault', async () => {
    const dir = await tempDir();
    const opened = await Promise.all([openVault(dir), openVault(dir), openVault(dir)]);
    assert.equal(new Set(opened.map((v) => v.id)).size, 1);
    assert.equal(new Set(opened.map((v) => v.peerId)).size, 1);
    assert.equal(opened.filter((v) => v.outcome === 'created').length, 1);
  });

  const malformed: Array<[string, string | Uint8Array]> = [
    ['empty', ''],
    ['not JSON', 'hello'],
    ['wrong format', JSON.stringify({ format: 'other', version: 1, secret: '00'.repeat(32) })],
    ['newer version', JSON.stringify({ format: 'lan-notes-vault', version: 2, secret: '00'.repeat(32) })],
    ['short secret', JSON.stringify({ format: 'lan-notes-vault', version: 1, secret: '00'.repeat(31) })],
    ['raw bytes', new Uint8Array(32).fill(7)],
  ];
  for (const [name, content] of malformed) {
    test(`refuses a malformed vault file (${name}) and leaves it untouched`, async () => {
      const dir = await tempDir();
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, VAULT_FILE);
      fs.writeFileSync(file, content, { mode: 0o600 });
      const before = fs.readFileSync(file);
      await assert.rejects(openVault(dir), isCode('E_VAULT_FORMAT'));
      assert.deepEqual(fs.readFileSync(file), before);
      assert.deepEqual(fs.readdirSync(dir), [VAULT_FILE], 'nothing else written either');
    });
  }

  test('refuses a malformed identity file and leaves it untouched', async () => {
    const dir = await tempDir();
    await openVault(dir);
    const file = path.join(dir, IDENTITY_FILE);
    fs.writeFileSync(file, 'not a key');
    await assert.rejects(openVault(dir), isCode('E_VAULT_FORMAT'));
    assert.equal(fs.readFileSync(file, 'utf8'), 'not a key');
  });

  test('narrows a key file readable by others to 0600', { skip: !posix }, async () => {
    const dir = await tempDir();
    const v = await openVault(dir);
    fs.chmodSync(path.join(dir, VAULT_FILE), 0o644);
    const again = await openVault(dir);
    assert.equal(again.id, v.id);
    assert.equal(fs.statSync(path.join(dir, VAULT_FILE)).mode & 0o777, 0o600);
  });
});

describe('joining', () => {
  const invited = { secret: new Uint8Array(32).fill(9) };

  test('an empty data directory joins the invited vault', async () => {
    const dir = await tempDir();
    const v = await openVault(dir, { join: invited });
    assert.equal(v.outcome, 'joined');
    assert.equal(v.id, vaultIdOf(invited.secret));
    assert.equal((await openVault(dir)).id, v.id);
  });

  test('joining the vault this device is already in changes nothing', async () => {
    const dir = await tempDir();
    await openVault(dir, { join: invited });
    const v = await openVault(dir, { join: invited });
    assert.equal(v.outcome, 'opened');
  });

  test('a different existing vault is kept unless the caller says replace', async () => {
    const dir = await tempDir();
    const own = await openVault(dir);
    const file = path.join(dir, VAULT_FILE);
    const before = fs.readFileSync(file);
    await assert.rejects(openVault(dir, { join: invited }), (err: unknown) => {
      assert.ok(err instanceof EngineError);
      assert.equal(err.code, 'E_VAULT_EXISTS');
      assert.equal(err.details.current, own.id);
      return true;
    });
    assert.deepEqual(fs.readFileSync(file), before);

    const replaced = await openVault(dir, { join: invited, replace: true });
    assert.equal(replaced.outcome, 'replaced');
    assert.equal(replaced.id, vaultIdOf(invited.secret));
    assert.equal(replaced.peerId, own.peerId, 'the device identity survives a vault change');
    const backups = fs.readdirSync(dir).filter((f) => f.startsWith(`vault-${own.id}.replaced-`));
    assert.equal(backups.length, 1, 'the old secret is kept beside the new one');
    assert.deepEqual(fs.readFileSync(path.join(dir, backups[0])), before);
    if (posix) assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal((await openVault(dir)).id, replaced.id);
  });
});
