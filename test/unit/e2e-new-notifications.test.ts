/**
 * newNotifications (test/e2e/harness.ts), what runDistillationAndWait waits by: a second run's summary in one flow.
 * It used to return at once on the first run's "… done." still on screen, before the second run had ended.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newNotifications, type NotificationEntry } from '../e2e/harness';

const note = (message: string): NotificationEntry => ({ message, severity: 'info', buttons: [] });
const done = note('PeerKD: agnews.jsonl done. 12 rows flagged.');
const other = note('PeerKD: something else.');

test('an earlier run\'s summary still on screen is not new; the next run\'s, with the same text, is', () => {
  const fresh = newNotifications([done, other]);
  assert.deepEqual(fresh([done, other]), []);
  assert.deepEqual(fresh([done, other, done]), [done]);
});

test('an earlier toast that hid since is forgotten: a new one with its text counts', () => {
  const fresh = newNotifications([done]);
  assert.deepEqual(fresh([]), [], 'the first run\'s toast hid');
  assert.deepEqual(fresh([done]), [done], 'the second run\'s summary');
});
