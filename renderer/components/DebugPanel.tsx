// The sync engine's state, as the debug panel: who we are, peers and their connections, the
// gossip mesh, Merkle roots side by side with a heatmap of the subtrees the last session found
// different, the anti-entropy session log with a plot, and which path delivered how many records.
// Each peer's watermark says how much of this device's change log it is proven to hold.

import { useState } from 'react';
import type { NotesApi, PeerState, SessionSummary, SyncState } from '../../app/api.ts';
import { bytes, clockTime, dateTime, duration, errorMessage, peerName, shortId, skew, timeAgo, watermarkText } from '../format.ts';
import { SessionPlot } from './SessionPlot.tsx';

interface Props {
  readonly api: NotesApi;
  readonly sync: SyncState | null;
  readonly syncError: string | null;
  readonly onRefresh: () => void;
}

const HEX = '0123456789abcdef';

/** Identifies a session in the log (sessions have no id). */
const sessionKey = (s: SessionSummary): string => `${s.startedAt}/${s.peer}/${s.role}`;

export function DebugPanel({ api, sync, syncError, onRefresh }: Props) {
  const [running, setRunning] = useState(false);
  /** The session the heatmap shows; null: the latest. */
  const [picked, setPicked] = useState<string | null>(null);
  const [result, setResult] = useState<{ text: string; ok: boolean } | null>(null);

  const syncNow = async (): Promise<void> => {
    setRunning(true);
    setResult(null);
    try {
      const sessions = await api.syncNow();
      const failed = sessions.filter((s) => !s.ok);
      const got = sessions.reduce((a, s) => a + s.recordsReceived, 0);
      const sent = sessions.reduce((a, s) => a + s.recordsSent, 0);
      setResult({
        ok: failed.length === 0,
        text: sessions.length === 0
          ? 'No connected peer to sync with.'
          : `${sessions.length} session${sessions.length === 1 ? '' : 's'}: ${got} records received, ${sent} sent${failed.length ? `, ${failed.length} failed (${failed.map((f) => f.error).join('; ')})` : ''}.`,
      });
      onRefresh();
    } catch (e) {
      setResult({ ok: false, text: `Sync failed: ${errorMessage(e)}` });
    } finally {
      setRunning(false);
    }
  };

  return (
    <section className="panel debug-panel" aria-labelledby="debug-heading" data-testid="debug-panel">
      <header className="panel-header row-between">
        <div>
          <h1 id="debug-heading">Sync debug</h1>
          <p className="muted">Live state of the sync engine on this device. Updates as it changes.</p>
        </div>
        <div className="sync-now">
          <button type="button" className="btn primary" data-testid="sync-now" disabled={running || !sync} onClick={() => void syncNow()}>
            {running ? 'Syncing…' : 'Sync now'}
          </button>
          {result && <p className={`small ${result.ok ? 'success' : 'error'}`} role="status" data-testid="sync-now-result">{result.text}</p>}
        </div>
      </header>
      {syncError && <p className="error" role="alert">{syncError}</p>}
      {!sync && !syncError && <p className="muted">Loading…</p>}
      {sync && (
        <div className="debug-grid">
          <SelfSection sync={sync} />
          <GossipSection sync={sync} />
          <PathsSection sync={sync} />
          <PeersSection sync={sync} />
          <MerkleSection sync={sync} picked={picked} />
          <SessionsSection sync={sync} picked={picked} onPick={setPicked} />
        </div>
      )}
    </section>
  );
}

