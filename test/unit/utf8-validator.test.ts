/**
 * The one UTF-8 validator (src/dataset/utf8.ts): its verdict and first bad line agree with TextDecoder's fatal
 * decoder and a line count on random and exhaustive byte strings, however the bytes are split into chunks; and the
 * two callers (the training input's warning, the editor's write refusal) stream the file through it with no second
 * whole read and no size limit.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { SeededRandom } from '../../src/training/random';
import { DEFAULT_FIELDS, firstInvalidUtf8LineOfFile, undecodableBytesReason, Utf8LineValidator } from '../../src/dataset/index';
import { readTrainingInput } from '../../src/training/input';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-utf8-'));
  dirs.push(dir);
  return dir;
}

const FATAL = new TextDecoder('utf-8', { fatal: true });
const LENIENT = new TextDecoder('utf-8', { ignoreBOM: true }); // keeps a BOM, so the text encodes back to the bytes

/**
 * The reference: TextDecoder fatal for the verdict; then the line, by a regex count, of the first byte it cannot
 * decode: where the longest prefix that decodes whole ends (a valid text splits into characters one way only, so no
 * prefix reaching into the undecodable sequence decodes). A prefix decodes whole when the lenient decoder's text
 * encodes back to it (every undecodable sequence becomes EF BF BD, which no undecodable sequence is): no exception
 * per prefix, as throwing costs microseconds.
 */
function reference(bytes: Uint8Array): number | null {
  try {
    FATAL.decode(bytes);
    return null;
  } catch {
    // Invalid: find where.
  }
  const decodes = (n: number): boolean => Buffer.from(LENIENT.decode(bytes.subarray(0, n)), 'utf8').equals(bytes.subarray(0, n));
  // The first byte where the lenient text differs from the bytes is at or after the undecodable sequence's start.
  const again = Buffer.from(LENIENT.decode(bytes), 'utf8');
  let start = 0;
  while (start < bytes.length && again[start] === bytes[start]) start++;
  while (!decodes(start)) start--;
  const prefix = LENIENT.decode(bytes.subarray(0, start));
  return (prefix.match(/\r\n|\r|\n/g) ?? []).length + 1;
}

function validate(bytes: Uint8Array, sizes: readonly number[]): number | null {
  const validator = new Utf8LineValidator();
  let at = 0;
  for (let k = 0; at < bytes.length; k++) {
    const size = sizes[k % sizes.length];
    // A copy, not a view: a chunk must not be read past its end.
    validator.update(Uint8Array.from(bytes.subarray(at, at + size)));
    at += size;
  }
  return validator.end();
}

/** Reproducible random numbers in [0, 1) (the engine's seeded generator), so a failure names the seed that made it. */
function random(seed: number): () => number {
  const generator = new SeededRandom(seed);
  return () => generator.next();
}

const VALID = [
  'a', 'z', '{"', '"}', ' ', '\t', '\0', '\x7f', '\n', '\r', '\r\n', '\n\r', 'é', '\u0080', '\u07ff', '\u0800', '€', '\ud7ff',
  '\ue000', '\ufeff', '\ufffd', '\uffff', '𝄞', '\u{10000}', '\u{10ffff}', '日本',
].map((text) => [...Buffer.from(text, 'utf8')]);
const INVALID: number[][] = [
  [0x80], [0xbf], [0xa0, 0x80], // stray continuation bytes
  [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf], // overlong
  [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xed, 0xb0, 0x80], // surrogates D800–DFFF
  [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xf7, 0xbf, 0xbf, 0xbf], [0xfe], [0xff], // over U+10FFFF, no lead
  [0xc3], [0xe2, 0x82], [0xe2], [0xf0, 0x9d, 0x84], [0xf0, 0x9d], [0xf4], // cut short (by what follows, or the end)
  [0xe9], [0xc3, 0x28], [0xe2, 0x28, 0xa1], [0xe2, 0x82, 0x0a], [0xc3, 0x0d, 0x0a], // Latin-1, interrupted by ( or a line end
];

