// Seeded simulation of text editing (issue 8): replicas holding notes (history + automatic merge)
// edit note bodies from what they read earlier (stale editors, saves with base), resolve
// conflicts they see, and sync through real anti-entropy sessions, some with lost frames. Every
// edit inserts one unique line, and nothing ever deletes one, so "no write lost" can be checked
// by content: after convergence every line ever written is in the winner or in a kept version
// (merged into the winner, or still a conflict); and every version a write produced is the
// winner, a kept version, or (superseded) in the history of the devices that held it.

import { EngineError } from '../engine/core/errors.ts';
import { fateOf } from '../engine/core/record.ts';
import { noteKey, Notes, notesReplicaOptions, type Note } from '../engine/notes.ts';
import { Replica } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { syncPair, type PairOptions } from '../engine/sync-pair.ts';
import { Prng } from './prng.ts';

export interface TextSimStats {
  saves: number;
  staleRefused: number;
  merges: number;
  resolves: number;
  conflictsLeft: number;
  historyChecked: number;
}

export function newTextSimStats(): TextSimStats {
  return { saves: 0, staleRefused: 0, merges: 0, resolves: 0, conflictsLeft: 0, historyChecked: 0 };
}

interface Written {
  readonly id: string;
  readonly device: string;
  readonly counter: number;
  readonly text: string;
}

const MAX_FINAL_ROUNDS = 6;

export function simulateText(seed: number, stats: TextSimStats = newTextSimStats()): TextSimStats {
  const rng = new Prng(seed);
  const n = rng.int(2, 4);
  const ids = new Set<string>();
  while (ids.size < n) ids.add(Array.from({ length: 16 }, () => rng.int(0, 15).toString(16)).join(''));
  let time = 1_700_000_000_000;
  const devices = [...ids].map((id) => new Notes(Replica.open(new MemoryStore(id), { now: () => time, ...notesReplicaOptions() })));
  const fail = (msg: string): never => {
    throw new Error(`text simulation seed ${seed}: ${msg}`);
  };

  const seedNote = devices[0].create({ title: 'sim', body: 'first line\nsecond line\nthird line' }, `sim-${seed}`);
  for (const d of devices.slice(1)) syncPair(devices[0].replica, d.replica);
  const noteId = seedNote.id;
  const lines = new Set(['first line', 'second line', 'third line']);
  const written: Written[] = [];
  // What each device's editor holds: the note as read some time ago.
  const held = new Map<Notes, Note>(devices.map((d) => [d, d.get(noteId)!]));

  const record = (d: Notes, sent: string) => {
    const state = d.replica.get(noteKey(noteId, 'body'))!;
    const me = d.replica.replicaId;
    const counter = state.context[me];
    const own = state.versions.find((v) => v.device === me && v.counter === counter);
    // Our write may already be merged away (a merge write of this device supersedes it).
    const text = own?.value ?? d.replica.history(noteKey(noteId, 'body')).find((h) => h.device === me && h.counter === counter)?.value;
    if (text === undefined || text === null) fail(`the write of ${me} is neither current nor in its history`);
    if (!sent.split('\n').every((l) => (text as string).split('\n').includes(l))) fail(`the write of ${me} lost lines it was sent:\nsent ${JSON.stringify(sent)}\nwrote ${JSON.stringify(text)}\nstate ${JSON.stringify(state)}`);
    written.push({ id: noteId, device: me, counter, text: text as string });
  };

  const edit = (d: Notes, step: number) => {
    const note = held.get(d)!;
    if (Object.keys(note.conflicts).length > 0) {
      // The user resolves what the conflicts view shows: every version's lines, kept.
      const fresh = d.get(noteId)!;
      const union: string[] = [];
      for (const v of fresh.conflicts.body ?? [{ value: fresh.body }]) for (const l of (v.value ?? '').split('\n')) if (!union.includes(l)) union.push(l);
      d.resolve(noteId, 'body', union.join('\n'));
      stats.resolves++;
      held.set(d, d.get(noteId)!);
      return;
    }
    const text = note.body.split('\n');
    const line = `edit ${d.replica.replicaId.slice(-4)}@${step}`;
    text.splice(rng.int(0, text.length), 0, line);
    try {
      d.save(noteId, { body: text.join('\n') }, note.rev);
    } catch (e) {
      if (!(e instanceof EngineError) || e.code !== 'E_STALE_BASE') throw e;
      stats.staleRefused++;
      held.set(d, d.get(noteId)!);
      return;
    }
    lines.add(line);
    stats.saves++;
    record(d, text.join('\n'));
    // Sometimes the editor takes the saved note (acknowledged), sometimes it stays stale.
    if (rng.chance(0.7)) held.set(d, d.get(noteId)!);
  };

  const steps = rng.int(30, 80);
  for (let step = 0; step < steps; step++) {
    if (!rng.chance(0.3)) time += rng.int(1, 2_000);
    const d = rng.pick(devices);
    const roll = rng.float();
    if (roll < 0.5) edit(d, step);
    else if (roll < 0.65) held.set(d, d.get(noteId)!);
    else {
      let other = rng.pick(devices);
      while (other === d) other = rng.pick(devices);
      const lossy = rng.chance(0.15);
      const opts: PairOptions = { mode: 'auto', wire: lossy ? (frame) => (rng.chance(0.3) ? null : frame) : undefined };
      syncPair(d.replica, other.replica, opts);
    }
  }

  let rounds = 0;
  const same = () => devices.every((d) => JSON.stringify(d.replica.tree.root()) === JSON.stringify(devices[0].replica.tree.root()));
  while (!same()) {
    if (++rounds > MAX_FINAL_ROUNDS) fail(`not converged after ${MAX_FINAL_ROUNDS} rounds`);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) syncPair(devices[i].replica, devices[j].replica);
  }

  const key = noteKey(noteId, 'body');
  const final = devices[0].replica.get(key)!;
  for (const d of devices) if (JSON.stringify(d.replica.get(key)) !== JSON.stringify(final)) fail('devices disagree on the body');
  const present = new Set(final.versions.flatMap((v) => (v.value ?? '').split('\n')));
  for (const l of lines) if (!present.has(l)) fail(`line "${l}" was lost: in no version of the converged body`);
  if (final.versions.length > 1 && new Set(final.versions.map((v) => v.value)).size > 1) stats.conflictsLeft++;
  for (const w of written) {
    const fate = fateOf(final, w.device, w.counter);
    if (fate === 'unseen') fail(`write ${w.device}.${w.counter} is unknown after convergence`);
    if (fate === 'kept') continue;
    // Superseded: the device that wrote it keeps it in its history (nothing was pruned here).
    const writer = devices.find((d) => d.replica.replicaId === w.device)!;
    const h = writer.replica.history(key).find((e) => e.device === w.device && e.counter === w.counter);
    if (h === undefined || h.value !== w.text) fail(`superseded write ${w.device}.${w.counter} is not in its writer's history`);
    stats.historyChecked++;
  }
  stats.merges += devices.reduce((s, d) => s + d.replica.counters.merge, 0);
  return stats;
}
