// Markdown import and export on real SQLite stores: an Obsidian-like folder (nested folders, front
// matter, headings, Unicode names, a Latin-1 file, an oversized file, a hidden settings folder, the
// trash) gives the expected report and notes; re-importing creates no duplicates; export then
// import into an empty vault gives the same notes, and exporting that vault gives the same files
// byte for byte; pending conflicts leave as extra files; a failed batch writes nothing.

import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, describe, test } from 'node:test';
import { MAX_VALUE_BYTES } from '../engine/core/limits.ts';
import type { CommitBatch } from '../engine/store/store.ts';
import { importFiles } from '../engine/markdown/importer.ts';
import { exportFiles, exportFolder, importFolder } from '../engine/markdown/vault-folder.ts';
import { Notes, notesIndexer, type Note } from '../engine/notes.ts';
import { Replica } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { syncPair } from '../engine/sync-pair.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'obsidian-vault');
const tmp = mkdtempSync(join(tmpdir(), 'md-import-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let seq = 0;
function vault(name: string, now?: () => number): Notes {
  const store = SqliteStore.open(join(tmp, `${name}-${seq++}.db`));
  return new Notes(Replica.open(store, { indexer: notesIndexer, now }));
}

const T0 = Date.UTC(2024, 2, 1, 12, 0, 0);
/** A copy of the fixture with fixed file times, plus files a repository should not hold. */
function vaultFolder(): string {
  const dir = join(tmp, `vault-${seq++}`, 'My Vault');
  cpSync(FIXTURE, dir, { recursive: true });
  // Larger than a note may be: refused with a reason, never truncated.
  writeFileSync(join(dir, 'Projects', 'Huge log.md'), `# Huge\n${'x'.repeat(MAX_VALUE_BYTES)}\n`);
  let i = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else utimesSync(full, new Date(T0 + i * 1000), new Date(T0 + 1000 * i++));
    }
  };
  walk(dir);
  return dir;
}

function all(notes: Notes): Note[] {
  return [...notes.list({ trashed: false }), ...notes.list({ trashed: true })].map((d) => notes.get(d.id)!).sort((a, b) => (a.id < b.id ? -1 : 1));
}

function byTitle(notes: Notes, title: string): Note {
  const n = all(notes).find((x) => x.title === title);
  assert.ok(n, `a note titled ${title}`);
  return n;
}

function readTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.set(relative(dir, full).split(sep).join('/'), readFileSync(full));
    }
  };
  walk(dir);
  return out;
}

