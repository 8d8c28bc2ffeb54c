// The vault: who may sync. A vault is a random 32-byte secret; every device holding it derives the
// same private-network key (so a device without it cannot even complete a libp2p connection), the
// same mDNS service tag and the same gossip topic. Separately, each data directory keeps its own
// libp2p identity (an Ed25519 key), so a device keeps one peer id across restarts.
//
// Both files are created once, written to a temporary file and hard-linked into place (so a crash
// mid-write never leaves half a file, and two processes racing to create cannot overwrite each
// other), mode 0600. A file that exists but does not parse is refused and left exactly as it is:
// regenerating it would silently move this device into a new, empty vault.

import { hkdfSync, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { EngineError } from '../core/errors.ts';
import type { Invite } from './invite.ts';
import { logger } from '../log.ts';

const log = logger('vault');

export const VAULT_SECRET_BYTES = 32;
export const VAULT_FILE = 'vault.json';
export const IDENTITY_FILE = 'identity.key';
const VAULT_FORMAT = 'lan-notes-vault';
const VAULT_FORMAT_VERSION = 1;
// HKDF salt: fixed, for domain separation only (the secret is already uniformly random).
const HKDF_SALT = 'lan-notes/vault/v1';

/** What every device of a vault derives from its secret. */
export interface VaultKeys {
  /** Public: 16 hex characters. Names the vault in the UI, the store file, the topic. */
  readonly id: string;
  /** Pre-shared key for @libp2p/pnet, in its swarm-key text format. */
  readonly swarmKey: Uint8Array;
  /** mDNS service name, e.g. `_notes-0123abcd._udp.local`. */
  readonly serviceTag: string;
  /** Gossipsub topic, `/notes/<id>/1`. */
  readonly topic: string;
}

export interface Vault extends VaultKeys {
  readonly dataDir: string;
  /** Keep it secret: it goes into invite codes and nowhere else. */
  readonly secret: Uint8Array;
  /** This device's libp2p private key, protobuf-encoded (engine/net/p2p.ts decodes it). */
  readonly identityKey: Uint8Array;
  readonly peerId: string;
  /** What this call did to the vault file. */
  readonly outcome: 'opened' | 'created' | 'joined' | 'replaced';
}

export interface OpenVaultOptions {
  /** Join the vault of this invite (or a raw secret) instead of creating a new one. */
  readonly join?: Pick<Invite, 'secret'>;
  /**
   * Allow `join` to replace a different vault already in the data directory. The old vault file
   * is kept beside it as `vault-<old id>.replaced-<ms>.json`.
   */
  readonly replace?: boolean;
}

function hkdf(secret: Uint8Array, info: string, bytes: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, HKDF_SALT, info, bytes));
}

export function vaultIdOf(secret: Uint8Array): string {
  return Buffer.from(hkdf(secret, 'lan-notes vault id', 8)).toString('hex');
}

