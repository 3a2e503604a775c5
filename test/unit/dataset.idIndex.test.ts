import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdIndex } from '../../src/dataset/idIndex';
import { doubledSlots, grownArray, mixHash } from '../../src/dataset/hashSlots';

test('IdIndex answers as Map.get then Map.set would, across growth, for ids of any characters and length', () => {
  const index = new IdIndex();
  const reference = new Map<string, number>();
  let seed = 3;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const alphabet = ['a', 'b', '0', '1', '-', 'é', '日', '😀', '\u0000', ''];
  for (let line = 1; line <= 20_000; line++) {
    let id = '';
    const length = Math.floor(next() * 5);
    for (let i = 0; i < length; i++) id += alphabet[Math.floor(next() * alphabet.length)];
    if (next() < 0.3) id = `row-${Math.floor(next() * 8000)}`;
    const expected = reference.get(id);
    if (expected === undefined) reference.set(id, line);
    assert.equal(index.firstLine(id, line), expected, `id ${JSON.stringify(id)} on line ${line}`);
  }
  assert.equal(index.size, reference.size);
});

test('IdIndex never takes a hash collision for a duplicate: ids that differ only by a prefix or a character are distinct', () => {
  const index = new IdIndex();
  const ids = Array.from({ length: 50_000 }, (_, i) => String(i));
  ids.forEach((id, i) => assert.equal(index.firstLine(id, i + 1), undefined));
  ids.forEach((id, i) => assert.equal(index.firstLine(id, 100_000 + i), i + 1));
  assert.equal(index.firstLine('0'.repeat(2), 1), undefined);
  assert.equal(index.firstLine('', 2), undefined);
  assert.equal(index.firstLine('', 3), 2);
});

test('the shared table pieces (hashSlots): a doubled slot table finds every entry by linear probing from its hash; a grown array keeps its values', () => {
  const hashes = new Int32Array(300);
  for (let i = 0; i < hashes.length; i++) hashes[i] = mixHash(i % 7 === 0 ? 42 : i); // a seventh of them collide
  const slots = doubledSlots(new Int32Array(512), hashes, hashes.length);
  assert.equal(slots.length, 1024);
  assert.equal(slots.filter((slot) => slot !== 0).length, hashes.length, 'each entry once');
  const mask = slots.length - 1;
  for (let entry = 0; entry < hashes.length; entry++) {
    let slot = hashes[entry] & mask;
    while (slots[slot] !== entry + 1) {
      assert.notEqual(slots[slot], 0, `entry ${entry} is found before an empty slot`);
      slot = (slot + 1) & mask;
    }
  }
  assert.notEqual(mixHash(1) & 1023, mixHash(2) & 1023, 'the low bits differ for neighbouring inputs');
  const grown = grownArray(Uint16Array.from([7, 8, 9]), 5);
  assert.ok(grown instanceof Uint16Array);
  assert.deepEqual([...grown], [7, 8, 9, 0, 0]);
});