describe('markdown import', () => {
  test('an Obsidian-like vault: the report and the notes', async () => {
    const dir = vaultFolder();
    const notes = vault('import');
    const progress: number[] = [];
    const report = await importFolder(notes, dir, (p) => progress.push(p.done));

    assert.deepEqual(report.skipped.map((s) => [s.path, s.reason]).sort(), [['Journal/Latin1.md', 'not-utf8'], ['Projects/Huge log.md', 'too-large']]);
    for (const s of report.skipped) assert.ok(s.message.length > 0);
    assert.deepEqual(report.files.map((f) => [f.path, f.title, f.status]), [
      ['.trash/Old idea.md', 'Old idea', 'created'],
      ['Broken front matter.md', 'Broken front matter', 'created'],
      ['Journal/With id.md', 'Keeps its id', 'created'],
      ['Journal/Été/Café.md', 'Café au lait ☕', 'created'],
      ['Projects/2024/Q1 plan.markdown', 'Q1 plan', 'created'],
      ['Projects/Roadmap.md', 'Roadmap 2024', 'created'],
      ['Welcome.md', 'Welcome to the vault', 'created'],
    ]);
    assert.equal(report.created, 7);
    assert.deepEqual(progress, [9], 'one batch of 9 Markdown files (attachments and .obsidian are not read)');

    const welcome = byTitle(notes, 'Welcome to the vault');
    assert.equal(welcome.body, '---\ntags: [start, meta]\naliases:\n  - Home\n  - Index\n---\n# Welcome\n\nLinks: [[Projects/Roadmap]] and [[Journal/Été/Café]].\n');
    assert.equal(welcome.created, Date.UTC(2023, 0, 5, 10, 20, 30));
    assert.equal(welcome.updated, Date.UTC(2023, 1, 1, 8, 0, 0, 500));
    assert.equal(welcome.folder, '');

    const cafe = byTitle(notes, 'Café au lait ☕');
    assert.equal(cafe.folder, 'Journal/Été');
    assert.equal(cafe.created, Date.UTC(2022, 11, 24));
    assert.ok(cafe.body.endsWith('Windows line endings.\r\n'));
    assert.ok(cafe.updated >= T0, 'no updated key: the file time');

    const roadmap = byTitle(notes, 'Roadmap 2024');
    assert.equal(roadmap.folder, 'Projects');
    assert.equal(roadmap.body, readFileSync(join(dir, 'Projects', 'Roadmap.md'), 'utf8'));
    assert.ok(roadmap.created >= T0 && roadmap.updated === roadmap.created, 'file times when the front matter has none');

    const q1 = byTitle(notes, 'Q1 plan');
    assert.equal(q1.folder, 'Projects/2024');
    assert.equal(q1.body, '---\nstatus: draft\n---\nPlain text, no heading, title from the file name.\n');

    assert.equal(byTitle(notes, 'Keeps its id').id, '0123456789abcdef');
    const old = byTitle(notes, 'Old idea');
    assert.equal(old.trashed, true);
    assert.equal(old.folder, '');
    assert.equal(byTitle(notes, 'Broken front matter').body, readFileSync(join(dir, 'Broken front matter.md'), 'utf8'));
    assert.equal(notes.list().length, 6, 'six live notes, one in the trash');
    assert.equal(notes.search('Unicode')[0]?.title, 'Café au lait ☕', 'imported notes are in the search index');
  });

  test('re-importing creates no duplicates; a newer file updates its note, an older one leaves a newer note alone', async () => {
    const dir = vaultFolder();
    const notes = vault('reimport');
    await importFolder(notes, dir);
    const before = all(notes);

    const again = await importFolder(notes, dir);
    assert.equal(again.created, 0);
    assert.equal(again.unchanged, 7);
    assert.deepEqual(all(notes), before);

    // Edited outside the app, after the import: its note follows.
    writeFileSync(join(dir, 'Projects', 'Roadmap.md'), '# Roadmap 2024\n\n- [x] ship import\n');
    const later = Date.now() + 60_000;
    utimesSync(join(dir, 'Projects', 'Roadmap.md'), new Date(later), new Date(later));
    // Edited in the app: newer than its (unchanged, older) file, so the file does not win.
    const welcome = byTitle(notes, 'Welcome to the vault');
    notes.save(welcome.id, { body: 'edited in the app' });

    const third = await importFolder(notes, dir);
    assert.deepEqual(third.files.filter((f) => f.status !== 'unchanged').map((f) => [f.path, f.status]).sort(), [
      ['Projects/Roadmap.md', 'updated'], ['Welcome.md', 'kept-newer'],
    ]);
    assert.equal(all(notes).length, before.length);
    assert.equal(byTitle(notes, 'Roadmap 2024').body, '# Roadmap 2024\n\n- [x] ship import\n');
    assert.equal(byTitle(notes, 'Roadmap 2024').updated, Math.floor(later));
    assert.equal(byTitle(notes, 'Welcome to the vault').body, 'edited in the app');
  });

  test('an imported update time holds until the note is edited, then the edit time counts', async () => {
    let wall = Date.UTC(2025, 5, 1);
    const notes = vault('updated', () => (wall += 5));
    await importFiles(notes, 'r', [{ path: 'a.md', bytes: new TextEncoder().encode('---\nupdated: 2020-01-01T00:00:00.000Z\n---\nx'), size: 0, modified: 1 }]);
    const [note] = all(notes);
    assert.equal(note.updated, Date.UTC(2020, 0, 1));
    assert.equal(notes.list()[0].updated, Date.UTC(2020, 0, 1), 'the list (document index) agrees');
    const before = wall;
    const edited = notes.save(note.id, { body: 'y' });
    // The edit's own stamp: read from the clock during the save.
    assert.ok(edited.updated > before && edited.updated <= wall, `updated ${edited.updated} within the save (${before}, ${wall}]`);
  });

  test('a title over the value limit skips its file, not the batch', async () => {
    const notes = vault('long-title');
    const enc = new TextEncoder();
    const report = await importFiles(notes, 'r', [
      { path: 'long.md', bytes: enc.encode(`---\ntitle: "${'t'.repeat(MAX_VALUE_BYTES + 1)}"\n---\nx`), size: MAX_VALUE_BYTES + 20, modified: 1 },
      { path: 'ok.md', bytes: enc.encode('# fine'), size: 6, modified: 1 },
    ]);
    assert.deepEqual(report.skipped.map((s) => [s.path, s.reason]), [['long.md', 'too-large']]);
    assert.equal(report.created, 1);
  });

  test('an unreadable file is skipped with the reason', async (t) => {
    if (process.getuid?.() === 0) {
      // Root reads anything, so a host reports the failure the way the folder reader would.
      const report = await importFiles(vault('unreadable'), 'r', [{ path: 'locked.md', size: 10, modified: 1, error: 'EACCES' }]);
      assert.deepEqual(report.skipped, [{ path: 'locked.md', reason: 'unreadable', message: 'could not be read: EACCES' }]);
      t.diagnostic('running as root: the folder reader cannot be denied a file, checked through the plan instead');
      return;
    }
    const dir = join(tmp, `locked-${seq++}`);
    cpSync(FIXTURE, dir, { recursive: true });
    chmodSync(join(dir, 'Welcome.md'), 0);
    const report = await importFolder(vault('unreadable'), dir);
    assert.deepEqual(report.skipped.filter((s) => s.reason === 'unreadable').map((s) => s.path), ['Welcome.md']);
  });

  test('a large folder goes in batches of 200 files, one transaction and one progress report each', async () => {
    const notes = vault('batches');
    const commits: number[] = [];
    notes.replica.onChange((e) => commits.push(e.records.length));
    const files = Array.from({ length: 450 }, (_, i) => async () => ({ path: `n${i}.md`, bytes: new TextEncoder().encode(`# N${i}\n`), size: 5, modified: 1_000 + i }));
    const progress: string[] = [];
    const report = await importFiles(notes, 'big', files, (p) => progress.push(`${p.done}/${p.total}`));
    assert.equal(report.created, 450);
    assert.deepEqual(progress, ['200/450', '400/450', '450/450']);
    assert.equal(commits.length, 3);
    assert.equal(notes.list().length, 450);
  });

  test('a batch that fails to commit writes nothing: no note is half imported', async () => {
    class FailingStore extends MemoryStore {
      fail = true;
      override commit(batch: CommitBatch): Uint8Array[] {
        if (this.fail && batch.puts.length > 0) throw new Error('disk full');
        return super.commit(batch);
      }
    }
    const store = new FailingStore();
    const notes = new Notes(Replica.open(store, { indexer: notesIndexer }));
    const files = ['a', 'b', 'c'].map((n) => ({ path: `${n}.md`, bytes: new TextEncoder().encode(`# ${n}\n`), size: 4, modified: 1 }));
    await assert.rejects(importFiles(notes, 'r', files), /disk full/);
    assert.equal(store.seq(), 0);
    assert.equal(all(notes).length, 0);
    store.fail = false;
    assert.equal((await importFiles(notes, 'r', files)).created, 3);
  });
});