function SelfSection({ sync }: { sync: SyncState }) {
  return (
    <section className="card" aria-labelledby="dbg-self" data-testid="debug-self">
      <h2 id="dbg-self">This device</h2>
      <dl className="kv">
        <dt>Name</dt><dd data-testid="debug-device-name">{sync.device.name}</dd>
        <dt>Peer id</dt><dd><code className="wrap" data-testid="debug-peer-id">{sync.peerId}</code></dd>
        <dt>Device (replica)</dt><dd><code>{sync.replicaId}</code></dd>
        <dt>Vault</dt><dd><code data-testid="debug-vault-id">{sync.vaultId}</code></dd>
        <dt>Addresses</dt>
        <dd>
          {sync.addresses.length === 0 ? <span className="muted">not listening</span> : (
            <ul className="addresses">{sync.addresses.map((a) => <li key={a}><code className="wrap">{a}</code></li>)}</ul>
          )}
        </dd>
        <dt>Port</dt>
        <dd data-testid="debug-port">
          {sync.network.port ?? 'none'}
          {sync.network.portFellBack && <span className="muted small"> (the remembered port was taken; this one is remembered now)</span>}
        </dd>
        <dt>mDNS</dt><dd data-testid="debug-mdns">{sync.network.mdns ? 'running' : 'off'}</dd>
        <dt>Interfaces</dt>
        <dd>
          <ul className="addresses" data-testid="debug-interfaces">
            {sync.network.interfaces.map((i) => <li key={`${i.name}/${i.address}`}><code>{i.name}</code> {i.address}{i.internal ? <span className="muted small"> (this machine only)</span> : null}</li>)}
          </ul>
        </dd>
      </dl>
    </section>
  );
}

function GossipSection({ sync }: { sync: SyncState }) {
  const g = sync.gossip;
  const rejected = Object.entries(sync.rejected).filter(([, n]) => n > 0);
  return (
    <section className="card" aria-labelledby="dbg-gossip" data-testid="debug-gossip">
      <h2 id="dbg-gossip">Gossip mesh</h2>
      <p className="muted small">Topic <code className="wrap">{g.topic}</code></p>
      <div className="stats">
        <Stat label="Topic peers" value={g.topicPeers} testId="gossip-topic-peers" />
        <Stat label="Mesh peers" value={g.meshPeers} testId="gossip-mesh-peers" />
        <Stat label="Messages in" value={g.messagesIn} testId="gossip-in" />
        <Stat label="Messages out" value={g.messagesOut} testId="gossip-out" />
        <Stat label="Rejected" value={g.rejected} testId="gossip-rejected" warn={g.rejected > 0} />
        <Stat label="Duplicates" value={g.duplicates} testId="gossip-duplicates" />
        <Stat label="Not stored" value={g.unstored} testId="gossip-unstored" warn={g.unstored > 0} />
      </div>
      <p className="small muted">
        Malformed frames received:{' '}
        {rejected.length === 0 ? 'none' : rejected.map(([k, n]) => `${k} ${n}`).join(', ')}
      </p>
    </section>
  );
}

function Stat({ label, value, testId, warn }: { label: string; value: number | string; testId?: string; warn?: boolean }) {
  return (
    <div className={`stat${warn ? ' warn' : ''}`} data-testid={testId}>
      <div className="stat-value">{value}</div>
      <div className="stat-label">{label}</div>
    </div>
  );
}

function sessionText(s: SessionSummary): string {
  return s.ok ? `${s.mode}, ${s.roundTrips} RT, ${bytes(s.bytesSent + s.bytesReceived)}` : `failed: ${s.error ?? 'unknown error'}`;
}

const WATERMARK_HELP = 'Every change this device made up to that point is proven to be on that device: a sync with it ended with equal Merkle roots, or it acknowledged what it received. A note is "on" a device when all of its changes are covered.';