export function deriveVaultKeys(secret: Uint8Array): VaultKeys {
  if (secret.length !== VAULT_SECRET_BYTES) throw new RangeError(`vault secret must be ${VAULT_SECRET_BYTES} bytes`);
  const id = vaultIdOf(secret);
  const psk = Buffer.from(hkdf(secret, 'lan-notes pnet psk', 32)).toString('hex');
  return {
    id,
    swarmKey: new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${psk}`),
    // An RFC 6763 service name is at most 15 characters: "notes-" + 8 hex. The id is public
    // anyway; a prefix keeps the label short while separating vaults on one LAN.
    serviceTag: `_notes-${id.slice(0, 8)}._udp.local`,
    topic: `/notes/${id}/1`,
  };
}

function formatError(file: string, message: string, details: Record<string, unknown> = {}): EngineError {
  return new EngineError('E_VAULT_FORMAT', `${file}: ${message}; the file was left untouched (move it away to start over)`, { file, ...details });
}

/**
 * Opens the vault in `dataDir`, creating the directory, the secret and the identity as needed.
 *
 * Joining (`opts.join`) takes effect only when the directory has no vault yet, or when the caller
 * passes `replace: true`. Otherwise a device already in a vault would be silently moved by one
 * mistyped or misdirected invite: its notes would stop syncing with its other devices and start
 * mixing with someone else's. So a different existing vault throws E_VAULT_EXISTS and the UI asks
 * the user to confirm; joining the vault this device is already in is a no-op.
 */
export async function openVault(dataDir: string, opts: OpenVaultOptions = {}): Promise<Vault> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const vaultPath = join(dataDir, VAULT_FILE);
  let secret = await readSecret(vaultPath);
  let outcome: Vault['outcome'] = 'opened';

  const wanted = opts.join?.secret;
  if (wanted !== undefined && wanted.length !== VAULT_SECRET_BYTES) throw new RangeError(`vault secret must be ${VAULT_SECRET_BYTES} bytes`);
  if (secret === null) {
    const fresh = wanted ?? new Uint8Array(randomBytes(VAULT_SECRET_BYTES));
    if (await createExclusive(vaultPath, encodeSecret(fresh))) {
      secret = fresh;
      outcome = wanted ? 'joined' : 'created';
    } else {
      // Another process created it between our read and our write: theirs stands.
      secret = await readSecret(vaultPath);
      if (secret === null) throw formatError(vaultPath, 'vanished while being created');
    }
  }
  if (outcome === 'opened' && wanted !== undefined && !equalBytes(secret, wanted)) {
    const current = vaultIdOf(secret);
    if (!opts.replace) {
      throw new EngineError('E_VAULT_EXISTS', `this device is already in vault ${current}; joining vault ${vaultIdOf(wanted)} needs an explicit replace`, {
        current,
        invited: vaultIdOf(wanted),
      });
    }
    await replaceSecret(vaultPath, current, wanted);
    secret = wanted;
    outcome = 'replaced';
  }
  const identity = await openIdentity(join(dataDir, IDENTITY_FILE));
  const vault: Vault = { ...deriveVaultKeys(secret), dataDir, secret, ...identity, outcome };
  log.info('vault open', { vault: vault.id, peer: vault.peerId, outcome });
  return vault;
}

function encodeSecret(secret: Uint8Array): string {
  return `${JSON.stringify({ format: VAULT_FORMAT, version: VAULT_FORMAT_VERSION, secret: Buffer.from(secret).toString('hex') }, null, 2)}\n`;
}

async function readSecret(path: string): Promise<Uint8Array | null> {
  const text = await readIfExists(path);
  if (text === null) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(text.toString('utf8'));
  } catch {
    throw formatError(path, 'not a vault file (not JSON)');
  }
  const d = doc as { format?: unknown; version?: unknown; secret?: unknown };
  if (typeof doc !== 'object' || doc === null || d.format !== VAULT_FORMAT) throw formatError(path, 'not a vault file');
  if (d.version !== VAULT_FORMAT_VERSION) throw formatError(path, `vault file version ${String(d.version)} is not supported`, { version: d.version });
  if (typeof d.secret !== 'string' || !/^[0-9a-f]{64}$/.test(d.secret)) throw formatError(path, 'vault secret is not 64 lowercase hex characters');
  await tightenMode(path);
  return new Uint8Array(Buffer.from(d.secret, 'hex'));
}

async function openIdentity(path: string): Promise<{ identityKey: Uint8Array; peerId: string }> {
  let bytes = await readIfExists(path);
  if (bytes === null) {
    const fresh = privateKeyToProtobuf(await generateKeyPair('Ed25519'));
    bytes = (await createExclusive(path, fresh)) ? Buffer.from(fresh) : await readIfExists(path);
    if (bytes === null) throw formatError(path, 'vanished while being created');
  } else {
    await tightenMode(path);
  }
  let key;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw formatError(path, 'not a libp2p private key', { cause: (err as Error).message });
  }
  if (key.type !== 'Ed25519') throw formatError(path, `identity key is ${key.type}, expected Ed25519`);
  // An Ed25519 public key's string form is its peer id, so @libp2p/peer-id is not needed here.
  return { identityKey: new Uint8Array(bytes), peerId: key.publicKey.toString() };
}

async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** A secret readable by others is a leak waiting to happen; narrowing the mode loses nothing. */
async function tightenMode(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const { mode } = await stat(path);
  if ((mode & 0o077) !== 0) {
    log.warn('key file was readable by others; setting mode 0600', { file: path, mode: (mode & 0o777).toString(8) });
    await chmod(path, 0o600);
  }
}

async function writeTemp(path: string, data: string | Uint8Array): Promise<string> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return tmp;
}

/** Writes `path` only if it does not exist; false if another writer got there first. */
async function createExclusive(path: string, data: string | Uint8Array): Promise<boolean> {
  const tmp = await writeTemp(path, data);
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp);
  }
}

async function replaceSecret(path: string, currentId: string, secret: Uint8Array): Promise<void> {
  const tmp = await writeTemp(path, encodeSecret(secret));
  // Keep the old secret (its notes may only exist here) before the atomic swap; at every instant
  // `path` holds one complete vault file.
  const backup = join(path, '..', `vault-${currentId}.replaced-${Date.now()}.json`);
  await link(path, backup);
  await rename(tmp, path);
  log.warn('vault replaced', { from: currentId, to: vaultIdOf(secret), backup });
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
