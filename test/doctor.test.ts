// The LAN doctor's pure classification (engine/core/doctor.ts): which dial error means which
// reason, which reason wins among several addresses, and the redial backoff bound.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dialFailureReason, notSeenReason, reason, redialDelayMs, REDIAL_MAX_MS, worse } from '../engine/core/doctor.ts';

test('dial errors map to reasons', () => {
  const r = (cause: string, aborted = false, privateNetworkPassed = false) => dialFailureReason({ cause, aborted, privateNetworkPassed }, 1).code;
  assert.equal(r('connection error 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1'), 'dial-refused');
  assert.equal(r('connect ENETUNREACH 10.1.2.3:4000 - Local (0.0.0.0:0)'), 'no-route');
  assert.equal(r('connect EHOSTUNREACH 10.1.2.3:4000'), 'no-route');
  assert.equal(r('The operation was aborted due to timeout'), 'timed-out');
  assert.equal(r('whatever', true), 'timed-out');
  // A handshake that passed pnet and then failed: another vault key, whatever the error text.
  assert.equal(r('The operation was aborted due to timeout', true, true), 'rejected-by-vault');
  const other = dialFailureReason({ cause: 'something new', aborted: false, privateNetworkPassed: false }, 5);
  assert.equal(other.code, 'dial-failed');
  assert.match(other.message, /something new/);
  assert.equal(other.at, 5);
});

test('not seen says whether mDNS is running', () => {
  assert.match(notSeenReason(false, 0).message, /mDNS is off/);
  assert.match(notSeenReason(true, 0).message, /no mDNS answer/);
});

test('the most telling reason wins among a device\'s addresses', () => {
  assert.equal(worse(reason('no-route', 1), reason('dial-refused', 2)).code, 'dial-refused');
  assert.equal(worse(reason('rejected-by-vault', 1), reason('timed-out', 2)).code, 'rejected-by-vault');
  assert.equal(worse(null, reason('timed-out', 2)).code, 'timed-out');
});

test('redial backoff doubles from 1 s and never exceeds a minute', () => {
  assert.deepEqual([0, 1, 2, 3].map(redialDelayMs), [1000, 2000, 4000, 8000]);
  for (let f = 0; f < 100; f++) assert.ok(redialDelayMs(f) <= REDIAL_MAX_MS && redialDelayMs(f) >= 1000);
  assert.equal(redialDelayMs(10), REDIAL_MAX_MS);
});
