// Pairing: this device's invite code (text and QR), joining another vault with a code, this
// device's name, the devices we know (sync-state peers, by name, with why one is not connected)
// and adding a peer by address.

import { useEffect, useState, type FormEvent } from 'react';
import type { Invite, NotesApi, SyncState } from '../../app/api.ts';
import { errorCode, errorMessage, shortId, timeAgo } from '../format.ts';
import { PairNearby } from './PairNearby.tsx';
import { QrCode } from './QrCode.tsx';

interface Props {
  readonly api: NotesApi;
  readonly sync: SyncState | null;
  readonly syncError: string | null;
}

const JOIN_ERRORS: Record<string, string> = {
  E_INVALID_INVITE: 'This is not a valid invite code. Check for typos: the code ends in a checksum, so a mistyped character is caught here.',
  E_DIAL_FAILED: 'The code is valid, but none of the inviting device’s addresses answered. Are both devices on the same network, and is the other one awake?',
  E_VAULT_EXISTS: 'This device already belongs to that vault.',
  E_SYNC_OFF: 'Sync is not running on this host.',
};

export function PairingView({ api, sync, syncError }: Props) {
  const [invite, setInvite] = useState<Invite | null>(null);
  const [inviteError, setInviteError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);

  const loadInvite = (): void => {
    setInviteError(null);
    api.invite().then(setInvite, (e) => setInviteError(errorMessage(e)));
  };
  useEffect(loadInvite, [api]);

  const copy = async (): Promise<void> => {
    if (!invite) return;
    try {
      await navigator.clipboard.writeText(invite.code);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setInviteError('Copying is not allowed here: select the code and copy it by hand.');
    }
  };

  return (
    <section className="panel pairing-view" aria-labelledby="pairing-heading" data-testid="pairing-view">
      <header className="panel-header">
        <h1 id="pairing-heading">Pairing and devices</h1>
        <p className="muted">Your devices share one vault. Show the invite code here on a paired device and enter it on the new one. Treat it like a password.</p>
      </header>
      <div className="pairing-grid">
        <section className="card" aria-labelledby="invite-heading" data-testid="invite-section">
          <h2 id="invite-heading">Invite another device</h2>
          {inviteError && <p className="error" role="alert" data-testid="invite-error">{inviteError}</p>}
          {invite ? (
            <div className="invite">
              <QrCode text={invite.code} label={`QR code of the invite code ${invite.code}`} />
              <div className="invite-text">
                <p className="muted small">Invite code</p>
                <code className="invite-code" data-testid="invite-code">{invite.code}</code>
                <div className="row">
                  <button type="button" className="btn" data-testid="copy-invite" onClick={() => void copy()}>{copied ? 'Copied' : 'Copy code'}</button>
                  <button type="button" className="btn subtle" onClick={loadInvite}>Refresh</button>
                </div>
                <details>
                  <summary>Addresses in this code ({invite.addresses.length})</summary>
                  <ul className="addresses">{invite.addresses.map((a) => <li key={a}><code>{a}</code></li>)}</ul>
                </details>
              </div>
            </div>
          ) : !inviteError && <p className="muted">Creating an invite code…</p>}
        </section>
        <JoinForm api={api} />
      </div>
      <PairNearby api={api} pairing={sync?.pairing ?? null} />
      <Devices api={api} sync={sync} syncError={syncError} />
    </section>
  );
}

