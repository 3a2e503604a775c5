/**
 * `peerkd bench DATA_DIR`: the method against its baselines on a dataset whose gold labels are known.
 * DATA_DIR holds train.jsonl (`text`, `teacher_label`, `gold_label`) and test.jsonl (`text`, `gold_label`). For each
 * seed, `gold_label` is copied into the human label of a seeded random subset of train rows; the method sees only
 * those and the teacher labels. Gold labels of the other rows are read only afterwards, to score the results.
 */
import { Terminal } from './terminal';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, type CliCommand } from './command';
import { runDistillation, trainOnTargets, predictTexts, type DistillOutput, type EngineTuning } from '../training/pipeline';
import { accuracyOf, auroc, precisionAtK } from '../training/evaluation';
import { SeededRandom } from '../training/random';
import type { BackendPreference, DistillOptions, TrainingRow } from '../training/types';

const HELP = `Usage: peerkd bench DATA_DIR [options]

Runs teacher / SFT / vanilla KD / naive Peer-Advised KD / PeerKD on DATA_DIR/train.jsonl and scores them on
DATA_DIR/test.jsonl and on the gold labels of the train rows the method was not given.

Options:
  --human N          human-labelled rows per seed (default 50)
  --seeds LIST       comma-separated seeds (default 0,1,2)
  --folds K          PeerKD folds (default 2)
  --stages S         PeerKD stages (default 2)
  --backend B        auto | tensorflow-gpu | tensorflow | wasm | cpu (default auto)
  --limit N          use only the first N train rows (CI slice)
  --test-limit N     use only the first N test rows
  --ablations        also run K=5, hard final targets, 1 and 3 stages
  --teacher-accuracy A
                     replace teacher_label by a simulated teacher that copies gold on a fraction A of the rows
                     and errs on the rows a gold-trained student finds hardest, with that student's wrong label
                     (the regime where the teacher is far more accurate than any bag-of-words student)
  --json FILE        write every figure as JSON
  --docs FILE        write the tables into FILE between <!-- bench:start --> and <!-- bench:end -->
`;

interface BenchRow {
  text: string;
  teacher: string | null;
  gold: string;
}

function readJsonl(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) throw new Error(`${file} not found`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line, index) => ({ line, index }))
    .filter(({ line }) => line.trim() !== '')
    .map(({ line, index }) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`${file}:${index + 1}: not valid JSON`);
      }
    });
}

function benchRows(file: string, needTeacher: boolean): BenchRow[] {
  return readJsonl(file).map((value, index) => {
    if (typeof value.text !== 'string' || typeof value.gold_label !== 'string') {
      throw new Error(`${file}:${index + 1}: needs string fields text and gold_label`);
    }
    const teacher = typeof value.teacher_label === 'string' ? value.teacher_label : null;
    if (needTeacher && value.teacher_label !== undefined && value.teacher_label !== null && teacher === null) {
      throw new Error(`${file}:${index + 1}: teacher_label must be a string or null`);
    }
    return { text: value.text, teacher, gold: value.gold_label };
  });
}

export interface VariantFigures {
  advisedAccuracy: number;
  flagged: number;
  flagPrecision: number;
  flagRecall: number;
  precisionAt100: number;
  precisionAt500: number;
  auroc: number;
  testAccuracy: number;
  estimatedTeacherAccuracy: number;
  wallSeconds: number;
  phasesSeconds: Record<string, number>;
  rowsPerSecond: number;
  backend: string;
}

export interface SeedFigures {
  seed: number;
  teacherAccuracy: number;
  sftHumanTestAccuracy: number;
  sftGoldTestAccuracy: number;
  goldSubsetSize: number;
  vanillaTestAccuracy: number;
  variants: Record<string, VariantFigures>;
  peakRssMb: number;
}

interface Variant {
  name: string;
  options: Partial<DistillOptions>;
  tuning: Partial<EngineTuning>;
}

