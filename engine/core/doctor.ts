// The LAN doctor's vocabulary: why a paired device is not syncing, in words a user can act on.
// Pure: the engine observes an event (a dial error, a session's error, no address to dial) and
// this module names it; nothing here guesses from silence.

export type DoctorCode = 'not-seen' | 'dial-refused' | 'timed-out' | 'no-route' | 'rejected-by-vault' | 'version-mismatch' | 're-invite-needed' | 'dial-failed';

export interface DoctorReason {
  readonly code: DoctorCode;
  /** One sentence for the user: what happened and what to try. */
  readonly message: string;
  /** When it was observed (ms since the epoch, the caller's clock). */
  readonly at: number;
}

/** What a failed dial told us (engine/net/p2p.ts puts these in an E_DIAL_FAILED error's details). */
export interface DialFailure {
  /** The error text of the failure (a socket error such as ECONNREFUSED, or a timeout). */
  readonly cause: string;
  /** Our own deadline ran out. */
  readonly aborted: boolean;
  /** The private-network handshake (pnet nonces) completed before the dial failed. */
  readonly privateNetworkPassed: boolean;
}

const MESSAGES: Readonly<Record<DoctorCode, string>> = {
  'not-seen': 'Not seen on this network',
  'dial-refused': 'Dial refused: the device answered but nothing listens on its remembered port (LAN Notes is not running there, or it moved to another port)',
  'timed-out': 'Timed out: the device did not answer (asleep, switched off, or a firewall drops the connection)',
  'no-route': 'No route: this device has no network path to the address (it is on another network, or this device is offline)',
  'rejected-by-vault': 'Rejected by the private network: the two devices hold different vault keys (one was forgotten, the key was rotated while one was offline, or one joined another vault). Invite it again: show an invite code on a paired device and enter it on the other; its notes are kept and sync once it joins',
  're-invite-needed': 'Re-invite needed: it was offline when the vault key was rotated, so it still holds the old key. Show an invite code here and enter it there; its notes are kept and sync once it joins',
  'version-mismatch': 'Protocol version mismatch: the device runs an incompatible version of LAN Notes; update both devices',
  'dial-failed': 'Could not connect',
};

/** Which reason wins when several addresses of one device failed differently: the most telling. */
const RANK: Readonly<Record<DoctorCode, number>> = {
  're-invite-needed': 7, 'version-mismatch': 6, 'rejected-by-vault': 5, 'dial-refused': 4, 'timed-out': 3, 'no-route': 2, 'dial-failed': 1, 'not-seen': 0,
};

export function dialFailureReason(f: DialFailure, at: number): DoctorReason {
  if (f.privateNetworkPassed) return reason('rejected-by-vault', at);
  if (/ECONNREFUSED/.test(f.cause)) return reason('dial-refused', at);
  if (/ENETUNREACH|EHOSTUNREACH|ENETDOWN|EHOSTDOWN|EADDRNOTAVAIL/.test(f.cause)) return reason('no-route', at);
  if (f.aborted || /ETIMEDOUT|timed out|timeout|aborted/i.test(f.cause)) return reason('timed-out', at);
  return { code: 'dial-failed', message: `${MESSAGES['dial-failed']}: ${f.cause.slice(0, 300)}`, at };
}

/** No address to dial: it was never heard from here, and mDNS (when on) has not announced it. */
export function notSeenReason(mdnsRunning: boolean, at: number): DoctorReason {
  const why = mdnsRunning
    ? 'no mDNS answer from it and no address is known (is it on, awake and on this network?)'
    : 'mDNS is off here and no address is known (turn mDNS on, or add it by address)';
  return { code: 'not-seen', message: `${MESSAGES['not-seen']}: ${why}`, at };
}

export function versionMismatchReason(detail: string, at: number): DoctorReason {
  return { code: 'version-mismatch', message: `${MESSAGES['version-mismatch']} (${detail.slice(0, 200)})`, at };
}

export function reason(code: Exclude<DoctorCode, 'not-seen'>, at: number): DoctorReason {
  return { code, message: MESSAGES[code], at };
}

/** The more telling of two reasons (the later one on a tie). */
export function worse(a: DoctorReason | null, b: DoctorReason): DoctorReason {
  return a === null || RANK[b.code] >= RANK[a.code] ? b : a;
}

/** Redial backoff: 1 s, 2 s, 4 s ... and never more than a minute between tries. */
export const REDIAL_MAX_MS = 60_000;
export function redialDelayMs(failures: number): number {
  return Math.min(REDIAL_MAX_MS, 1000 * 2 ** Math.max(0, Math.min(failures, 16)));
}
