// Makes the large files of the scale benchmark (docs/BENCHMARKS.md, "Scale") from the 10,000 AG News train rows of
// ../shared/data/agnews-noisy: row i is train row i mod 10,000; from the second pass on, a quarter of its words are
// replaced by words drawn from other rows of the same gold class, so copies differ and new word pairs (buckets) keep
// appearing, as in real data.
//   node test/bench/make-scale-data.mjs N OUT [--teacher copy|noisy:ACC]
// --teacher copy (the first measurements): every copy keeps its source row's teacher label, and every 2,000th row
// carries its gold label as the human label (only 5 distinct source rows). Near-duplicates then let the peers learn
// the teacher's own mistakes: nothing is adopted, and the final student is the vanilla one.
// --teacher noisy:0.9 (default): each copy's teacher label is its gold label with probability 0.9, else another label
// drawn at random, independently per copy; every 2,003rd row is human-labelled (distinct source rows). The advice then
// adopts labels and the run trains its final student: the run's whole path.
import { readFileSync, createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [nArg, outArg, ...rest] = process.argv.slice(2);
const n = Number(nArg ?? 1_000_000);
const out = outArg ?? `agnews-${n}.jsonl`;
const teacherAt = rest.indexOf('--teacher');
const teacherMode = teacherAt >= 0 ? rest[teacherAt + 1] ?? '' : 'noisy:0.9';
const accuracy = teacherMode.startsWith('noisy:') ? Number(teacherMode.slice(6)) : null;
if (!(Number.isInteger(n) && n > 0) || (teacherMode !== 'copy' && !(accuracy > 0 && accuracy <= 1))) {
  console.error('usage: node test/bench/make-scale-data.mjs N OUT [--teacher copy|noisy:ACC]');
  process.exit(2);
}
const source = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'data', 'agnews-noisy', 'train.jsonl');
const src = readFileSync(source, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
const labels = [...new Set(src.map((row) => row.gold_label))].sort();
const byClass = new Map();
for (const row of src) {
  const words = byClass.get(row.gold_label) ?? [];
  words.push(...row.text.split(' '));
  byClass.set(row.gold_label, words);
}
let seed = 12345;
const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const stream = createWriteStream(out);
let buffer = '';
for (let i = 0; i < n; i++) {
  const row = src[i % src.length];
  const words = row.text.split(' ');
  if (i >= src.length) {
    const pool = byClass.get(row.gold_label);
    for (let w = 0; w < words.length; w++) if (rnd() < 0.25) words[w] = pool[Math.floor(rnd() * pool.length)];
  }
  let teacher = row.teacher_label ?? null;
  if (accuracy !== null && i >= src.length) {
    const others = labels.filter((label) => label !== row.gold_label);
    teacher = rnd() < accuracy ? row.gold_label : others[Math.floor(rnd() * others.length)];
  }
  const value = { id: `m-${i}`, text: words.join(' '), teacher_label: teacher };
  if (accuracy === null ? i % 2000 === 0 : i % 2003 === 0) value.human_label = row.gold_label;
  buffer += JSON.stringify(value) + '\n';
  if (buffer.length > 1 << 20) {
    if (!stream.write(buffer)) await new Promise((resolve) => stream.once('drain', resolve));
    buffer = '';
  }
}
stream.end(buffer);
