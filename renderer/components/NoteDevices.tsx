// The open note's footer line about its copies: each paired device by name, with "has this
// version · verified 2 min ago" or the engine's reason it is not proven to (offline since T,
// behind by N changes, last sync failed). Asked from the host (api.noteSync) when the note opens,
// after it changes, and after sync sessions (sync-state events), at most once a second.

import { useEffect, useRef, useState } from 'react';
import type { DeviceHold, NotesApi } from '../../app/api.ts';
import { dateTime, errorMessage, holdText, readableTimes, shortId } from '../format.ts';
import { throttle, type Throttled } from '../throttle.ts';

/** Refetches at most this often: sync-state events come up to 4 a second during a transfer. */
const REFRESH_MS = 1000;
/** "verified 2 min ago" is re-rendered this often even when nothing arrives. */
const TICK_MS = 15_000;

interface Props {
  readonly api: NotesApi;
  readonly id: string;
  /** Counts sync-state events: a session may have proven that a device holds the note now. */
  readonly syncSeq: number;
  /** Counts changes of this note: a new version is held by no device until a sync proves it. */
  readonly noteSeq: number;
}

export function NoteDevices({ api, id, syncSeq, noteSeq }: Props) {
  const [devices, setDevices] = useState<readonly DeviceHold[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());

  // One throttled fetcher per note, asked at once; answers for a note no longer shown are dropped.
  const fetcher = useRef<Throttled | null>(null);
  useEffect(() => {
    let live = true;
    // Answers may overtake each other: only the newest request's is shown.
    let asked = 0;
    const run = throttle(() => {
      const mine = ++asked;
      api.noteSync(id).then((s) => {
        if (!live || mine !== asked) return;
        setDevices(s.devices);
        setError(null);
        setNow(Date.now());
      }, (e) => live && mine === asked && setError(errorMessage(e)));
    }, REFRESH_MS);
    fetcher.current = run;
    run();
    return () => {
      live = false;
      run.cancel();
      fetcher.current = null;
    };
  }, [api, id]);
  useEffect(() => fetcher.current?.(), [syncSeq, noteSeq]);

  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), TICK_MS);
    return () => clearInterval(t);
  }, []);

  // No paired device: nothing to prove, nothing to show.
  if (error === null && (devices === null || devices.length === 0)) return null;
  return (
    <div className="note-devices-foot" data-testid="note-devices-foot" aria-label="Which paired devices hold this note">
      {error !== null ? <span className="error small">Could not tell which devices hold this note: {error}</span> : devices!.map((d) => (
        <span key={d.device} className={`note-device ${d.holds ? 'holds' : 'not-held'}`} data-testid="note-device" data-peer-id={d.device} data-holds={d.holds} title={d.verifiedAt === null ? d.device : `${d.device}\nverified ${dateTime(d.verifiedAt)}`}>
          <span className="dot" aria-hidden="true" />
          <strong data-testid="note-device-name">{d.name ?? shortId(d.device)}</strong>: <span data-testid="note-device-state" title={d.reason ?? undefined}>{readableTimes(holdText(d, now), now)}</span>
        </span>
      ))}
    </div>
  );
}
