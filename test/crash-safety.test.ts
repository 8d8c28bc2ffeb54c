// Crash safety: a child process writes bursts into a real SQLite store and is SIGKILLed at a
// random (seeded) moment, 100 times against the same, growing file. After every kill the store
// must open, hold every acknowledged write (or a later acknowledged write to the same key), have
// a Merkle tree equal to one rebuilt from the stored records, and a change log covering every key.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeRecord, leafHash } from '../engine/core/codec.ts';
import { MerkleTree } from '../engine/core/merkle.ts';
import { notesIndexer } from '../engine/notes.ts';
import { winner } from '../engine/core/record.ts';
import { Replica } from '../engine/replica.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { Prng } from './prng.ts';

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-writer.ts');
const ROUNDS = 100;
const SEED = 0xc7a5;

interface Run {
  acked: [string, string][][];
  /** The batch being written when the kill landed (not acknowledged: it may or may not be there). */
  inFlight: [string, string][];
  /** The child printed READY and at least one ACK, and was still writing when killed. */
  midBurst: boolean;
  signal: NodeJS.Signals | null;
}

function runWriter(file: string, seed: number, killAfterMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, file, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      // The kill clock starts once the writer has opened the store, so every kill lands in a burst.
      if (timer === undefined && (out + d).includes('READY\n')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      out += d;
    });
    child.stderr.on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited with ${code ?? signal}: ${err}`));
      const lines = out.split('\n');
      // The last line may be cut; only complete lines count as acknowledged.
      const complete = lines.slice(0, -1);
      const acked: [string, string][][] = [];
      let pending: [string, string][] = [];
      for (const l of complete) {
        if (l.startsWith('TRY ')) pending = JSON.parse(l.slice(4)) as [string, string][];
        else if (l === 'ACK') {
          acked.push(pending);
          pending = [];
        }
      }
      resolve({ acked, inFlight: pending, midBurst: complete.includes('READY') && acked.length > 0, signal });
    });
  });
}

test('SIGKILL mid-burst: the store opens and keeps every acknowledged write, 100 kills on one file', { timeout: 900_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'crash-safety-'));
  const file = path.join(dir, 'notes.db');
  const rng = new Prng(SEED);
  const expected = new Map<string, string>();
  let midBurst = 0;
  let ackedWrites = 0;
  let checkedWrites = 0;
  let inFlightLanded = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const killAfter = rng.int(10, 60);
      const run = await runWriter(file, SEED * 1000 + round, killAfter);
      if (run.midBurst) midBurst++;
      for (const batch of run.acked) {
        for (const [key, value] of batch) expected.set(key, value);
        ackedWrites += batch.length;
      }
      const ctx = `round ${round} (kill after ${killAfter} ms)`;

      // Opens, with no E_STORE_* error, every time.
      let store: SqliteStore;
      try {
        store = SqliteStore.open(file);
      } catch (e) {
        assert.fail(`${ctx}: the store did not open: ${(e as Error).message}`);
      }
      try {
        const replica = Replica.open(store, { indexer: notesIndexer });
        // Every acknowledged write is there, unless a later acknowledged write to the key won; the
        // in-flight batch is all there or not at all (one transaction).
        const inFlight = new Map(run.inFlight);
        let inFlightSeen: boolean | undefined;
        for (const key of new Set([...expected.keys(), ...inFlight.keys()])) {
          const value = winner(replica.get(key))?.value;
          const acked = expected.get(key);
          if (inFlight.has(key)) {
            const landed = value === inFlight.get(key);
            assert.ok(landed || value === acked, `${ctx}: ${key} holds neither its acknowledged nor its in-flight value`);
            assert.ok(inFlightSeen === undefined || inFlightSeen === landed, `${ctx}: the in-flight batch landed partly`);
            inFlightSeen = landed;
            if (landed) expected.set(key, value as string);
          } else {
            assert.ok(value !== undefined, `${ctx}: acknowledged key ${key} is missing`);
            assert.equal(value, acked, `${ctx}: ${key} lost its last acknowledged value`);
          }
          if (acked !== undefined) checkedWrites++;
        }
        if (inFlightSeen) inFlightLanded++;
        // The tree the store gives at open equals one built from scratch from the stored records.
        const scratch = new MerkleTree();
        const keys: string[] = [];
        for (const [key] of store.scanHashes()) keys.push(key);
        for (const key of keys) scratch.set(key, leafHash(encodeRecord({ key, state: store.get(key)! })));
        assert.equal(scratch.size, replica.tree.size, `${ctx}: tree sizes differ`);
        assert.deepEqual(replica.tree.root(), scratch.root(), `${ctx}: the stored leaf hashes do not match the stored records`);
        // The change log covers every key exactly once, newest seq per key, within seq().
        const changes = store.changesSince(0, keys.length + 10);
        assert.deepEqual(new Set(changes.map((c) => c.key)), new Set(keys), `${ctx}: change log and records disagree`);
        assert.equal(changes.length, keys.length, `${ctx}: change log repeats a key`);
        for (let i = 1; i < changes.length; i++) assert.ok(changes[i].seq > changes[i - 1].seq, `${ctx}: change log not ascending`);
        if (changes.length > 0) assert.equal(changes[changes.length - 1].seq, store.seq(), `${ctx}: seq() is not the newest change`);
        // The clock persisted with the writes is at least every stored stamp.
        const clock = store.clock();
        for (const key of keys) for (const v of store.get(key)!.versions) {
          if (v.device !== store.replicaId) continue;
          assert.ok(clock !== null && (clock.wall > v.wall || (clock.wall === v.wall && clock.counter >= v.tick)), `${ctx}: stored clock is behind a stored stamp`);
        }
      } finally {
        store.close();
      }
    }
    assert.ok(midBurst >= ROUNDS / 2, `only ${midBurst} of ${ROUNDS} kills landed mid-burst`);
    console.log(`crash safety: ${ROUNDS} kills, ${midBurst} mid-burst, ${ackedWrites} acknowledged writes, ${checkedWrites} acknowledged key checks (${expected.size} distinct keys), in-flight batch committed in ${inFlightLanded} kills`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
