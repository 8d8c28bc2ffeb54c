// Versioned state of one key, and the one merge() every path uses (local write, gossip,
// anti-entropy, import). A key's state is a multi-value register with a causal context:
//
//   context:  device -> highest write counter of that device this state has seen for the key
//   versions: the writes not yet superseded (the "siblings"), each tagged with its dot
//             (device, counter) and its HLC stamp
//
// A write supersedes exactly what its writer had seen (the context), so a causally later write
// always replaces an earlier one whatever the clocks say, while concurrent writes are all kept.
// The stamp only chooses which concurrent version is shown first (the winner).
// Contexts stay downward closed per device (a device's write n is issued after it saw n-1), so a
// plain version vector represents them exactly.

import { compareStamps, type Stamp } from './clock.ts';

/** `null` is a tombstone: the key was deleted by that write. */
export type Value = string | null;

export interface Version {
  readonly device: string;
  readonly counter: number;
  readonly wall: number;
  readonly tick: number;
  readonly value: Value;
}

export type Context = Readonly<Record<string, number>>;

export interface KeyState {
  readonly context: Context;
  /** Winner first: sorted by stamp, highest first. */
  readonly versions: readonly Version[];
}

export const EMPTY_STATE: KeyState = Object.freeze({ context: Object.freeze({}), versions: Object.freeze([]) });

export function stampOf(v: Version): Stamp {
  return { wall: v.wall, counter: v.tick, device: v.device };
}

/** The canonical order of a state's versions: winner first. */
export function byStampDesc(a: Version, b: Version): number {
  const c = compareStamps(stampOf(b), stampOf(a));
  if (c !== 0) return c;
  // Equal stamps on one device mean a corrupted or cloned replica; keep the order total anyway.
  return b.counter - a.counter || (a.value === b.value ? 0 : (a.value ?? '') < (b.value ?? '') ? 1 : -1);
}

function seen(context: Context, v: Version): boolean {
  return (context[v.device] ?? 0) >= v.counter;
}

function sameDot(a: Version, b: Version): boolean {
  return a.device === b.device && a.counter === b.counter;
}

/**
 * The one merge. Keeps every version of either side that the other side has not seen
 * (or also holds), and joins the contexts. Commutative, associative and idempotent.
 */
export function merge(a: KeyState | undefined, b: KeyState | undefined): KeyState {
  if (a === undefined || a.versions.length + Object.keys(a.context).length === 0) return b ?? EMPTY_STATE;
  if (b === undefined || b.versions.length + Object.keys(b.context).length === 0) return a;
  const versions: Version[] = [];
  for (const v of a.versions) {
    const twin = b.versions.find((w) => sameDot(v, w));
    if (twin !== undefined) versions.push(byStampDesc(v, twin) <= 0 ? v : twin);
    else if (!seen(b.context, v)) versions.push(v);
  }
  for (const w of b.versions) {
    if (a.versions.some((v) => sameDot(v, w))) continue;
    if (!seen(a.context, w)) versions.push(w);
  }
  versions.sort(byStampDesc);
  const context: Record<string, number> = { ...a.context };
  for (const [device, counter] of Object.entries(b.context)) {
    if ((context[device] ?? 0) < counter) context[device] = counter;
  }
  return { context: sortContext(context), versions };
}

/** The canonical form of a state: context sorted by device, versions winner first. */
export function canonicalState(context: Record<string, number>, versions: Version[]): KeyState {
  return { context: sortContext(context), versions: [...versions].sort(byStampDesc) };
}

function sortContext(context: Record<string, number>): Context {
  const out: Record<string, number> = {};
  for (const device of Object.keys(context).sort()) out[device] = context[device];
  return out;
}

/**
 * The state a local write creates: one new version whose context is everything this replica has
 * seen of the key, so it supersedes all current versions (this is also how a conflict is resolved).
 * The result is both the new local state and the delta to send to peers.
 */
export function writeDelta(current: KeyState | undefined, stamp: Stamp, value: Value): KeyState {
  const counter = (current?.context[stamp.device] ?? 0) + 1;
  const version: Version = { device: stamp.device, counter, wall: stamp.wall, tick: stamp.counter, value };
  // A new key's context names one device: sorted as it is, so no copy to sort.
  if (current === undefined) return { context: { [stamp.device]: counter }, versions: [version] };
  const context: Record<string, number> = { ...current.context };
  context[stamp.device] = counter;
  return { context: sortContext(context), versions: [version] };
}