function scoreVariant(out: DistillOutput, train: BenchRow[], humanSet: Set<number>, testProbs: Float32Array, testTruth: Int32Array, classes: number, wallSeconds: number): VariantFigures {
  const rest = train.map((_, i) => i).filter((i) => !humanSet.has(i) && train[i].teacher !== null);
  const isError = rest.map((i) => train[i].teacher !== train[i].gold);
  const scores = rest.map((i) => out.predictions[i].p_teacher_wrong);
  const flagged = rest.filter((i) => out.predictions[i].flagged);
  const flaggedErrors = flagged.filter((i) => train[i].teacher !== train[i].gold).length;
  const errors = isError.filter(Boolean).length;
  const advisedRows = train.map((_, i) => i).filter((i) => !humanSet.has(i));
  return {
    advisedAccuracy: advisedRows.filter((i) => out.advisedLabels[i] === train[i].gold).length / advisedRows.length,
    flagged: flagged.length,
    flagPrecision: flagged.length ? flaggedErrors / flagged.length : NaN,
    flagRecall: errors ? flaggedErrors / errors : NaN,
    precisionAt100: precisionAtK(scores, isError, 100),
    precisionAt500: precisionAtK(scores, isError, 500),
    auroc: auroc(scores, isError),
    testAccuracy: accuracyOf(testProbs, testTruth, classes),
    estimatedTeacherAccuracy: out.metrics.estimatedTeacherAccuracy,
    wallSeconds,
    phasesSeconds: Object.fromEntries(Object.entries(out.metrics.timingsMs).map(([phase, ms]) => [phase, ms / 1000])),
    rowsPerSecond: out.metrics.rowsPerSecond,
    backend: out.metrics.backend,
  };
}

