// Per-row view of one bench run (the same rows, human sample and options as bench.ts benchmarkSeed), for the stress
// section of docs/BENCHMARKS.md: npx tsx test/bench/stress-rows.ts DATA_DIR LIMIT|- SETTING SEED OUT.jsonl
import { SeededRandom } from '../../src/training/random';
import { benchRows, simulateConfusedTeacher, simulateLlmTeacher, simulateStrongTeacher } from '../../src/cli/bench';
import { runDistillation } from '../../src/training/pipeline';
import { DEFAULT_DISTILL_OPTIONS } from '../../src/training/protocol';
import type { TrainingRow } from '../../src/training/types';
import { writeFileSync } from 'node:fs';
const [dir, limit, setting, seedText, outFile] = process.argv.slice(2);
(async () => {
let train = benchRows(`${dir}/train.jsonl`, true);
if (limit && limit !== '-') train = train.slice(0, Number(limit));
if (setting?.startsWith('confuse:')) train = simulateConfusedTeacher(train, Number(setting.slice(8)));
if (setting?.startsWith('llm:')) train = simulateLlmTeacher(train, Number(setting.slice(4)));
if (setting?.startsWith('hardest:')) train = await simulateStrongTeacher(train, Number(setting.slice(8)));
const labels = [...new Set(train.map((row) => row.gold).concat(train.flatMap((row) => (row.teacher ? [row.teacher] : []))))].sort();
const seed = Number(seedText);
const order = train.map((_, i) => i);
new SeededRandom(seed).shuffle(order);
const humanSet = new Set(order.slice(0, 50));
const rows: TrainingRow[] = train.map((row, i) => ({ id: `row-${i + 1}`, line: i + 1, text: row.text, teacher: row.teacher, human: humanSet.has(i) ? row.gold : null, teacherConfidence: null }));
const out = await runDistillation({ rows, labels }, { folds: 2, stages: 2, seed, backend: 'auto', finalTargets: 'auto', student: 'fasttext', encoder: DEFAULT_DISTILL_OPTIONS.encoder }, {}, {});
const lines = train.map((row, i) => {
  const p = out.predictions.get(i);
  return JSON.stringify({ i, human: humanSet.has(i), teacher: row.teacher, gold: row.gold, advised: out.advisedLabels[i], suggested: p.suggested, pw: p.p_teacher_wrong, flagged: p.flagged, peer: p.peer_probs });
});
writeFileSync(outFile, lines.join('\n') + '\n');
const m = out.metrics as unknown as Record<string, unknown>;
console.log(JSON.stringify({ recalibration: m.recalibration, trust: m.trust, changeThreshold: m.changeThreshold, humanCheck: m.humanCheck, finalWeighting: m.finalWeighting }, null, 1).slice(0, 3000));
})();