function JoinForm({ api }: { api: NotesApi }) {
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [joined, setJoined] = useState<string | null>(null);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (!code.trim()) {
      setError('Enter the invite code shown on the other device.');
      return;
    }
    setBusy(true);
    setError(null);
    setJoined(null);
    try {
      const state = await api.join(code.trim());
      setJoined(`Joined vault ${state.vaultId}. Notes on this device are kept and sync into it.`);
      setCode('');
    } catch (err) {
      const c = errorCode(err);
      setError((c && JOIN_ERRORS[c]) ?? errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="join-heading" data-testid="join-section">
      <h2 id="join-heading">Join with a code</h2>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <label htmlFor="join-code">Invite code from your other device</label>
        <textarea
          id="join-code"
          className="input mono"
          data-testid="join-input"
          rows={3}
          value={code}
          spellCheck={false}
          autoCapitalize="characters"
          aria-invalid={error !== null}
          aria-describedby={error ? 'join-error' : 'join-help'}
          onChange={(e) => setCode(e.target.value)}
          placeholder="XXXXX-XXXXX-…"
        />
        <p id="join-help" className="muted small">Case and dashes do not matter. This device moves into the inviting device&apos;s vault; notes already here are kept and sync there.</p>
        {error && <p id="join-error" className="error" role="alert" data-testid="join-error">{error}</p>}
        {joined && <p className="success" role="status" data-testid="join-result">{joined}</p>}
        <button type="submit" className="btn primary" data-testid="join-button" disabled={busy}>{busy ? 'Joining…' : 'Join'}</button>
      </form>
    </section>
  );
}

function Devices({ api, sync, syncError }: Props) {
  const [address, setAddress] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [added, setAdded] = useState(false);
  const [forgetting, setForgetting] = useState<string | null>(null);
  const [forgetError, setForgetError] = useState<string | null>(null);
  const [forgotten, setForgotten] = useState<string | null>(null);

  const forget = async (peerId: string): Promise<void> => {
    const name = sync?.peers.find((p) => p.id === peerId)?.name ?? shortId(peerId);
    setBusy(true);
    setForgetError(null);
    setForgotten(null);
    try {
      const r = await api.forgetDevice(peerId);
      const label = (id: string) => sync?.peers.find((p) => p.id === id)?.name ?? shortId(id);
      setForgotten(`Forgot ${name}. The vault key changed (vault ${r.vaultId}).`
        + (r.reinviteNeeded.length > 0 ? ` Invite again: ${r.reinviteNeeded.map(label).join(', ')} (offline during the change).` : ''));
      setForgetting(null);
    } catch (err) {
      setForgetError(`Could not forget ${name}: ${errorMessage(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const add = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setAdded(false);
    try {
      await api.addPeer(address.trim());
      setAdded(true);
      setAddress('');
    } catch (err) {
      setError(`Could not connect: ${errorMessage(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="devices-heading" data-testid="devices-section">
      <h2 id="devices-heading">Devices</h2>
      {syncError && <p className="error" role="alert">{syncError}</p>}
      {sync && <DeviceNameForm api={api} sync={sync} />}
      {sync && sync.peers.length === 0 && <p className="empty-state" data-testid="devices-empty">No other devices yet. Pair one with an invite code.</p>}
      {sync && sync.peers.length > 0 && (
        <table className="table" data-testid="devices-table">
          <thead><tr><th scope="col">Device</th><th scope="col">State</th><th scope="col">Last sync</th><th scope="col">Addresses</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {sync.peers.map((p) => (
              <tr key={p.id} data-testid="device-row" data-peer-id={p.id}>
                <td><span title={p.id} data-testid="device-name">{p.name ?? shortId(p.id)}</span></td>
                <td>
                  <span className={`pill ${p.connected ? 'ok' : 'off'}`}>{p.connected ? 'connected' : 'offline'}</span>
                  {!p.connected && p.lastSeen !== null && <div className="muted small">last seen {timeAgo(p.lastSeen)}</div>}
                  {p.problem && <div className="error small" data-testid="device-problem" data-code={p.problem.code}>{p.problem.message}</div>}
                </td>
                <td>{p.lastSession ? `${timeAgo(p.lastSession.startedAt)}${p.lastSession.ok ? '' : ' (failed)'}` : 'never'}</td>
                <td className="addr-cell">{(p.connected ? p.addresses : p.knownAddresses).map((a) => <code key={a}>{a}</code>)}</td>
                <td>
                  {forgetting === p.id ? (
                    <span className="row">
                      <button type="button" className="btn danger" data-testid="forget-confirm" disabled={busy} onClick={() => void forget(p.id)}>{busy ? 'Forgetting…' : 'Forget and change the vault key'}</button>
                      <button type="button" className="btn subtle" onClick={() => setForgetting(null)}>Cancel</button>
                    </span>
                  ) : <button type="button" className="btn subtle" data-testid="forget-device" onClick={() => setForgetting(p.id)}>Forget…</button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {forgetting && (
        <p className="small" role="note" data-testid="forget-warning">
          Forgetting a device changes the vault key: your connected devices move to the new key, the forgotten one can no longer
          connect, old invite codes stop working, and devices that are offline now will need a new invite (they keep their notes).
        </p>
      )}
      {forgetError && <p className="error" role="alert" data-testid="forget-error">{forgetError}</p>}
      {forgotten && <p className="success" role="status" data-testid="forget-result">{forgotten}</p>}
      <form className="add-peer" onSubmit={(e) => void add(e)} noValidate>
        <label htmlFor="peer-address">Add a device by address (when discovery on the LAN cannot find it)</label>
        <div className="row">
          <input id="peer-address" className="input mono" data-testid="peer-address-input" value={address} placeholder="/ip4/192.168.1.20/tcp/40123/p2p/12D3KooW…" spellCheck={false} aria-invalid={error !== null} onChange={(e) => setAddress(e.target.value)} />
          <button type="submit" className="btn" data-testid="add-peer-button" disabled={busy || !address.trim()}>{busy ? 'Connecting…' : 'Connect'}</button>
        </div>
        {error && <p className="error" role="alert" data-testid="add-peer-error">{error}</p>}
        {added && <p className="success" role="status">Connected.</p>}
      </form>
    </section>
  );
}

/** This device's name as its paired devices see it, editable; the peer id stays in the tooltip. */
function DeviceNameForm({ api, sync }: { api: NotesApi; sync: SyncState }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(sync.device.name);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const saved = await api.renameDevice(name);
      setName(saved.name);
      setEditing(false);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  if (!editing) {
    return (
      <p className="muted small">
        This device: <strong title={sync.peerId} data-testid="this-device-name">{sync.device.name}</strong> in vault <code>{sync.vaultId}</code>{' '}
        <button type="button" className="btn subtle" data-testid="rename-device" onClick={() => { setName(sync.device.name); setEditing(true); }}>Rename</button>
      </p>
    );
  }
  return (
    <form className="add-peer" onSubmit={(e) => void save(e)} noValidate>
      <label htmlFor="device-name">This device’s name (shown on your other devices)</label>
      <div className="row">
        <input id="device-name" className="input" data-testid="device-name-input" value={name} maxLength={64} aria-invalid={error !== null} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="btn" data-testid="device-name-save" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
        <button type="button" className="btn subtle" onClick={() => setEditing(false)}>Cancel</button>
      </div>
      {error && <p className="error" role="alert" data-testid="device-name-error">{error}</p>}
    </form>
  );
}
