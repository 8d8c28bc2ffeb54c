// Child process for test/crash-safety.test.ts: opens a real SQLite store under a Replica with the
// notes indexer and writes batches as fast as it can until it is killed. After each
// replica.write() has returned (committed), it prints one line: `ACK <json [[key, value], ...]>`.
// Args: <store file> <seed>.

import { writeSync } from 'node:fs';
import { noteKey, notesIndexer } from '../engine/notes.ts';
import { Replica } from '../engine/replica.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { Prng } from './prng.ts';

const [file, seedArg] = process.argv.slice(2);
const rng = new Prng(Number(seedArg));
const replica = Replica.open(SqliteStore.open(file), { indexer: notesIndexer });
// Synchronous writes to stdout, so a line printed is a line the parent gets even if we die next.
writeSync(1, 'READY\n');
let n = 0;
for (;;) {
  const size = rng.int(1, 20);
  const keys = new Set<string>();
  const writes: { key: string; value: string }[] = [];
  while (writes.length < size) {
    // A small id space, so later writes often supersede earlier ones, across runs too.
    const id = `n${rng.int(0, 299)}`;
    const key = noteKey(id, rng.pick(['title', 'body', 'created'] as const));
    if (keys.has(key)) continue;
    keys.add(key);
    writes.push({ key, value: `${seedArg}:${n++}:${'x'.repeat(rng.int(0, 200))}` });
  }
  writeSync(1, `TRY ${JSON.stringify(writes.map((w) => [w.key, w.value]))}\n`);
  replica.write(writes);
  writeSync(1, 'ACK\n');
}