describe('markdown export and round trip', () => {
  test('export, import into an empty vault: the same notes; export again: the same files byte for byte', async () => {
    const source = vault('rt-source');
    await importFolder(source, vaultFolder());
    source.create({ title: 'CON: a "nasty" title?', body: '---\nnot: front matter\n---\nbody\n\n---\n' });
    source.create({ title: '', body: '' });
    source.create({ title: 'Same', body: 'one' });
    source.create({ title: 'same', body: 'two' });

    const out1 = join(tmp, `export-${seq++}`);
    await exportFolder(source, out1, { trash: true });
    const target = vault('rt-target');
    const report = await importFolder(target, out1);
    assert.deepEqual(report.skipped, []);
    assert.equal(report.created, all(source).length);
    // `rev` names versions by the device that wrote them, so it differs between vaults by design.
    const content = (ns: ReturnType<typeof all>) => ns.map(({ rev: _rev, ...n }) => n);
    assert.deepEqual(content(all(target)), content(all(source)), 'ids, titles, bodies, times, folders and trash state');

    const out2 = join(tmp, `export-${seq++}`);
    await exportFolder(target, out2, { trash: true });
    const a = readTree(out1);
    const b = readTree(out2);
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    for (const [path, bytes] of a) assert.ok(bytes.equals(b.get(path)!), `${path} differs`);
    assert.ok(a.has('.trash/Old idea.md'));
    assert.ok(a.has('Journal/Été/Café au lait ☕.md'));
    assert.ok(a.has('CON_ a _nasty_ title_.md'));
    assert.ok(a.has('Untitled.md'));
    assert.ok(a.has('Same.md') && a.has('same (2).md'));
  });

  test('without the trash option trashed notes stay out; exporting into a folder with files is refused', async () => {
    const notes = vault('notrash');
    await importFolder(notes, vaultFolder());
    const files = exportFiles(notes);
    assert.ok(!files.some((f) => f.path.startsWith('.trash/')));
    assert.equal(files.length, 6);
    const dir = join(tmp, `full-${seq++}`);
    await exportFolder(notes, dir);
    await assert.rejects(exportFolder(notes, dir), { code: 'E_INVALID_VALUE' });
  });

  test('a pending conflict leaves as the shown version plus one file per other device', async () => {
    let wall = Date.UTC(2025, 0, 1);
    const now = (): number => (wall += 3);
    const a = new Notes(Replica.open(new MemoryStore('aaaaaaaaaaaaaaaa'), { indexer: notesIndexer, now }));
    const b = new Notes(Replica.open(new MemoryStore('bbbbbbbbbbbbbbbb'), { indexer: notesIndexer, now }));
    const n = a.create({ title: 'Plan', body: 'base' });
    assert.ok(syncPair(a.replica, b.replica).ok);
    a.save(n.id, { body: 'from a' });
    b.save(n.id, { body: 'from b' });
    assert.ok(syncPair(a.replica, b.replica).ok);
    const files = exportFiles(a);
    assert.deepEqual(files.map((f) => f.path), ['Plan.md', 'Plan (conflict from aaaaaaaaaaaaaaaa).md']);
    assert.ok(files[0].text.endsWith('\nfrom b'), 'the shown version (newest stamp) is the note');
    assert.ok(files[1].text.endsWith('\nfrom a'));
    assert.ok(!files[1].text.includes(`id: ${n.id}`), 'the conflict copy has no id: imported back it is a note of its own');
  });
});