/**
 * A write made while the key has a pending conflict, that must not end the conflict (someone is
 * typing on in the shown version): it supersedes only this device's own versions, the line of
 * history this device continues, and keeps every other device's version by stopping the context
 * just short of their dots. Ending a conflict is writeDelta (a resolution supersedes everything).
 * Nothing is re-issued under new dots, so a resolution made concurrently elsewhere still removes
 * exactly the versions its writer saw.
 */
export function editDelta(current: KeyState | undefined, stamp: Stamp, value: Value): KeyState {
  const delta = writeDelta(current, stamp, value);
  if (current === undefined || current.versions.length < 2) return delta;
  const context: Record<string, number> = { ...delta.context };
  for (const v of current.versions) {
    if (v.device === stamp.device) continue;
    context[v.device] = Math.min(context[v.device] ?? 0, v.counter - 1);
    if (context[v.device] === 0) delete context[v.device];
  }
  return { context: sortContext(context), versions: delta.versions };
}

export function winner(state: KeyState | undefined): Version | undefined {
  return state?.versions[0];
}

export function isConflict(state: KeyState | undefined): boolean {
  return state !== undefined && state.versions.length > 1;
}

export function statesEqual(a: KeyState | undefined, b: KeyState | undefined): boolean {
  const x = a ?? EMPTY_STATE;
  const y = b ?? EMPTY_STATE;
  const xd = Object.keys(x.context);
  if (xd.length !== Object.keys(y.context).length) return false;
  if (xd.some((d) => x.context[d] !== y.context[d])) return false;
  if (x.versions.length !== y.versions.length) return false;
  return x.versions.every((v, i) => {
    const w = y.versions[i];
    return sameDot(v, w) && v.wall === w.wall && v.tick === w.tick && v.value === w.value;
  });
}

/** Whether the write identified by `dot` survives in `state` or was superseded by a later one. */
export function fateOf(state: KeyState | undefined, device: string, counter: number): 'kept' | 'superseded' | 'unseen' {
  if (state === undefined) return 'unseen';
  if (state.versions.some((v) => v.device === device && v.counter === counter)) return 'kept';
  return (state.context[device] ?? 0) >= counter ? 'superseded' : 'unseen';
}

/** A version's identity: the writing device and its per-key write counter. */
export interface Dot {
  readonly device: string;
  readonly counter: number;
}

export function dotOf(v: Version): Dot {
  return { device: v.device, counter: v.counter };
}

export function sameDots(a: Dot, b: Dot): boolean {
  return a.device === b.device && a.counter === b.counter;
}

/** Canonical order of dots: by device, then counter. Every device sorts the same way. */
export function compareDots(a: Dot, b: Dot): number {
  return a.device < b.device ? -1 : a.device > b.device ? 1 : a.counter - b.counter;
}

/** Whether the state has seen the write `dot` (it is a current version or was superseded). */
export function knows(state: KeyState | undefined, dot: Dot): boolean {
  return (state?.context[dot.device] ?? 0) >= dot.counter;
}

/**
 * A write made from what its writer saw: it supersedes the current versions named in
 * `supersede` (and everything they superseded) and keeps every other current version, by
 * stopping the context just short of their dots. This device's own current versions cannot be
 * kept that way (its new counter covers its earlier ones), so each of them must be in
 * `supersede`: the caller merges their text into the new value first (engine/notes.ts).
 */
export function baseDelta(current: KeyState | undefined, stamp: Stamp, value: Value, supersede: readonly Dot[]): KeyState {
  const delta = writeDelta(current, stamp, value);
  if (current === undefined) return delta;
  const context: Record<string, number> = { ...delta.context };
  for (const v of current.versions) {
    if (supersede.some((d) => sameDots(d, v))) continue;
    if (v.device === stamp.device) throw new Error(`baseDelta: own version ${v.device}:${v.counter} must be superseded`);
    context[v.device] = Math.min(context[v.device] ?? 0, v.counter - 1);
    if (context[v.device] === 0) delete context[v.device];
  }
  return { context: sortContext(context), versions: delta.versions };
}
