// "Pair nearby": pairing two devices on one LAN without typing an invite code.
//
// The inviting device ("Add a device nearby") opens a pairing window (2 minutes by default): a
// short-lived libp2p node without the vault key (engine/net/pairing-node.ts), advertised by mDNS
// under the pairing service name. The joining device ("Join a device nearby") lists the devices
// in pairing mode by name; picking one sends a request, and both screens show the same 6-digit
// code (engine/core/pairing.ts). Only when the user confirms on the inviting device does it send
// an invite code (the vault secret) over that noise-encrypted connection, and the window closes.
// A refusal, a timeout or the window closing sends nothing.
//
// Frames are small JSON objects: {op:"hello"} -> {op:"hello", name}; {op:"pair", name} ->
// {op:"welcome", invite} | {op:"refused", message}.

import { EngineError, ProtocolError, ValidationError } from './core/errors.ts';
import { pairingCode } from './core/pairing.ts';
import type { OutgoingPairing, PairingMode, PairingRequest, PairingState } from './core/pairing-types.ts';
import { logger } from './log.ts';
import { checkDeviceName } from './net/device-settings.ts';
import { decodeInvite } from './net/invite.ts';
import type { FrameStream } from './net/p2p.ts';
import { PairingNode } from './net/pairing-node.ts';

const log = logger('pairing');
export const PAIRING_WINDOW_MS = 120_000;
const MAX_INVITE_CHARS = 2000;
/** Requests waiting for the user at once; more are refused (a flood must not bury the real one). */
const MAX_PENDING = 8;

export interface NearbyPairingOptions {
  readonly identityKey: () => Uint8Array;
  readonly peerId: () => string;
  readonly listenHost: string;
  readonly name: () => string;
  /** A fresh invite code of this device's vault. */
  readonly invite: () => string;
  readonly join: (code: string) => Promise<unknown>;
  readonly now: () => number;
  readonly windowMs?: number;
  readonly mdnsIntervalMs?: number;
}

interface Pending {
  readonly name: string;
  readonly code: string;
  readonly decide: (accept: boolean) => void;
  /** Settles once the answer went out. */
  readonly answered: Promise<void>;
}

type Message = { op: 'hello'; name?: string } | { op: 'pair'; name: string } | { op: 'welcome'; invite: string } | { op: 'refused'; message: string };

function encode(m: Message): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m));
}

function decode(frame: Uint8Array | null): Message {
  if (frame === null) throw new ProtocolError('E_PEER_ERROR', 'the other device closed the pairing stream');
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame)) as Record<string, unknown>;
  } catch {
    throw new ProtocolError('E_FRAME_MALFORMED', 'pairing frame is not JSON');
  }
  if (m === null || typeof m !== 'object') throw new ProtocolError('E_FRAME_MALFORMED', 'pairing frame is not an object');
  const named = (): string => {
    try {
      return checkDeviceName(m.name);
    } catch (e) {
      throw new ProtocolError('E_FRAME_MALFORMED', `pairing frame: ${(e as Error).message}`);
    }
  };
  switch (m.op) {
    case 'hello': return m.name === undefined ? { op: 'hello' } : { op: 'hello', name: named() };
    case 'pair': return { op: 'pair', name: named() };
    case 'welcome':
      if (typeof m.invite !== 'string' || m.invite.length > MAX_INVITE_CHARS) throw new ProtocolError('E_FRAME_MALFORMED', 'pairing welcome without an invite');
      return { op: 'welcome', invite: m.invite };
    case 'refused': return { op: 'refused', message: typeof m.message === 'string' ? m.message.slice(0, 200) : 'refused' };
    default: throw new ProtocolError('E_FRAME_MALFORMED', 'unknown pairing frame');
  }
}

export class NearbyPairing {
  private readonly opts: NearbyPairingOptions;
  private node: PairingNode | null = null;
  private mode: PairingMode = 'off';
  private expiresAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly nearby = new Map<string, string>();
  private readonly asking = new Set<string>();
  private readonly requests = new Map<string, Pending>();
  private outgoing: OutgoingPairing | null = null;
  private readonly listeners = new Set<() => void>();
  private transition: Promise<unknown> = Promise.resolve();