function PeersSection({ sync }: { sync: SyncState }) {
  return (
    <section className="card wide" aria-labelledby="dbg-peers" data-testid="debug-peers">
      <h2 id="dbg-peers">Peers <span className="muted">· {sync.peers.filter((p) => p.connected).length} of {sync.peers.length} connected</span></h2>
      {sync.peers.length === 0 ? <p className="muted">No peers known yet.</p> : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr><th scope="col">Peer</th><th scope="col">Connection</th><th scope="col">Why not syncing</th><th scope="col">Clock skew</th><th scope="col">Proven to hold</th><th scope="col">Last anti-entropy</th><th scope="col">Addresses</th></tr>
            </thead>
            <tbody>
              {sync.peers.map((p) => (
                <tr key={p.id} data-testid="debug-peer-row" data-peer-id={p.id}>
                  <td><span title={p.id} data-testid="debug-peer-name">{peerName(sync.peers, p.id)}</span>{p.replica && <div className="muted small" title="this peer's device (replica) id">device {shortId(p.replica, 4)}</div>}</td>
                  <td><span className={`pill ${p.connected ? 'ok' : 'off'}`}>{p.connected ? 'connected' : 'disconnected'}</span></td>
                  <td data-testid="debug-peer-problem" data-code={p.problem?.code ?? ''}>
                    {p.problem ? <span className="error" title={dateTime(p.problem.at)}>{p.problem.message}</span> : <span className="muted">{p.connected ? '' : 'not tried yet'}</span>}
                    {!p.connected && p.redial.nextAt !== null && <div className="muted small">next try {clockTime(p.redial.nextAt)} ({p.redial.attempts} so far)</div>}
                  </td>
                  <td title="How far ahead of our clock the peer's newest write was stamped">{skew(p.clockSkewMs)}</td>
                  <td data-testid="debug-peer-watermark" data-seq={p.watermark?.seq ?? ''} title={WATERMARK_HELP}>
                    <span className={p.watermark ? '' : 'muted'}>{watermarkText(p.watermark)}</span>
                  </td>
                  <td>
                    {p.lastSession ? (
                      <span className={p.lastSession.ok ? '' : 'error'} title={dateTime(p.lastSession.startedAt)}>
                        {timeAgo(p.lastSession.startedAt)} · {sessionText(p.lastSession)}
                      </span>
                    ) : <span className="muted">none yet</span>}
                  </td>
                  <td className="addr-cell">{p.addresses.length === 0 ? <span className="muted">none</span> : p.addresses.map((a) => <code key={a}>{a}</code>)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function latestSession(sync: SyncState): SessionSummary | null {
  let best: SessionSummary | null = null;
  for (const s of sync.sessions) if (!best || s.startedAt > best.startedAt) best = s;
  return best;
}

function MerkleSection({ sync, picked }: { sync: SyncState; picked: string | null }) {
  const last = (picked && sync.sessions.find((s) => sessionKey(s) === picked)) || latestSession(sync);
  const isLatest = last === latestSession(sync);
  const differing = new Set(last?.differingTop ?? []);
  const maxCount = Math.max(1, ...sync.merkle.top);
  return (
    <section className="card wide" aria-labelledby="dbg-merkle" data-testid="debug-merkle">
      <h2 id="dbg-merkle">Merkle tree</h2>
      <div className="table-wrap">
        <table className="table merkle-table">
          <thead><tr><th scope="col">Replica</th><th scope="col">Root prefix</th><th scope="col">Keys</th><th scope="col">Compared with ours</th></tr></thead>
          <tbody>
            <tr data-testid="merkle-own">
              <td>This device</td>
              <td><code data-testid="merkle-own-root">{sync.merkle.root}</code></td>
              <td>{sync.merkle.keys}</td>
              <td />
            </tr>
            {sync.peers.map((p) => <MerkleRow key={p.id} peer={p} ours={sync.merkle} />)}
          </tbody>
        </table>
      </div>
      <h3 className="heatmap-title">
        Top-level subtrees{' '}
        <span className="muted small">
          {last ? `${isLatest ? 'last session' : 'session'} ${clockTime(last.startedAt)} with ${peerName(sync.peers, last.peer)} (${last.mode}): ${differing.size} of 16 differed` : 'no session yet'}
        </span>
      </h3>
      <div className="heatmap" role="list" aria-label="Top-level subtrees: our key count, and whether the last session found it different" data-testid="merkle-heatmap">
        {sync.merkle.top.map((count, i) => {
          const differs = differing.has(i);
          const level = Math.ceil((count / maxCount) * 4);
          return (
            <div
              key={i}
              role="listitem"
              className={`cell level-${level}${differs ? ' differs' : ''}`}
              data-testid="heatmap-cell"
              data-differs={differs}
              title={`Subtree ${HEX[i]}: ${count} keys here${differs ? ', differed in the last session' : ''}`}
            >
              <span className="cell-nibble">{HEX[i]}</span>
              <span className="cell-count">{count}</span>
              <span className="visually-hidden">{differs ? 'differed' : 'same'}</span>
            </div>
          );
        })}
      </div>
      <p className="muted small legend">
        <span className="key key-differs" aria-hidden="true" /> differed in that session · shade: our key count in that subtree (now)
      </p>
    </section>
  );
}

function MerkleRow({ peer, ours }: { peer: PeerState; ours: SyncState['merkle'] }) {
  const m = peer.merkle;
  const same = m !== null && m.digest === ours.root && m.count === ours.keys;
  return (
    <tr data-testid="merkle-peer" data-peer-id={peer.id}>
      <td><span title={peer.id}>{peer.name ?? shortId(peer.id)}</span></td>
      <td><code>{m ? m.digest : '—'}</code></td>
      <td>{m ? m.count : '—'}</td>
      <td>
        {m === null ? <span className="muted">not reported yet</span> : (
          <span className={`pill ${same ? 'ok' : 'warn'}`} data-testid="merkle-compare" data-same={same}>{same ? 'same root' : `differs (${m.count - ours.keys >= 0 ? '+' : ''}${m.count - ours.keys} keys)`}</span>
        )}
        {m !== null && peer.lastSession && <div className="muted small">as it reported at {clockTime(peer.lastSession.startedAt)} (its last session)</div>}
      </td>
    </tr>
  );
}

function PathsSection({ sync }: { sync: SyncState }) {
  const entries = Object.entries(sync.paths) as [string, number][];
  const max = Math.max(1, ...entries.map(([, n]) => n));
  return (
    <section className="card" aria-labelledby="dbg-paths" data-testid="debug-paths">
      <h2 id="dbg-paths">Records by path</h2>
      <p className="muted small">Records that changed this replica, by how they arrived; <em>merge</em>: written here to join concurrent edits of a note (automatic 3-way merge).</p>
      <dl className="bars">
        {entries.map(([path, n]) => (
          <div key={path} className="bar-row" data-testid={`path-${path}`}>
            <dt>{path}</dt>
            <dd>
              <meter min={0} max={max} value={n} aria-label={`${path}: ${n} records`} />
              <span className="bar-value">{n}</span>
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function SessionsSection({ sync, picked, onPick }: { sync: SyncState; picked: string | null; onPick: (key: string | null) => void }) {
  const sessions = [...sync.sessions].sort((a, b) => b.startedAt - a.startedAt);
  const shown = picked ?? (sessions[0] ? sessionKey(sessions[0]) : null);
  return (
    <section className="card wide" aria-labelledby="dbg-sessions" data-testid="debug-sessions">
      <h2 id="dbg-sessions">Anti-entropy sessions <span className="muted">· last {sessions.length}</span></h2>
      {sessions.length > 0 && <p className="muted small">Pick a session&apos;s time to show its differing subtrees in the heatmap above.</p>}
      <SessionPlot sessions={sync.sessions} />
      {sessions.length > 0 && (
        <div className="table-wrap sessions-wrap">
          <table className="table sessions-table">
            <thead>
              <tr>
                <th scope="col">Time</th><th scope="col">Peer</th><th scope="col">Mode</th><th scope="col">Role</th>
                <th scope="col" className="num">Round trips</th><th scope="col" className="num">Bytes out / in</th>
                <th scope="col" className="num">Records out / in</th><th scope="col" className="num">Subtrees</th>
                <th scope="col" className="num">Duration</th><th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((s, i) => (
                <tr key={`${sessionKey(s)}-${i}`} data-testid="session-row" data-ok={s.ok} data-mode={s.mode} className={`${s.ok ? '' : 'failed'}${shown === sessionKey(s) ? ' picked' : ''}`}>
                  <td title={dateTime(s.startedAt)}>
                    <button type="button" className="link" aria-pressed={shown === sessionKey(s)} onClick={() => onPick(i === 0 ? null : sessionKey(s))}>{clockTime(s.startedAt)}</button>
                  </td>
                  <td><span title={s.peer}>{peerName(sync.peers, s.peer, 4)}</span></td>
                  <td>{s.mode}</td>
                  <td>{s.role}</td>
                  <td className="num">{s.roundTrips}</td>
                  <td className="num">{bytes(s.bytesSent)} / {bytes(s.bytesReceived)}</td>
                  <td className="num">{s.recordsSent} / {s.recordsReceived}</td>
                  <td className="num" title={s.differingTop.map((n) => HEX[n]).join(' ')}>{s.differingTop.length}</td>
                  <td className="num">{duration(s.durationMs)}</td>
                  <td>{s.ok ? <span className="pill ok">ok</span> : <span className="error" data-testid="session-error">{s.error ?? 'failed'}</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
