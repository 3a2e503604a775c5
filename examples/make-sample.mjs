#!/usr/bin/env node
// Makes examples/agnews-sample.jsonl from the NoisyAG-News training set (see examples/README.md):
//   node examples/make-sample.mjs [--input ../shared/data/agnews-noisy/train.jsonl] [--out examples/agnews-sample.jsonl]
//                                 [--rows 2000] [--human 50] [--seed 0]
// A seeded choice of rows, kept in their original order, with `id`, `text` and `teacher_label` only. `gold_label`
// is dropped, except that a seeded subset of the chosen rows gets it as `human_label`: the few labels a person
// would have checked by hand. Same arguments, same bytes.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    input: { type: 'string', default: join(root, '..', 'shared', 'data', 'agnews-noisy', 'train.jsonl') },
    out: { type: 'string', default: join(root, 'examples', 'agnews-sample.jsonl') },
    rows: { type: 'string', default: '2000' },
    human: { type: 'string', default: '50' },
    seed: { type: 'string', default: '0' },
  },
});
const rowCount = Number(values.rows);
const humanCount = Number(values.human);
const seed = Number(values.seed);

/** mulberry32: a small seeded generator, so the sample does not depend on Node's Math.random. */
function generator(state) {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct indices below `n`, chosen by a partial Fisher–Yates shuffle. */
function choose(n, count, random) {
  const indices = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (n - i));
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  return indices.slice(0, count).sort((a, b) => a - b);
}

const lines = readFileSync(values.input, 'utf8').split('\n').filter((line) => line.trim().length > 0);
const source = lines.map((line, index) => {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new Error(`${values.input}:${index + 1}: ${error.message}`);
  }
});
if (rowCount > source.length || humanCount > rowCount) {
  throw new Error(`Cannot take ${rowCount} rows with ${humanCount} human labels from ${source.length} rows`);
}

const random = generator(seed);
const chosen = choose(source.length, rowCount, random);
const withHuman = new Set(choose(rowCount, humanCount, random));

/** Same layout as the source file (`"key": value, ...`), so the sample reads like the data it came from. */
const serialize = (entries) => '{' + entries.map(([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value)}`).join(', ') + '}';

const out = chosen.map((sourceIndex, position) => {
  const row = source[sourceIndex];
  const entries = [
    ['id', row.id],
    ['text', row.text],
    ['teacher_label', row.teacher_label],
  ];
  if (withHuman.has(position)) entries.push(['human_label', row.gold_label]);
  return serialize(entries);
});
writeFileSync(values.out, out.join('\n') + '\n');

const wrong = chosen.filter((index) => source[index].teacher_label !== source[index].gold_label).length;
console.log(
  `Wrote ${out.length} rows (${withHuman.size} with human_label) to ${values.out}; ` +
    `${wrong} teacher labels disagree with gold (${((100 * wrong) / out.length).toFixed(1)}%), seed ${seed}`,
);