export async function benchmarkSeed(
  train: BenchRow[],
  test: BenchRow[],
  labels: string[],
  seed: number,
  humanCount: number,
  base: DistillOptions,
  variants: Variant[],
  log: (line: string) => void,
): Promise<SeedFigures> {
  const classes = labels.length;
  const index = new Map(labels.map((label, i) => [label, i]));
  const order = train.map((_, i) => i);
  new SeededRandom(seed).shuffle(order);
  const humanSet = new Set(order.slice(0, humanCount));
  const rows: TrainingRow[] = train.map((row, i) => ({
    id: `row-${i + 1}`,
    line: i + 1,
    text: row.text,
    teacher: row.teacher,
    human: humanSet.has(i) ? row.gold : null,
    teacherConfidence: null,
  }));
  const texts = train.map((row) => row.text);
  const testTexts = test.map((row) => row.text);
  const testTruth = Int32Array.from(test, (row) => index.get(row.gold) ?? -1);
  const teacherRows = train.filter((row) => row.teacher !== null);
  const teacherAccuracy = teacherRows.filter((row) => row.teacher === row.gold).length / teacherRows.length;

  const supervised = async (subset: number[], salt: number) => {
    const targets = new Float32Array(subset.length * classes);
    subset.forEach((row, i) => (targets[i * classes + index.get(train[row].gold)!] = 1));
    const model = await trainOnTargets(subset.map((row) => texts[row]), targets, classes, seed * 7919 + salt, {}, texts);
    return accuracyOf(predictTexts(model, testTexts), testTruth, classes);
  };
  const sftHumanTestAccuracy = await supervised([...humanSet], 1);
  const goldOrder = train.map((_, i) => i);
  new SeededRandom(seed + 1_000_003).shuffle(goldOrder);
  const goldSubset = goldOrder.slice(0, Math.min(750, train.length));
  const sftGoldTestAccuracy = await supervised(goldSubset, 2);
  log(`seed ${seed}: SFT human ${sftHumanTestAccuracy.toFixed(4)}, SFT ${goldSubset.length} gold ${sftGoldTestAccuracy.toFixed(4)}`);

  const variantFigures: Record<string, VariantFigures> = {};
  let vanillaTestAccuracy = NaN;
  for (const variant of variants) {
    const started = performance.now();
    const options = { ...base, ...variant.options, seed };
    const out = await runDistillation({ rows, labels }, options, {}, variant.tuning);
    const wallSeconds = (performance.now() - started) / 1000;
    const figures = scoreVariant(out, train, humanSet, predictTexts(out.model, testTexts), testTruth, classes, wallSeconds);
    variantFigures[variant.name] = figures;
    if (variant.name === 'PeerKD') {
      // Vanilla KD is the method's own first phase; score its model on the test set the same way.
      vanillaTestAccuracy = await supervisedVanilla(rows, train, labels, seed, testTexts, testTruth);
    }
    log(
      `seed ${seed}: ${variant.name}: advised ${figures.advisedAccuracy.toFixed(4)}, P@100 ${figures.precisionAt100.toFixed(3)}, ` +
        `P@500 ${figures.precisionAt500.toFixed(3)}, AUROC ${figures.auroc.toFixed(3)}, flagged ${figures.flagged} ` +
        `(precision ${figures.flagPrecision.toFixed(3)}, recall ${figures.flagRecall.toFixed(3)}), test ${figures.testAccuracy.toFixed(4)}, ${wallSeconds.toFixed(1)} s`,
    );
  }
  return {
    seed,
    teacherAccuracy,
    sftHumanTestAccuracy,
    sftGoldTestAccuracy,
    goldSubsetSize: goldSubset.length,
    vanillaTestAccuracy,
    variants: variantFigures,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

/** Vanilla KD exactly as the pipeline trains it: every teacher label plus the human labels, one student. */
async function supervisedVanilla(rows: TrainingRow[], train: BenchRow[], labels: string[], seed: number, testTexts: string[], testTruth: Int32Array): Promise<number> {
  const classes = labels.length;
  const used = rows.map((_, i) => i).filter((i) => rows[i].teacher !== null || rows[i].human !== null);
  const targets = new Float32Array(used.length * classes);
  used.forEach((row, i) => (targets[i * classes + labels.indexOf((rows[row].human ?? rows[row].teacher)!)] = 1));
  const model = await trainOnTargets(
    used.map((row) => train[row].text),
    targets,
    classes,
    seed * 7919 + 1,
    {},
    train.map((row) => row.text),
  );
  return accuracyOf(predictTexts(model, testTexts), testTruth, classes);
}

/**
 * A teacher right on a fraction `accuracy` of the rows whose mistakes are the hardest kind for a student: the rows a
 * 2-fold, gold-trained student gives the lowest out-of-fold probability to the gold label, relabelled with that
 * student's most likely wrong label. Uses gold labels by design: it builds the test condition, not the method.
 */
export async function simulateStrongTeacher(train: BenchRow[], accuracy: number): Promise<BenchRow[]> {
  const labels = [...new Set(train.map((row) => row.gold))].sort();
  const classes = labels.length;
  const gold = train.map((row) => labels.indexOf(row.gold));
  const texts = train.map((row) => row.text);
  const fold = train.map((_, i) => i % 2);
  const outOfFold = new Float32Array(train.length * classes);
  for (const held of [0, 1]) {
    const trainIdx = train.map((_, i) => i).filter((i) => fold[i] !== held);
    const heldIdx = train.map((_, i) => i).filter((i) => fold[i] === held);
    const targets = new Float32Array(trainIdx.length * classes);
    trainIdx.forEach((row, i) => (targets[i * classes + gold[row]] = 1));
    const model = await trainOnTargets(trainIdx.map((row) => texts[row]), targets, classes, 99 + held, {}, texts);
    const probs = predictTexts(model, heldIdx.map((row) => texts[row]));
    heldIdx.forEach((row, i) => outOfFold.set(probs.subarray(i * classes, (i + 1) * classes), row * classes));
  }
  const order = train.map((_, i) => i).sort((a, b) => outOfFold[a * classes + gold[a]] - outOfFold[b * classes + gold[b]] || a - b);
  const errors = new Set(order.slice(0, Math.round((1 - accuracy) * train.length)));
  return train.map((row, i) => {
    if (!errors.has(i)) return { ...row, teacher: row.gold };
    let wrong = -1;
    for (let c = 0; c < classes; c++) if (c !== gold[i] && (wrong < 0 || outOfFold[i * classes + c] > outOfFold[i * classes + wrong])) wrong = c;
    return { ...row, teacher: labels[wrong] };
  });
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function format(value: number, digits = 4): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

export function markdownTables(results: SeedFigures[], command: string, targets: boolean): string {
  const seeds = results.map((r) => r.seed);
  const header = `| figure | ${seeds.map((s) => `seed ${s}`).join(' | ')} | mean |${targets ? ' target | met |' : ''}`;
  const divider = `| --- | ${seeds.map(() => '---:').join(' | ')} | ---: |${targets ? ' --- | --- |' : ''}`;
  const line = (name: string, values: number[], digits = 4, target?: { min?: number; max?: number; text: string }) => {
    const m = mean(values);
    const met = target ? ((target.min === undefined || m >= target.min) && (target.max === undefined || m <= target.max) ? 'yes' : `no (gap ${format(target.min !== undefined ? target.min - m : m - target.max!, digits)})`) : '';
    return `| ${name} | ${values.map((v) => format(v, digits)).join(' | ')} | ${format(m, digits)} |${targets ? ` ${target?.text ?? ''} | ${met} |` : ''}`;
  };
  const variantNames = Object.keys(results[0].variants);
  const v = (name: string, pick: (f: VariantFigures) => number) => results.map((r) => pick(r.variants[name]));
  const out: string[] = [`Command: \`${command}\``, '', header, divider];
  out.push(line('teacher label accuracy', results.map((r) => r.teacherAccuracy)));
  out.push(line('SFT on the human labels, test accuracy', results.map((r) => r.sftHumanTestAccuracy)));
  out.push(line(`SFT on ${results[0].goldSubsetSize} gold labels, test accuracy`, results.map((r) => r.sftGoldTestAccuracy)));
  out.push(line('vanilla KD, test accuracy', results.map((r) => r.vanillaTestAccuracy)));
  for (const name of variantNames) {
    const main = name === 'PeerKD';
    out.push(line(`${name}: final student, test accuracy`, v(name, (f) => f.testAccuracy), 4, main ? { min: 0.83, text: '≥ 0.83' } : undefined));
    out.push(line(`${name}: advised-label accuracy (non-human rows)`, v(name, (f) => f.advisedAccuracy), 4, main ? { min: 0.82, text: '≥ 0.82' } : undefined));
    out.push(line(`${name}: precision@100 of the ranking`, v(name, (f) => f.precisionAt100), 3, main ? { min: 0.93, text: '≥ 0.93' } : undefined));
    out.push(line(`${name}: precision@500 of the ranking`, v(name, (f) => f.precisionAt500), 3, main ? { min: 0.8, text: '≥ 0.80' } : undefined));
    out.push(line(`${name}: AUROC of the ranking`, v(name, (f) => f.auroc), 3));
    out.push(line(`${name}: flagged rows`, v(name, (f) => f.flagged), 0));
    out.push(line(`${name}: flag precision`, v(name, (f) => f.flagPrecision), 3));
    out.push(line(`${name}: flag recall`, v(name, (f) => f.flagRecall), 3));
    out.push(line(`${name}: estimated teacher accuracy`, v(name, (f) => f.estimatedTeacherAccuracy), 4));
    out.push(line(`${name}: wall time, s`, v(name, (f) => f.wallSeconds), 1, main ? { max: 60, text: '≤ 60 s' } : undefined));
    for (const phase of Object.keys(results[0].variants[name].phasesSeconds)) {
      if (phase === 'total') continue;
      out.push(line(`${name}: phase ${phase}, s`, v(name, (f) => f.phasesSeconds[phase] ?? NaN), 1));
    }
    out.push(line(`${name}: student training, row-epochs/s`, v(name, (f) => f.rowsPerSecond), 0));
  }
  out.push(line('peak RSS of the benchmark process, MB', results.map((r) => r.peakRssMb), 0));
  out.push('', `Backend: ${results[0].variants[variantNames[0]].backend}.`);
  return out.join('\n');
}

function replaceBetweenMarkers(file: string, content: string): void {
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const text = readFileSync(file, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${start} … ${end} block to write the tables into`);
  writeFileSync(file, text.slice(0, from + start.length) + '\n' + content + '\n' + text.slice(to));
}

export const benchCommand: CliCommand = {
  name: 'bench',
  summary: 'Benchmark PeerKD against its baselines on a dataset with gold labels',
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        human: { type: 'string', default: '50' },
        seeds: { type: 'string', default: '0,1,2' },
        folds: { type: 'string', default: '2' },
        stages: { type: 'string', default: '2' },
        backend: { type: 'string', default: 'auto' },
        limit: { type: 'string' },
        'test-limit': { type: 'string' },
        ablations: { type: 'boolean', default: false },
        json: { type: 'string' },
        docs: { type: 'string' },
        'teacher-accuracy': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      new Terminal(process.stdout).lines(HELP.replace(/\n$/, '').split('\n'));
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`expected one DATA_DIR, got ${positionals.length}\n\n${HELP}`);
    const integer = (name: string, text: string | undefined, min: number) => {
      const value = Number(text);
      if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${text}'`);
      return value;
    };
    const dir = positionals[0];
    const humanCount = integer('human', values.human, 0);
    const seeds = values.seeds.split(',').map((text) => integer('seeds', text.trim(), 0));
    let train = benchRows(path.join(dir, 'train.jsonl'), true);
    let test = benchRows(path.join(dir, 'test.jsonl'), false);
    if (values.limit !== undefined) train = train.slice(0, integer('limit', values.limit, 10));
    if (values['test-limit'] !== undefined) test = test.slice(0, integer('test-limit', values['test-limit'], 1));
    if (values['teacher-accuracy'] !== undefined) {
      const accuracy = Number(values['teacher-accuracy']);
      if (!(accuracy > 0 && accuracy <= 1)) throw new UsageError(`--teacher-accuracy must be in (0, 1], got '${values['teacher-accuracy']}'`);
      train = await simulateStrongTeacher(train, accuracy);
    }
    const labels = [...new Set(train.map((row) => row.gold).concat(train.flatMap((row) => (row.teacher ? [row.teacher] : []))))].sort();
    const base: DistillOptions = {
      folds: integer('folds', values.folds, 2),
      stages: integer('stages', values.stages, 1),
      seed: 0,
      backend: values.backend as BackendPreference,
      finalTargets: 'auto',
      student: 'fasttext',
    };
    const variants: Variant[] = [
      { name: 'naive PA-KD (K=2, hard)', options: { folds: 2, stages: 1, finalTargets: 'hard' }, tuning: { advice: 'naive' } },
      { name: 'PeerKD', options: {}, tuning: {} },
      { name: 'PeerKD without the do-no-harm guard (κ = 0.5)', options: {}, tuning: { changeGuard: false } },
    ];
    if (values.ablations) {
      variants.push(
        { name: 'PeerKD K=5', options: { folds: 5 }, tuning: {} },
        { name: 'PeerKD hard final targets', options: { finalTargets: 'hard' }, tuning: {} },
        { name: 'PeerKD 1 stage', options: { stages: 1 }, tuning: {} },
        { name: 'PeerKD 3 stages', options: { stages: 3 }, tuning: {} },
      );
    }
    const err = new Terminal(process.stderr);
    const log = (line: string) => err.line(line);
    log(`bench: ${train.length} train rows, ${test.length} test rows, labels ${labels.join(', ')}, ${humanCount} human rows, seeds ${seeds.join(',')}`);
    const results: SeedFigures[] = [];
    for (const seed of seeds) results.push(await benchmarkSeed(train, test, labels, seed, humanCount, base, variants, log));
    const command = `peerkd bench ${argv.join(' ')}`;
    const tables = markdownTables(results, command, values.limit === undefined);
    new Terminal(process.stdout).lines(tables.split('\n'));
    if (values.json) mkdirSync(path.dirname(values.json), { recursive: true });
    if (values.json) writeFileSync(values.json, JSON.stringify({ command, results }, null, 2) + '\n');
    if (values.docs) replaceBetweenMarkers(values.docs, tables);
    return 0;
  },
};
