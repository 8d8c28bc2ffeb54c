// Reachable key states for property tests. Arbitrary KeyState objects would mostly be states no
// device could ever hold (a version its own context has not seen, two devices sharing a dot...),
// and merge() is only promised to behave on states that real writes and merges produce. So the
// generators here describe a history — devices writing and merging — and replay it with the real
// tick()/writeDelta()/merge(), keeping every state any device held along the way.

import fc from 'fast-check';
import { tick, type Stamp } from '../engine/core/clock.ts';
import { editDelta, merge, winner, writeDelta, type Context, type KeyState, type Value } from '../engine/core/record.ts';

export const DEVICES = ['00000000000000a1', '00000000000000b2', '00000000000000c3', '0000000000000d04'] as const;
export const KEYS = ['alpha', 'beta', 'gamma'] as const;

export type Op =
  | { readonly kind: 'write'; readonly device: number; readonly key: number; readonly value: Value; readonly now: number }
  /** Typing on in a conflicted key: editDelta replaces the shown version and keeps the others. */
  | { readonly kind: 'edit'; readonly device: number; readonly key: number; readonly value: Value; readonly now: number }
  /** `key` null: the receiving device merges every key the sender holds (a full sync). */
  | { readonly kind: 'merge'; readonly from: number; readonly to: number; readonly key: number | null };

/** What identifies a write and what it had seen: enough to know which writes must survive. */
export interface WriteDot {
  readonly key: string;
  readonly device: string;
  readonly counter: number;
  /** The context the write was made with: everything it supersedes (its own dot included). */
  readonly seen: Context;
}

export interface TrackedWrite extends WriteDot {
  readonly value: Value;
  /** The writer's state of the key just before the write. */
  readonly before: KeyState | undefined;
  /** The writer's state just after it. */
  readonly after: KeyState;
}

export interface Snapshot {
  readonly key: string;
  readonly device: number;
  readonly state: KeyState;
}

export interface History {
  /** Per device: key -> current state. */
  readonly states: Map<string, KeyState>[];
  /** Per device: the last stamp its clock issued. */
  readonly clocks: (Stamp | null)[];
  readonly writes: TrackedWrite[];
  /** Every state any device held, in the order they arose. */
  readonly snapshots: Snapshot[];
}

// A few text shapes that matter to the codec: empty, ASCII, and any code point (astral included).
export const valueArb: fc.Arbitrary<Value> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 3, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);

/**
 * Wall times from a narrow range so that clocks step back, repeat and disagree across devices:
 * the HLC counter and the "causality beats clocks" rule both get exercised.
 */
export function opArb(withEdits = false, devices = DEVICES.length, keys = KEYS.length): fc.Arbitrary<Op> {
  const device = fc.nat({ max: devices - 1 });
  const key = fc.nat({ max: keys - 1 });
  const now = fc.nat({ max: 40 });
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('write' as const), device, key, value: valueArb, now }) },
    { weight: withEdits ? 1 : 0, arbitrary: fc.record({ kind: fc.constant('edit' as const), device, key, value: valueArb, now }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('merge' as const), from: device, to: device, key: fc.option(key, { nil: null }) }) },
  );
}

/**
 * `withEdits` adds keep-conflicts edits. Those leave other devices' versions they had seen in
 * place, so unsupersededWrites() (a model of plain writes) does not describe their histories;
 * use them for properties that hold for any reachable state.
 */
export function opsArb(maxLength = 30, withEdits = false): fc.Arbitrary<Op[]> {
  return fc.array(opArb(withEdits), { minLength: 1, maxLength, size: 'max' });
}

export function emptyHistory(devices = DEVICES.length): History {
  return {
    states: Array.from({ length: devices }, () => new Map<string, KeyState>()),
    clocks: new Array<Stamp | null>(devices).fill(null),
    writes: [],
    snapshots: [],
  };
}

/** Replays `ops` onto `h` (a fresh history by default) and returns it. */
export function replay(ops: readonly Op[], h: History = emptyHistory()): History {
  for (const op of ops) {
    if (op.kind === 'write') localWrite(h, op.device, KEYS[op.key], op.value, op.now);
    else if (op.kind === 'edit') localWrite(h, op.device, KEYS[op.key], op.value, op.now, 'keep-conflicts');
    else if (op.key === null) for (const key of h.states[op.from].keys()) mergeInto(h, op.from, op.to, key);
    else mergeInto(h, op.from, op.to, KEYS[op.key]);
  }
  return h;
}

/** A local write as Replica.write() makes it: tick, writeDelta over the current state, merge. */
export function localWrite(h: History, device: number, key: string, value: Value, now: number, mode: 'supersede' | 'keep-conflicts' = 'supersede'): TrackedWrite {
  const id = DEVICES[device];
  const stamp = tick(h.clocks[device], id, now);
  h.clocks[device] = stamp;
  const before = h.states[device].get(key);
  const delta = mode === 'supersede' ? writeDelta(before, stamp, value) : editDelta(before, stamp, value);
  const after = merge(before, delta);
  h.states[device].set(key, after);
  h.snapshots.push({ key, device, state: after });
  const w: TrackedWrite = { key, device: id, counter: delta.context[id], value, seen: delta.context, before, after };
  h.writes.push(w);
  return w;
}

export function mergeInto(h: History, from: number, to: number, key: string): void {
  const incoming = h.states[from].get(key);
  if (incoming === undefined) return;
  const next = merge(h.states[to].get(key), incoming);
  h.states[to].set(key, next);
  h.snapshots.push({ key, device: to, state: next });
}

/**
 * The reference semantics of a multi-value register, computed from the writes alone: the versions
 * of a key are exactly the writes that no other write of that key had seen.
 */
export function unsupersededWrites<W extends WriteDot>(writes: readonly W[], key: string): W[] {
  const ofKey = writes.filter((w) => w.key === key);
  return ofKey.filter((w) => !ofKey.some((o) => o !== w && (o.seen[w.device] ?? 0) >= w.counter));
}

export function dotsOf(state: KeyState): string[] {
  return state.versions.map((v) => `${v.device}:${v.counter}`).sort();
}

export function dotOf(w: { device: string; counter: number }): string {
  return `${w.device}:${w.counter}`;
}

/** Every key any device holds. */
export function keysOf(h: History): string[] {
  const keys = new Set<string>();
  for (const s of h.states) for (const k of s.keys()) keys.add(k);
  return [...keys].sort();
}
