import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostConnection } from '../../src/webview/client/messaging';
import { DEFAULT_FILTERS } from '../../src/review/model';
import type { ViewUpdate } from '../../src/review/protocol';

function connection(timeoutMs = 1000): { host: HostConnection; sent: Record<string, unknown>[] } {
  const sent: Record<string, unknown>[] = [];
  const host = new HostConnection({ postMessage: (message) => sent.push(message as Record<string, unknown>), getState: () => undefined, setState: () => undefined }, timeoutMs);
  return { host, sent };
}

const VIEW = { order: ['a'] } as unknown as ViewUpdate;

test('each request gets its own id, and the reply carrying that id settles it', async () => {
  const { host, sent } = connection();
  const first = host.request<'setFilters'>({ type: 'setFilters', filters: DEFAULT_FILTERS });
  const second = host.request<'probabilities'>({ type: 'probabilities', rowId: 'a' });
  assert.notEqual(first.requestId, second.requestId);
  assert.deepEqual(sent, [
    { type: 'setFilters', filters: DEFAULT_FILTERS, requestId: first.requestId },
    { type: 'probabilities', rowId: 'a', requestId: second.requestId },
  ]);
  assert.equal(host.pendingCount('setFilters'), 1);
  // Replies may come in any order.
  host.settle({ type: 'reply', request: 'probabilities', requestId: second.requestId, result: { rowId: 'a', probs: [] } });
  host.settle({ type: 'reply', request: 'setFilters', requestId: first.requestId, result: { view: VIEW } });
  assert.deepEqual(await first.reply, { view: VIEW });
  assert.deepEqual(await second.reply, { rowId: 'a', probs: [] });
  assert.equal(host.pendingCount('setFilters'), 0);
});

test("a reply with an error rejects the request; a reply to nothing pending or of another request's type is dropped", async () => {
  const { host } = connection();
  const asked = host.request<'probabilities'>({ type: 'probabilities', rowId: 'gone' });
  host.settle({ type: 'reply', request: 'setFilters', requestId: asked.requestId, result: { view: VIEW } });
  host.settle({ type: 'reply', request: 'probabilities', requestId: 999, result: { rowId: 'x', probs: [] } });
  assert.equal(host.pendingCount('probabilities'), 1);
  host.settle({ type: 'reply', request: 'probabilities', requestId: asked.requestId, error: 'that row is not in the current review' });
  await assert.rejects(asked.reply, /that row is not in the current review/);
  assert.equal(host.pendingCount('probabilities'), 0);
});

test('a request with no reply in time is given up, and its late reply is dropped', async () => {
  const { host } = connection(20);
  const asked = host.request<'setFilters'>({ type: 'setFilters', filters: DEFAULT_FILTERS });
  await assert.rejects(asked.reply, /did not answer \(setFilters\)/);
  assert.equal(host.pendingCount('setFilters'), 0, 'decisions no longer wait for it');
  host.settle({ type: 'reply', request: 'setFilters', requestId: asked.requestId, result: { view: VIEW } });
});

test('notifications carry no id', () => {
  const { host, sent } = connection();
  host.post({ type: 'undo' });
  assert.deepEqual(sent, [{ type: 'undo' }]);
});
