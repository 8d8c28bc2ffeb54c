// The renderer's pure display helpers for issue 10 (renderer/format.ts): "on 2 of 3 devices", a
// device's hold in the note footer, a peer's watermark in the debug panel, the "updated on" badge
// and the progress line; and the throttle that paces refreshes on sync-state events
// (renderer/throttle.ts), driven by node:test's mocked timers. No browser.

import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { clockTime, dateTime, devicesText, etaText, holdText, megabytes, progressText, readableTimes, updatedOnText, watermarkText } from '../renderer/format.ts';
import { throttle } from '../renderer/throttle.ts';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

test('devices count: "on N of M devices", nothing when no device is paired', () => {
  assert.equal(devicesText({ holding: 2, paired: 3 }), 'on 2 of 3 devices');
  assert.equal(devicesText({ holding: 0, paired: 1 }), 'on 0 of 1 devices');
  assert.equal(devicesText({ holding: 1, paired: 1 }), 'on 1 of 1 devices');
  assert.equal(devicesText({ holding: 0, paired: 0 }), '');
});

test('a device in the note footer: held with when it was verified, else the engine\'s reason', () => {
  assert.equal(holdText({ holds: true, verifiedAt: NOW - 2 * 60_000, reason: null }, NOW), 'has this version · verified 2 min ago');
  assert.equal(holdText({ holds: true, verifiedAt: NOW - 1000, reason: null }, NOW), 'has this version · verified just now');
  assert.equal(holdText({ holds: true, verifiedAt: null, reason: null }, NOW), 'has this version');
  const reason = 'offline since 2026-12-01T10:00:00.000Z; behind by 3 changes';
  assert.equal(holdText({ holds: false, verifiedAt: NOW - 60_000, reason }, NOW), reason);
  assert.equal(holdText({ holds: false, verifiedAt: null, reason: null }, NOW), 'not proven to hold this version yet');
});

test('the engine\'s ISO times in a reason read as local times: today the time, earlier days the date too', () => {
  // Local noon, so "a minute ago" is the same local day in every time zone.
  const noon = new Date(2026, 11, 1, 12, 0, 0).getTime();
  const today = new Date(noon - 60_000).toISOString();
  const earlier = new Date(noon - 3 * 86_400_000).toISOString();
  assert.equal(readableTimes(`offline since ${today}; behind by 3 changes`, noon), `offline since ${clockTime(noon - 60_000)}; behind by 3 changes`);
  assert.equal(readableTimes(`offline since ${earlier}; never synced`, noon), `offline since ${dateTime(noon - 3 * 86_400_000)}; never synced`);
  assert.equal(readableTimes('last sync failed: E_TIMEOUT; behind by 1 change', noon), 'last sync failed: E_TIMEOUT; behind by 1 change', 'no time, no change');
});

test('a peer\'s watermark in the debug panel', () => {
  assert.equal(watermarkText(null, NOW), 'not yet proven to hold anything');
  assert.equal(watermarkText({ seq: 1234, ofSeq: 1240, verifiedAt: NOW - 30_000 }, NOW), 'holds 1,234 of 1,240 changes of this device (verified 30 s ago)');
});

test('the badge names the device a change came from when it is known', () => {
  assert.equal(updatedOnText('Kitchen laptop'), 'updated on Kitchen laptop');
  assert.equal(updatedOnText(null), 'updated on another device');
});

test('progress: records, MB and time left; no ETA before there is a rate', () => {
  assert.equal(progressText({ recordsDone: 1200, recordsTotal: 20000, bytesDone: 1_250_000, bytesTotal: 12_000_000, etaMs: 41_200 }), '1,200 of 20,000 records · 1.3 of 12.0 MB · about 42 s left');
  assert.equal(progressText({ recordsDone: 0, recordsTotal: 5000, bytesDone: 0, bytesTotal: 6_000_000, etaMs: null }), '0 of 5,000 records · 0.0 of 6.0 MB');
  assert.equal(etaText(150_000), 'about 3 min left');
  assert.equal(etaText(2 * 3_600_000 + 5 * 60_000), 'about 2 h 5 min left');
  assert.equal(etaText(-1), '');
  assert.equal(etaText(null), '');
  assert.equal(megabytes(999_999), '1.0');
});

test('throttle: the first call runs at once, calls in the pause fold into one run at its end', (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  let runs = 0;
  const f = throttle(() => runs++, 500);
  f();
  assert.equal(runs, 1, 'at once');
  f();
  f();
  f();
  assert.equal(runs, 1, 'not during the pause');
  mock.timers.tick(499);
  assert.equal(runs, 1);
  mock.timers.tick(1);
  assert.equal(runs, 2, 'the calls of the pause, once, at its end (the last event is never dropped)');
  mock.timers.tick(500);
  assert.equal(runs, 2, 'nothing was asked during the second pause');
  f();
  assert.equal(runs, 3, 'quiet again: at once');
  f();
  f.cancel();
  mock.timers.tick(1000);
  assert.equal(runs, 3, 'a cancelled throttle runs nothing more');
});
