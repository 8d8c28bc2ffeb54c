// "Pair nearby": add or join a device on this network without typing a code. The state comes
// from SyncState.pairing (pushed with sync-state events); the buttons call the pairing API.

import { useState } from 'react';
import type { NotesApi, PairingState } from '../../app/api.ts';
import { clockTime, errorMessage } from '../format.ts';

interface Props {
  readonly api: NotesApi;
  readonly pairing: PairingState | null;
}

/** "123456" -> "123 456", easier to compare between two screens. */
const spaced = (code: string): string => `${code.slice(0, 3)} ${code.slice(3)}`;

export function PairNearby({ api, pairing }: Props) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (f: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  const mode = pairing?.mode ?? 'off';
  const out = pairing?.outgoing ?? null;

  return (
    <section className="card pair-nearby" aria-labelledby="nearby-heading" data-testid="pair-nearby">
      <h2 id="nearby-heading">Pair nearby</h2>
      <p className="muted small">
        Both devices on the same network, no code to type: add on a device that is already paired, join on the new one,
        and check that both screens show the same six digits. Where the network blocks discovery, use the invite code.
      </p>
      {mode === 'off' && (
        <div className="row">
          <button type="button" className="btn" data-testid="nearby-invite" disabled={busy} onClick={() => void run(() => api.startPairing('invite'))}>Add a device nearby</button>
          <button type="button" className="btn" data-testid="nearby-join" disabled={busy} onClick={() => void run(() => api.startPairing('join'))}>Join a device nearby</button>
        </div>
      )}
      {mode !== 'off' && (
        <p className="small" data-testid="nearby-window">
          {mode === 'invite' ? 'Waiting for a device to ask to join' : 'Looking for devices in pairing mode'}
          {pairing?.expiresAt ? ` until ${clockTime(pairing.expiresAt)}` : ''}.{' '}
          <button type="button" className="btn subtle" onClick={() => void run(() => api.stopPairing())}>Stop</button>
        </p>
      )}
      {mode === 'invite' && (pairing?.requests.length ?? 0) === 0 && <p className="muted small">Open “Join a device nearby” on the new device.</p>}
      {mode === 'invite' && pairing!.requests.map((r) => (
        <div key={r.peerId} className="pair-request" data-testid="nearby-request" data-peer-id={r.peerId}>
          <p><strong title={r.peerId}>{r.name}</strong> wants to join. Does it show this code?</p>
          <p className="pair-code" data-testid="nearby-code">{spaced(r.code)}</p>
          <div className="row">
            <button type="button" className="btn primary" data-testid="nearby-confirm" disabled={busy} onClick={() => void run(() => api.answerPairing(r.peerId, true))}>Same code: let it join</button>
            <button type="button" className="btn" data-testid="nearby-refuse" disabled={busy} onClick={() => void run(() => api.answerPairing(r.peerId, false))}>Different code: refuse</button>
          </div>
        </div>
      ))}
      {mode === 'join' && !out && (pairing?.nearby.length ?? 0) === 0 && <p className="muted small">No device nearby in pairing mode yet. Open “Add a device nearby” on a paired device.</p>}
      {mode === 'join' && !out && (
        <ul className="nearby-list">
          {pairing!.nearby.map((d) => (
            <li key={d.peerId} data-testid="nearby-device" data-peer-id={d.peerId}>
              <span title={d.peerId}>{d.name}</span>{' '}
              <button type="button" className="btn" disabled={busy} onClick={() => void run(() => api.requestPairing(d.peerId))}>Join</button>
            </li>
          ))}
        </ul>
      )}
      {out && (
        <div className="pair-request" data-testid="nearby-outgoing" data-status={out.status}>
          {out.status === 'waiting' && <p>Check that <strong title={out.peerId}>{out.name}</strong> shows this code, and confirm there:</p>}
          {out.status === 'waiting' && <p className="pair-code" data-testid="nearby-code">{spaced(out.code)}</p>}
          {out.status === 'joined' && <p className="success" role="status">Paired with {out.name}: this device joined its vault, and your notes sync.</p>}
          {out.status === 'refused' && <p className="error" role="alert">{out.name} refused ({out.message}). Nothing was shared.</p>}
          {out.status === 'failed' && <p className="error" role="alert">Pairing with {out.name} did not finish ({out.message}). Nothing was shared.</p>}
        </div>
      )}
      {error && <p className="error" role="alert" data-testid="nearby-error">{error}</p>}
    </section>
  );
}