  constructor(opts: NearbyPairingOptions) {
    this.opts = opts;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  state(): PairingState {
    return {
      mode: this.mode,
      expiresAt: this.expiresAt,
      nearby: [...this.nearby].map(([peerId, name]) => ({ peerId, name })),
      requests: [...this.requests].map(([peerId, r]): PairingRequest => ({ peerId, name: r.name, code: r.code })),
      outgoing: this.outgoing,
    };
  }

  /** Opens the pairing window as the inviting ('invite') or the joining ('join') device. */
  start(mode: 'invite' | 'join'): Promise<PairingState> {
    if (mode !== 'invite' && mode !== 'join') return Promise.reject(new ValidationError('E_INVALID_VALUE', 'mode must be "invite" or "join"'));
    return this.serial(async () => {
      await this.close('a new pairing window opened');
      const windowMs = this.opts.windowMs ?? PAIRING_WINDOW_MS;
      const node = await PairingNode.create({ identityKey: this.opts.identityKey(), listen: [`/ip4/${this.opts.listenHost}/tcp/0`], mdnsIntervalMs: this.opts.mdnsIntervalMs });
      await node.handle((stream, peer, signal) => this.serve(stream, peer, signal), windowMs);
      if (mode === 'join') node.onDiscovered((peer) => void this.askName(peer));
      await node.start();
      this.node = node;
      this.mode = mode;
      if (mode === 'join') this.outgoing = null;
      this.expiresAt = this.opts.now() + windowMs;
      this.timer = setTimeout(() => void this.stop('the pairing window closed'), windowMs);
      this.timer.unref();
      log.info('pairing window open', { mode, windowMs });
      this.changed();
      return this.state();
    });
  }

  stop(why = 'pairing was stopped'): Promise<PairingState> {
    return this.serial(async () => {
      await this.close(why);
      return this.state();
    });
  }

  /** Joining: asks a nearby device to let this one in; the code to compare is in the answer. */
  async request(peerId: string): Promise<PairingState> {
    if (this.mode !== 'join' || this.node === null) throw new EngineError('E_NOT_STARTED', 'open "Join a device nearby" first');
    const name = this.nearby.get(peerId);
    if (name === undefined) throw new ValidationError('E_NOT_FOUND', `no device ${peerId} in pairing mode nearby`, { peerId });
    if (this.outgoing?.status === 'waiting') throw new ValidationError('E_INVALID_VALUE', 'a pairing request is already waiting for an answer');
    const code = pairingCode(this.opts.peerId(), peerId);
    this.outgoing = { peerId, name, code, status: 'waiting', message: null };
    this.changed();
    const node = this.node;
    void (async () => {
      const signal = AbortSignal.timeout(Math.max(1000, (this.expiresAt ?? 0) - this.opts.now()));
      try {
        const stream = await node.open(peerId, signal);
        await stream.send(encode({ op: 'pair', name: this.opts.name() }), signal);
        const frame = await stream.next(signal);
        // The inviting device answers every request it reads ("welcome" or "refused") unless its
        // window closes first and its pairing node goes away with the stream.
        if (frame === null) throw new ProtocolError('E_PEER_ERROR', 'the other device\'s pairing window closed before it answered');
        const reply = decode(frame);
        await stream.close().catch(() => undefined);
        if (reply.op === 'welcome') {
          // The invite must be the inviter's own: a device in the middle could not make one that names it.
          if (decodeInvite(reply.invite).peerId !== peerId) throw new ProtocolError('E_PEER_ERROR', 'the invite names another device');
          await this.opts.join(reply.invite);
          this.finish('joined', null);
          await this.stop('paired');
        } else {
          this.finish('refused', reply.op === 'refused' ? reply.message : 'refused');
        }
      } catch (e) {
        this.finish('failed', signal.aborted ? 'no answer before the pairing window closed' : (e as Error).message);
      }
    })();
    return this.state();
  }

  /** Inviting: the user's answer to a request, after comparing the codes. */
  async answer(peerId: string, accept: boolean): Promise<PairingState> {
    if (typeof accept !== 'boolean') throw new ValidationError('E_INVALID_VALUE', 'accept must be true or false');
    const r = this.requests.get(peerId);
    if (this.mode !== 'invite' || r === undefined) throw new ValidationError('E_NOT_FOUND', `no pairing request from ${peerId}`, { peerId });
    this.requests.delete(peerId);
    r.decide(accept);
    this.changed();
    return this.state();
  }

  private finish(status: OutgoingPairing['status'], message: string | null): void {
    if (this.outgoing) this.outgoing = { ...this.outgoing, status, message };
    log.info('pairing request ended', { status, message });
    this.changed();
  }

  private async askName(peer: string): Promise<void> {
    const node = this.node;
    if (node === null || this.nearby.has(peer) || this.asking.has(peer)) return;
    this.asking.add(peer);
    try {
      const signal = AbortSignal.timeout(10_000);
      const stream = await node.open(peer, signal);
      await stream.send(encode({ op: 'hello' }), signal);
      const reply = decode(await stream.next(signal));
      await stream.close().catch(() => undefined);
      if (reply.op === 'hello' && reply.name !== undefined && this.node === node) {
        this.nearby.set(peer, reply.name);
        this.changed();
      }
    } catch (e) {
      log.debug('a nearby device did not say its name', { peer, error: e });
    } finally {
      this.asking.delete(peer);
    }
  }

  private async serve(stream: FrameStream, peer: string, signal: AbortSignal): Promise<void> {
    const m = decode(await stream.next(signal));
    if (this.mode !== 'invite') {
      if (m.op === 'pair') await stream.send(encode({ op: 'refused', message: 'that device is not inviting' }), signal);
      return;
    }
    if (m.op === 'hello') {
      await stream.send(encode({ op: 'hello', name: this.opts.name() }), signal);
      return;
    }
    if (m.op !== 'pair') throw new ProtocolError('E_PROTOCOL_STATE', `unexpected pairing frame ${m.op}`);
    if (this.requests.has(peer) || this.requests.size >= MAX_PENDING) {
      await stream.send(encode({ op: 'refused', message: this.requests.has(peer) ? 'a request from this device is already waiting' : 'too many devices are asking at once' }), signal);
      return;
    }
    let answered!: () => void;
    const done = new Promise<void>((r) => (answered = r));
    let closed = false;
    const accepted = await new Promise<boolean>((resolve) => {
      const decide = (accept: boolean): void => {
        closed = this.mode !== 'invite' || this.node === null;
        resolve(accept);
      };
      this.requests.set(peer, { name: m.name, code: pairingCode(this.opts.peerId(), peer), decide, answered: done });
      signal.addEventListener('abort', () => decide(false), { once: true });
      this.changed();
    });
    this.requests.delete(peer);
    this.changed();
    try {
      if (!accepted || signal.aborted || closed) {
        await stream.send(encode({ op: 'refused', message: closed || signal.aborted ? 'the pairing window closed' : 'the other device said no' }), AbortSignal.timeout(2_000)).catch(() => undefined);
        await stream.close(AbortSignal.timeout(2_000)).catch(() => undefined);
        return;
      }
    } finally {
      answered();
    }
    await stream.send(encode({ op: 'welcome', invite: this.opts.invite() }), signal);
    await stream.close(signal);
    log.info('sent the vault invite to a confirmed device', { peer });
    // One device per window: the rest are told no.
    void this.stop('paired');
  }

  private async close(why: string): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const node = this.node;
    this.node = null;
    const wasOpen = this.mode !== 'off';
    this.mode = 'off';
    this.expiresAt = null;
    // Tell waiting devices the window closed before the node goes away.
    const pending = [...this.requests.values()];
    this.requests.clear();
    for (const r of pending) r.decide(false);
    await Promise.race([Promise.all(pending.map((r) => r.answered)), new Promise((r) => setTimeout(r, 3_000).unref())]);
    this.nearby.clear();
    if (this.outgoing?.status === 'waiting') this.outgoing = { ...this.outgoing, status: 'failed', message: why };
    if (node) await node.stop();
    if (wasOpen) {
      log.info('pairing window closed', { why });
      this.changed();
    }
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.transition.then(f, f);
    this.transition = next.catch(() => undefined);
    return next;
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}