/** A byte string of valid pieces, line ends, random bytes and (with `bad`) invalid sequences. */
function bytesFrom(next: () => number, bad: boolean): Uint8Array {
  const pieces = Math.floor(next() * 60);
  const out: number[] = [];
  for (let k = 0; k < pieces; k++) {
    const roll = next();
    if (bad && roll < 0.06) out.push(...INVALID[Math.floor(next() * INVALID.length)]);
    else if (bad && roll < 0.08) out.push(Math.floor(next() * 256));
    else out.push(...VALID[Math.floor(next() * VALID.length)]);
  }
  return Uint8Array.from(out);
}

describe('Utf8LineValidator', () => {
  it('rejects what TextDecoder fatal rejects, at the same first line, however the bytes are split (random)', () => {
    const seed = 20261206;
    const next = random(seed);
    let invalid = 0;
    for (let n = 0; n < 3000; n++) {
      const bytes = bytesFrom(next, next() < 0.7);
      const expected = reference(bytes);
      if (expected !== null) invalid++;
      const splits: number[][] = [[bytes.length || 1], [1], Array.from({ length: 8 }, () => 1 + Math.floor(next() * 64)), Array.from({ length: 8 }, () => 1 + Math.floor(next() * 4))];
      for (const sizes of splits) {
        assert.equal(validate(bytes, sizes), expected, `seed ${seed} case ${n}, chunks ${sizes.join(',')}: ${Buffer.from(bytes).toString('hex')}`);
      }
    }
    // The generator made both kinds, in numbers.
    assert.ok(invalid > 1000 && invalid < 2500, `${invalid} invalid of 3000`);
  });

  it('agrees with TextDecoder on every byte, every 2-byte string that starts with a non-ASCII byte, and on 3-byte strings of the boundary bytes, split anywhere', () => {
    for (let a = 0; a < 256; a++) {
      assert.equal(validate(Uint8Array.of(a), [1]), reference(Uint8Array.of(a)), a.toString(16));
      // After an ASCII byte the second byte is a 1-byte string again; a thrown TypeError costs ~20 µs, so those go.
      for (let b = 0; b < 256 && a >= 0x80; b++) {
        const bytes = Uint8Array.of(a, b);
        const expected = reference(bytes);
        assert.equal(validate(bytes, [2]), expected, Buffer.from(bytes).toString('hex'));
        assert.equal(validate(bytes, [1]), expected, Buffer.from(bytes).toString('hex'));
      }
    }
    const edges = [0x00, 0x0a, 0x0d, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff];
    for (const a of edges) {
      for (const b of edges) {
        for (const c of edges) {
          const bytes = Uint8Array.of(a, b, c);
          const expected = reference(bytes);
          for (const sizes of [[3], [1], [1, 2], [2, 1]]) assert.equal(validate(bytes, sizes), expected, `${Buffer.from(bytes).toString('hex')} in ${sizes}`);
        }
      }
    }
  });

  it('names the line as the editor counts lines (LF, CRLF and a lone CR), also when a CRLF is split between chunks', () => {
    const bytes = Buffer.concat([Buffer.from('a\rb\r\nc\n'), Buffer.from([0xed, 0xa0, 0x80])]);
    for (const sizes of [[bytes.length], [1], [4], [5]]) assert.equal(validate(bytes, sizes), 4, String(sizes));
    assert.equal(validate(Buffer.from([0x61, 0x0d, 0x0a, 0xff]), [2]), 2); // CR | LF: one line end
    assert.equal(validate(Buffer.from([0x61, 0x0d, 0xff]), [2]), 2); // a lone CR before the bad byte
    assert.equal(validate(Buffer.from([0xe2, 0x82, 0x0a, 0x41]), [2]), 1); // cut short by LF: the lead's line
    assert.equal(validate(Buffer.from('{"a":"é"}\r\n{"b":"€𝄞"}\n'), [3]), null);
  });

  it('stops at the first invalid byte: later bytes change nothing', () => {
    const validator = new Utf8LineValidator();
    assert.equal(validator.update(Buffer.from('ok\n\xff', 'latin1')), false);
    assert.equal(validator.update(Buffer.from('\n\n\xc3')), false);
    assert.equal(validator.end(), 2);
  });
});

