// The Electron IPC layer without Electron: the real handler table (app/electron/ipc.ts) over a
// real Host on a real SyncNode (SQLite file in a temp dir, libp2p on loopback), driven through a
// fake ipcMain with fake senders. Every refused call is checked to leave the store unchanged.
// The last suite loads the real preload bundle in a VM context with a fake `electron` module,
// so window.notesApi -> ipcRenderer.invoke -> handler -> Host is exercised end to end.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { after, before, describe, test } from 'node:test';
import type { ApiEvent, Note, NotesApi } from '../app/api.ts';
import { Host } from '../app/host.ts';
import { buildElectron } from '../app/electron/build.ts';
import { channelOf, EVENT_CHANNEL, OPERATIONS, type IpcResult, type Operation } from '../app/electron/channels.ts';
import { dispatch, forwardEvents, HANDLERS, isTrustedSender, registerIpc, type IpcMainLike, type SenderEvent, type SenderPolicy } from '../app/electron/ipc.ts';
import { isRendererUrl, RENDERER_URL } from '../app/electron/window-options.ts';
import { MAX_VALUE_BYTES } from '../engine/core/limits.ts';
import { SyncNode } from '../engine/sync-node.ts';

process.env.NOTES_LOG ??= 'silent';
const T = { timeout: 30_000 };
const dir = mkdtempSync(join(tmpdir(), 'electron-ipc-test-'));

// ---- a fake window, senders and ipcMain -----------------------------------------------------

interface FakeFrame { url: string }
interface FakeContents { mainFrame: FakeFrame; sent: { channel: string; args: unknown[] }[]; destroyed: boolean }

function contents(url = RENDERER_URL): FakeContents {
  return { mainFrame: { url }, sent: [], destroyed: false };
}

let mainWindow: FakeContents | null = contents();
const policy: SenderPolicy = { webContents: () => mainWindow, isOwnUrl: isRendererUrl };
const trusted = (): SenderEvent => ({ sender: mainWindow, senderFrame: mainWindow!.mainFrame });

class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, (event: any, ...args: unknown[]) => Promise<unknown>>();
  handle(channel: string, listener: (event: any, ...args: unknown[]) => Promise<unknown>): void {
    assert.ok(!this.handlers.has(channel), `second handler for ${channel}`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  invoke(op: Operation, event: SenderEvent, ...args: unknown[]): Promise<IpcResult<any>> {
    const h = this.handlers.get(channelOf(op));
    assert.ok(h, `no handler for ${op}`);
    return h(event, ...args) as Promise<IpcResult<any>>;
  }
}

let nodeA: SyncNode;
let nodeB: SyncNode;
let host: Host;
const ipc = new FakeIpcMain();
let dispose: () => void;

before(async () => {
  const opts = { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, antiEntropyIntervalMs: 60_000 };
  nodeA = await SyncNode.start({ ...opts, dataDir: join(dir, 'a') });
  // B is in A's vault, so A can dial it (pnet refuses strangers).
  nodeB = await SyncNode.start({ ...opts, dataDir: join(dir, 'b'), join: nodeA.invite().code });
  host = new Host(nodeA.notes, nodeA);
  dispose = registerIpc(ipc, host, policy);
});

after(async () => {
  host?.close();
  await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/** Everything a refused call could have touched: the notes (with trash) and the Merkle root. */
async function snapshot(): Promise<string> {
  const [live, trashed, state] = await Promise.all([host.listNotes(), host.listNotes({ trashed: true }), host.syncState()]);
  return JSON.stringify({ live, trashed, root: state.merkle.root, keys: state.merkle.keys });
}

async function ok<T>(op: Operation, ...args: unknown[]): Promise<T> {
  const r = await ipc.invoke(op, trusted(), ...args);
  assert.ok(r.ok, `${op} failed: ${JSON.stringify(r)}`);
  return r.value as T;
}

async function refused(op: Operation, event: SenderEvent, args: unknown[], code: string, message?: RegExp): Promise<void> {
  const before = await snapshot();
  const r = await ipc.invoke(op, event, ...args);
  assert.equal(r.ok, false, `${op}(${JSON.stringify(args).slice(0, 80)}) was accepted`);
  if (!r.ok) {
    assert.equal(r.error.code, code, `${op}: ${r.error.message}`);
    assert.equal(typeof r.error.message, 'string');
    assert.ok(r.error.message.length > 0);
    if (message) assert.match(r.error.message, message);
    // Exactly {code, message}: nothing else (no stack, no paths) crosses to the renderer.
    assert.deepEqual(Object.keys(r.error).sort(), ['code', 'message']);
  }
  assert.equal(await snapshot(), before, `${op} refused but changed the store`);
}

// ---- tests ----------------------------------------------------------------------------------

describe('handler table', () => {
  test('one handler per NotesApi operation, on its own channel, and no other', () => {
    assert.deepEqual([...ipc.handlers.keys()].sort(), OPERATIONS.map((op) => `notes:${op}`).sort());
    assert.deepEqual(Object.keys(HANDLERS).sort(), [...OPERATIONS].sort());
    // subscribe is the only NotesApi method without an invoke channel (it is the event channel).
    const apiMethods = Object.getOwnPropertyNames(Host.prototype).filter((m) => m !== 'constructor' && m !== 'close' && !m.startsWith('emit') && m !== 'requireSync');
    assert.deepEqual(apiMethods.filter((m) => m !== 'subscribe').sort(), [...OPERATIONS].sort());
  });

  test('removing the handlers removes every one', () => {
    const other = new FakeIpcMain();
    const off = registerIpc(other, host, policy);
    assert.equal(other.handlers.size, OPERATIONS.length);
    off();
    assert.equal(other.handlers.size, 0);
  });
});

describe('sender check', () => {
  // One valid argument list per operation, so only the sender can be the reason for a refusal.
  const goodArgs: Record<Operation, unknown[]> = {
    listNotes: [], notesPage: [{ limit: 5 }], summaries: [['0123456789abcdef']], searchPage: ['x', { limit: 5 }], getNote: ['0123456789abcdef'], createNote: [{ title: 'x' }], saveNote: ['0123456789abcdef', { body: 'x' }],
    trashNote: ['0123456789abcdef'], restoreNote: ['0123456789abcdef'], search: ['x'], conflicts: [],
    resolve: ['0123456789abcdef', 'title', 'x'], invite: [], join: ['AAAAA'], addPeer: ['/ip4/127.0.0.1/tcp/1'], syncState: [], syncNow: [], renameDevice: ['laptop'], forgetDevice: ['12D3KooWabc'],
    pairingState: [], startPairing: ['invite'], requestPairing: ['12D3KooWabc'], answerPairing: ['12D3KooWabc', false], stopPairing: [],
    history: ['0123456789abcdef'], noteSync: ['0123456789abcdef'],
    importMarkdown: [{ root: 'r', files: [{ path: 'a.md', data: 'eA==', size: 1, modified: 1 }] }], exportMarkdown: [],
  };
  const otherWindow = contents();
  const foreign: [string, () => SenderEvent][] = [
    ['another window showing our page', () => ({ sender: otherWindow, senderFrame: otherWindow.mainFrame })],
    ['a subframe of our window', () => ({ sender: mainWindow, senderFrame: { url: RENDERER_URL } })],
    ['our window navigated to a web page', () => ({ sender: mainWindow, senderFrame: mainWindow!.mainFrame })],
    ['a frame that is gone (senderFrame null)', () => ({ sender: mainWindow, senderFrame: null })],
  ];

  for (const op of OPERATIONS) {
    test(`${op} refuses every foreign sender with E_FORBIDDEN_SENDER`, T, async () => {
      for (const [label, event] of foreign) {
        const navigated = label.includes('navigated');
        if (navigated) mainWindow!.mainFrame.url = 'https://evil.example/index.html';
        try {
          await refused(op, event(), goodArgs[op], 'E_FORBIDDEN_SENDER', /only the LAN Notes window/);
        } finally {
          mainWindow!.mainFrame.url = RENDERER_URL;
        }
      }
    });
  }

  test('with no window open, nothing is trusted', T, async () => {
    const saved = mainWindow;
    const event = trusted();
    mainWindow = null;
    try {
      await refused('createNote', event, [{ title: 'ghost' }], 'E_FORBIDDEN_SENDER');
    } finally {
      mainWindow = saved;
    }
  });

  test('the same window and frame are recognised by their ids, whichever wrapper object Electron passes', () => {
    const wc = { id: 7, mainFrame: { url: RENDERER_URL, processId: 3, routingId: 1 } };
    const p: SenderPolicy = { webContents: () => wc, isOwnUrl: isRendererUrl };
    const frame = (processId: number, routingId: number, url = RENDERER_URL) => ({ url, processId, routingId });
    assert.equal(isTrustedSender({ sender: { id: 7 }, senderFrame: frame(3, 1) }, p), true);
    assert.equal(isTrustedSender({ sender: { id: 8 }, senderFrame: frame(3, 1) }, p), false, 'another window');
    assert.equal(isTrustedSender({ sender: { id: 7 }, senderFrame: frame(3, 2) }, p), false, 'a subframe');
    assert.equal(isTrustedSender({ sender: { id: 7 }, senderFrame: frame(4, 1) }, p), false, 'another process');
    assert.equal(isTrustedSender({ sender: { id: 7 }, senderFrame: frame(3, 1, 'https://evil.example/') }, p), false, 'another page');
    assert.equal(isTrustedSender({ sender: {}, senderFrame: { url: RENDERER_URL } }, p), false, 'no ids, not the same objects');
  });

  test('URLs that only look like ours are not ours', () => {
    for (const url of ['file:///app/notes/index.html', 'app://notes.evil/index.html', 'app://evil/notes/index.html', 'https://notes/index.html', 'app://user@notes/index.html', 'app://notes:8080/index.html', 'not a url']) {
      assert.equal(isTrustedSender({ sender: mainWindow, senderFrame: { url } }, { webContents: () => ({ mainFrame: { url } }), isOwnUrl: isRendererUrl }), false, url);
    }
    assert.equal(isRendererUrl(`${RENDERER_URL}#/notes/1`), true);
  });
});

describe('payload validation', () => {
  const id = '0123456789abcdef';
  const big = 'x'.repeat(MAX_VALUE_BYTES + 1);
  const cases: [Operation, unknown[], string, RegExp?][] = [
    ['listNotes', ['yes'], 'E_INVALID_VALUE', /object/],
    ['listNotes', [{ trashed: 'yes' }], 'E_INVALID_VALUE', /trashed/],
    ['listNotes', [{ deleted: true }], 'E_INVALID_VALUE', /unknown field "deleted"/],
    ['listNotes', [{}, {}], 'E_INVALID_VALUE', /0 to 1 argument/],
    ['notesPage', ['yes'], 'E_INVALID_VALUE', /object/],
    ['notesPage', [{ limit: 0 }], 'E_INVALID_LIMIT', /1 to 1000/],
    ['notesPage', [{ limit: 1001 }], 'E_INVALID_LIMIT'],
    ['notesPage', [{ limit: '5' }], 'E_INVALID_LIMIT'],
    ['notesPage', [{ cursor: 5 }], 'E_INVALID_CURSOR'],
    ['notesPage', [{ cursor: 'not-a-cursor!' }], 'E_INVALID_CURSOR', /invalid cursor/],
    ['notesPage', [{ page: 2 }], 'E_INVALID_VALUE', /unknown field "page"/],
    ['summaries', [], 'E_INVALID_VALUE', /takes 1 argument/],
    ['summaries', ['abc'], 'E_INVALID_VALUE', /list of note ids/],
    ['summaries', [[42]], 'E_INVALID_VALUE', /must be a string/],
    ['summaries', [Array.from({ length: 1001 }, () => id)], 'E_INVALID_LIMIT'],
    ['searchPage', [5], 'E_INVALID_VALUE', /search text/],
    ['searchPage', ['x', { limit: -1 }], 'E_INVALID_LIMIT'],
    ['searchPage', ['x', { cursor: 'zzzz' }], 'E_INVALID_CURSOR'],
    ['getNote', [], 'E_INVALID_VALUE', /takes 1 argument/],
    ['getNote', [42], 'E_INVALID_VALUE', /note id must be a string/],
    ['getNote', [''], 'E_INVALID_VALUE', /empty/],
    ['getNote', ['a'.repeat(257)], 'E_INVALID_VALUE', /longer than/],
    ['getNote', [id, 'extra'], 'E_INVALID_VALUE', /takes 1 argument, got 2/],
    ['createNote', ['title'], 'E_INVALID_VALUE', /object/],
    ['createNote', [['title']], 'E_INVALID_VALUE', /object/],
    ['createNote', [null], 'E_INVALID_VALUE', /object/],
    ['createNote', [{ title: 5 }], 'E_INVALID_VALUE', /title must be a string/],
    ['createNote', [{ title: 'a', color: 'red' }], 'E_INVALID_VALUE', /unknown field "color"/],
    ['createNote', [{ body: big }], 'E_VALUE_TOO_LARGE'],
    ['createNote', [new Date()], 'E_INVALID_VALUE', /object/],
    ['saveNote', [id], 'E_INVALID_VALUE', /takes 2 arguments/],
    ['saveNote', [id, { body: null }], 'E_INVALID_VALUE', /body must be a string/],
    ['saveNote', [7, { body: 'x' }], 'E_INVALID_VALUE', /note id/],
    ['saveNote', [id, { title: big }], 'E_VALUE_TOO_LARGE'],
    ['saveNote', [id, { body: 'x', base: 5 }], 'E_INVALID_BASE', /rev string/],
    ['saveNote', [id, { body: 'x', base: 'x'.repeat(5000) }], 'E_INVALID_BASE'],
    ['history', [], 'E_INVALID_VALUE', /takes 1 argument/],
    ['history', [5], 'E_INVALID_VALUE', /note id/],
    ['noteSync', [], 'E_INVALID_VALUE', /takes 1 argument/],
    ['noteSync', [5], 'E_INVALID_VALUE', /note id/],
    ['trashNote', [], 'E_INVALID_VALUE'],
    ['trashNote', [{ id }], 'E_INVALID_VALUE', /note id must be a string/],
    ['restoreNote', [null], 'E_INVALID_VALUE'],
    ['search', [], 'E_INVALID_VALUE'],
    ['search', [{ q: 'x' }], 'E_INVALID_VALUE', /search text must be a string/],
    ['search', ['x'.repeat(5000)], 'E_INVALID_VALUE', /longer than/],
    ['conflicts', ['all'], 'E_INVALID_VALUE', /takes 0 arguments/],
    ['resolve', [id, 'color', 'x'], 'E_INVALID_VALUE', /field must be "title" or "body"/],
    ['resolve', [id, 'title', 5], 'E_INVALID_VALUE', /value must be a string/],
    ['resolve', [id, 'title'], 'E_INVALID_VALUE', /takes 3 arguments/],
    ['resolve', [id, 'body', big], 'E_VALUE_TOO_LARGE'],
    ['invite', [true], 'E_INVALID_VALUE'],
    ['join', [], 'E_INVALID_VALUE'],
    ['join', [12345], 'E_INVALID_VALUE', /invite code must be a string/],
    ['addPeer', [''], 'E_INVALID_VALUE', /multiaddr/],
    ['addPeer', [['/ip4/1.2.3.4']], 'E_INVALID_VALUE'],
    ['syncState', [1], 'E_INVALID_VALUE'],
    ['syncNow', [{}], 'E_INVALID_VALUE'],
    ['renameDevice', [''], 'E_INVALID_VALUE', /empty/],
    ['renameDevice', [{ name: 'x' }], 'E_INVALID_VALUE'],
    ['forgetDevice', [5], 'E_INVALID_VALUE'],
    ['forgetDevice', [], 'E_INVALID_VALUE'],
    ['pairingState', [1], 'E_INVALID_VALUE'],
    ['startPairing', ['both'], 'E_INVALID_VALUE', /mode must be/],
    ['requestPairing', [null], 'E_INVALID_VALUE'],
    ['answerPairing', ['12D3KooWabc', 'yes'], 'E_INVALID_VALUE', /accept must be true or false/],
    ['stopPairing', [1], 'E_INVALID_VALUE'],
    ['importMarkdown', [], 'E_INVALID_VALUE', /takes 1 argument/],
    ['importMarkdown', [[]], 'E_INVALID_VALUE', /batch/],
    ['importMarkdown', [{ root: 'r' }], 'E_INVALID_VALUE', /files must be an array/],
    ['importMarkdown', [{ root: 'a/b', files: [] }], 'E_INVALID_VALUE', /root/],
    ['importMarkdown', [{ root: 'r', files: [{ path: 'a.md', data: 'not base64!', size: 1, modified: 1 }] }], 'E_INVALID_VALUE', /base64/],
    ['importMarkdown', [{ root: 'r', files: [{ path: 'a.md', data: 'eA==', size: 1, modified: 1 }, { path: 'b.md', size: -1, modified: 1 }] }], 'E_INVALID_VALUE', /size/],
    ['importMarkdown', [{ root: 'r', files: [{ path: 'a.md', size: 1, modified: 1, mode: 7 }] }], 'E_INVALID_VALUE', /unknown field "mode"/],
    ['exportMarkdown', [{ trash: 'yes' }], 'E_INVALID_VALUE', /trash/],
    ['exportMarkdown', [{ all: true }], 'E_INVALID_VALUE', /unknown field "all"/],
  ];

  before(async () => {
    // Something in the store, so "unchanged" is not trivially true.
    await ok('createNote', { title: 'Existing', body: 'kept as it is' });
  });

  for (const [op, args, code, message] of cases) {
    const shown = JSON.stringify(args, (_k, v) => (typeof v === 'string' && v.length > 40 ? `<${v.length} chars>` : v));
    test(`${op}(${shown.slice(1, -1)}) -> ${code}`, T, async () => {
      await refused(op, trusted(), args, code, message);
    });
  }

  test('every operation has at least one bad-payload case except the argument-free ones', () => {
    for (const op of OPERATIONS) assert.ok(cases.some(([o]) => o === op), `no bad payload tested for ${op}`);
  });

  test('engine refusals keep their codes: E_NOT_FOUND, E_INVALID_INVITE', T, async () => {
    await refused('getNote', trusted(), ['ffffffffffffffff'], 'E_NOT_FOUND');
    await refused('noteSync', trusted(), ['ffffffffffffffff'], 'E_NOT_FOUND');
    await refused('saveNote', trusted(), ['ffffffffffffffff', { body: 'x' }], 'E_NOT_FOUND');
    await refused('join', trusted(), ['NOT-A-CODE'], 'E_INVALID_INVITE');
  });

  test('a bug reaches the renderer only as E_INTERNAL, never its message', T, async () => {
    const broken = { listNotes: async () => { throw new TypeError('/home/me/secret/path exploded'); } } as unknown as NotesApi;
    const r = await dispatch(broken, policy, 'listNotes', trusted(), []);
    assert.deepEqual(r, { ok: false, error: { code: 'E_INTERNAL', message: 'internal error; see the host log' } });
  });

  test('handlers never reject (Electron would flatten the error to a string)', T, async () => {
    const throwing = new Proxy({}, { get: () => () => { throw new Error('sync throw'); } }) as NotesApi;
    for (const op of OPERATIONS) {
      const r = await dispatch(throwing, policy, op, trusted(), []);
      assert.equal(r.ok, false);
    }
  });
});

describe('good payloads reach the real Host', () => {
  let note: Note;

  test('createNote, getNote, saveNote (only the fields sent), listNotes', T, async () => {
    note = await ok<Note>('createNote', { title: 'Groceries', body: 'milk' });
    assert.equal(note.title, 'Groceries');
    assert.equal((await ok<Note>('getNote', note.id)).body, 'milk');
    const saved = await ok<Note>('saveNote', note.id, { body: 'milk, eggs' });
    assert.equal(saved.title, 'Groceries');
    assert.equal(saved.body, 'milk, eggs');
    const empty = await ok<Note>('createNote');
    assert.equal(empty.title, '');
    assert.ok((await ok<Note>('createNote', undefined)).id);
    const list = await ok<{ id: string }[]>('listNotes');
    assert.ok(list.some((n) => n.id === note.id));
    assert.ok((await ok<{ id: string }[]>('listNotes', { trashed: false })).some((n) => n.id === note.id));
    assert.ok((await ok<{ id: string }[]>('listNotes', undefined)).some((n) => n.id === note.id));
    // Paged: two notes on the first page of one, the rest after its cursor.
    const first = await ok<{ notes: { id: string }[]; next: string }>('notesPage', { limit: 1 });
    assert.equal(first.notes.length, 1);
    const rest = await ok<{ notes: { id: string }[]; next: string | null }>('notesPage', { limit: 1000, cursor: first.next });
    assert.deepEqual([...first.notes, ...rest.notes].map((n) => n.id).sort(), list.map((n) => n.id).sort());
    assert.equal(rest.next, null);
    const [summary] = await ok<{ id: string; title: string }[]>('summaries', [note.id]);
    assert.equal(summary.title, 'Groceries');
  });

  test('trashNote, restoreNote, search, conflicts, resolve', T, async () => {
    assert.equal((await ok<Note>('trashNote', note.id)).trashed, true);
    assert.ok((await ok<{ id: string }[]>('listNotes', { trashed: true })).some((n) => n.id === note.id));
    assert.equal((await ok<Note>('restoreNote', note.id)).trashed, false);
    const hits = await ok<{ id: string }[]>('search', 'egg');
    assert.deepEqual(hits.map((h) => h.id), [note.id]);
    assert.deepEqual(await ok('searchPage', 'egg', { limit: 1 }), { hits, next: null });
    assert.deepEqual(await ok('conflicts'), []);
    assert.equal((await ok<Note>('resolve', note.id, 'title', 'Shopping')).title, 'Shopping');
  });

  test('invite, addPeer, syncNow, syncState, join', T, async () => {
    const invite = await ok<{ code: string; addresses: string[] }>('invite');
    assert.match(invite.code, /^[0-9A-Z]{5}(-[0-9A-Z]{1,5})+$/);
    assert.equal(await ok('addPeer', nodeB.addresses()[0]), undefined);
    const state = await ok<{ peers: { id: string; connected: boolean }[] }>('syncState');
    assert.ok(state.peers.some((p) => p.id === nodeB.peerId && p.connected));
    // The connection itself starts a session; syncNow answers [] while that one is still running.
    let sessions: { peer: string; ok: boolean }[] = [];
    for (const end = Date.now() + 10_000; Date.now() < end && !sessions.some((s) => s.peer === nodeB.peerId && s.ok);) {
      sessions = await ok('syncNow');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(sessions.some((s) => s.peer === nodeB.peerId && s.ok), JSON.stringify(sessions));
    // Joining our own vault's invite is allowed and changes nothing but the dial attempts.
    const joined = await ok<{ vaultId: string }>('join', invite.code);
    assert.equal(joined.vaultId, nodeA.vaultId);
  });
});

describe('events', () => {
  test('ApiEvents go to the window on the event channel, not to a destroyed one, and stop on unsubscribe', T, async () => {
    const target = contents();
    let current: FakeContents | null = target;
    const off = forwardEvents(host, () => (current === null ? null : { isDestroyed: () => current!.destroyed, send: (channel, ...args) => current!.sent.push({ channel, args }) }));
    try {
      const n = await host.createNote({ title: 'evented' });
      assert.ok(target.sent.some((m) => m.channel === EVENT_CHANNEL && (m.args[0] as ApiEvent).type === 'notes-changed' && ((m.args[0] as { ids: string[] }).ids.includes(n.id))));
      const count = target.sent.length;
      target.destroyed = true;
      await host.saveNote(n.id, { body: 'nobody listening' });
      current = null;
      await host.saveNote(n.id, { body: 'no window at all' });
      assert.equal(target.sent.length, count);
      target.destroyed = false;
      current = target;
      off();
      await host.saveNote(n.id, { body: 'unsubscribed' });
      assert.equal(target.sent.length, count);
    } finally {
      off();
    }
  });
});

describe('preload bundle (dist/electron/preload.cjs) in a VM with a fake electron', () => {
  let exposed: Record<string, unknown>;
  let api: NotesApi;
  let fire: (event: ApiEvent) => void;
  const required: string[] = [];

  before(async () => {
    const out = mkdtempSync(join(dir, 'bundle-'));
    const { preload } = await buildElectron(out);
    const code = readFileSync(preload, 'utf8');
    const onListeners: ((e: unknown, payload: ApiEvent) => void)[] = [];
    const fakeElectron = {
      contextBridge: {
        exposeInMainWorld(key: string, value: Record<string, unknown>) {
          assert.equal(key, 'notesApi');
          exposed = value;
        },
      },
      ipcRenderer: {
        // What Electron does: the main process's handler runs with the window as sender.
        invoke: (channel: string, ...args: unknown[]) => {
          const op = channel.replace(/^notes:/, '') as Operation;
          assert.ok(OPERATIONS.includes(op), `preload used unknown channel ${channel}`);
          return ipc.invoke(op, trusted(), ...structuredClone(args));
        },
        on: (channel: string, l: (e: unknown, payload: ApiEvent) => void) => {
          assert.equal(channel, EVENT_CHANNEL);
          onListeners.push(l);
        },
      },
    };
    const module = { exports: {} };
    runInNewContext(code, {
      require: (name: string) => {
        required.push(name);
        if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`);
        return fakeElectron;
      },
      module, exports: module.exports, console,
    }, { filename: preload });
    api = exposed as unknown as NotesApi;
    fire = (event) => {
      for (const l of onListeners) l({}, event);
    };
  });

  test('requires only electron and exposes exactly the NotesApi methods, all functions', () => {
    assert.deepEqual([...new Set(required)], ['electron']);
    assert.deepEqual(Object.keys(exposed).sort(), [...OPERATIONS, 'subscribe'].sort());
    for (const v of Object.values(exposed)) assert.equal(typeof v, 'function');
    assert.ok(!('invoke' in exposed) && !('ipcRenderer' in exposed));
  });

  test('window.notesApi round-trips to the Host, and rejects with a plain {code, message}', T, async () => {
    const n = await api.createNote({ title: 'via preload', body: 'hello' });
    assert.equal((await api.getNote(n.id)).body, 'hello');
    assert.equal((await api.saveNote(n.id, { title: 'renamed' })).title, 'renamed');
    assert.ok((await api.listNotes()).some((s) => s.id === n.id));
    await assert.rejects(api.getNote('ffffffffffffffff'), (e: unknown) => {
      // Spread: the object comes from the VM's realm, as it would from the preload's world.
      assert.deepEqual({ ...(e as object) }, { code: 'E_NOT_FOUND', message: 'no note with id ffffffffffffffff' });
      return true;
    });
    await assert.rejects(api.saveNote(n.id, { title: 3 } as never), { code: 'E_INVALID_VALUE' });
  });

  test('subscribe delivers events until its own unsubscribe', () => {
    const seen: string[] = [];
    const listener = (e: ApiEvent) => seen.push(e.type);
    const off1 = api.subscribe(listener);
    const off2 = api.subscribe(listener);
    fire({ type: 'notes-changed', ids: ['a'], origin: 'gossip' });
    assert.deepEqual(seen, ['notes-changed', 'notes-changed']);
    off1();
    fire({ type: 'notes-changed', ids: ['b'], origin: 'gossip' });
    assert.equal(seen.length, 3);
    off2();
    fire({ type: 'notes-changed', ids: ['c'], origin: 'gossip' });
    assert.equal(seen.length, 3);
  });
});

after(() => dispose?.());