describe('files streamed through the validator', () => {
  // A character split by the read's 64 KiB chunks, then a Latin-1 byte on line 3000, chunks later.
  function bigFile(dir: string): string {
    const file = path.join(dir, 'big.jsonl');
    const rows: Buffer[] = [];
    for (let line = 1; line <= 3000; line++) {
      // Line 1 puts an é across the first chunk end (bytes 65535 and 65536).
      const first = `${'a'.repeat(65535 - '{"text":"'.length)}é`;
      const text = line === 3000 ? Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9])]) : Buffer.from(`${line === 1 ? first : ''}row ${line} ${'é'.repeat(20)}𝄞`);
      rows.push(Buffer.concat([Buffer.from(`{"text":"`), text, Buffer.from(`","teacher_label":"${line % 2 ? 'World' : 'Sports'}"}\n`)]));
    }
    const data = Buffer.concat(rows);
    assert.ok(data.length > 3 * 65536);
    assert.deepEqual([data[65535], data[65536]], [0xc3, 0xa9]);
    fs.writeFileSync(file, data);
    return file;
  }

  it('firstInvalidUtf8LineOfFile reads in chunks and finds the line past the first chunk; a valid file is null', async () => {
    const dir = tempDir();
    const file = bigFile(dir);
    assert.equal(await firstInvalidUtf8LineOfFile(file), 3000);
    const valid = path.join(dir, 'valid.jsonl');
    fs.writeFileSync(valid, Buffer.concat([Buffer.alloc(65535, 0x61), Buffer.from('é\n€\n')])); // é split at 64 KiB
    assert.equal(await firstInvalidUtf8LineOfFile(valid), null);
  });

  const warning = 'line 3000 holds bytes that are not valid UTF-8 (later lines may too); they are read as U+FFFD, so the students see other text than the file holds — save the file as UTF-8';
  const utf8Warnings = (warnings: string[]) => warnings.filter((line) => line.includes('UTF-8'));

  it('readTrainingInput warns from the read that hashes the file: it never reads the file whole a second time', async (t) => {
    const file = bigFile(tempDir());
    t.mock.method(fs.promises, 'readFile', async () => {
      throw new Error('the file was read whole a second time');
    });
    const input = await readTrainingInput({ file, fields: DEFAULT_FIELDS, labels: [], folds: 2 });
    assert.deepEqual(utf8Warnings(input.warnings), [warning]);
  });

  it('readTrainingInput warns whatever the file size (one the OS says is 300 MiB, over the old 256 MiB limit)', async (t) => {
    const file = bigFile(tempDir());
    const stat = fs.promises.stat;
    t.mock.method(fs.promises, 'stat', async (...args: Parameters<typeof stat>) => {
      const stats = await stat(...args);
      return Object.assign(Object.create(Object.getPrototypeOf(stats) as object) as fs.Stats, stats, { size: 300 * 1024 * 1024 });
    });
    const input = await readTrainingInput({ file, fields: DEFAULT_FIELDS, labels: [], folds: 2 });
    assert.deepEqual(utf8Warnings(input.warnings), [warning]);
  });

  it('undecodableBytesReason streams the file through the same validator (never read whole)', async (t) => {
    const dir = tempDir();
    const file = bigFile(dir);
    t.mock.method(fs.promises, 'readFile', async () => {
      throw new Error('the file was read whole');
    });
    const reason = await undecodableBytesReason('{"text":"caf\ufffd"}', file);
    assert.match(reason ?? '', /big\.jsonl:3000 holds bytes that are not valid UTF-8; the editor shows them as U\+FFFD/);
    assert.equal(await undecodableBytesReason('{"text":"caf\ufffd"}', path.join(dir, 'gone.jsonl')), null);
  });
});
