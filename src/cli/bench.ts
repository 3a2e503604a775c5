/**
 * `peerkd bench DATA_DIR`: the method against its baselines on a dataset whose gold labels are known.
 * DATA_DIR holds train.jsonl (`text`, `teacher_label`, `gold_label`) and test.jsonl (`text`, `gold_label`). For each
 * seed, `gold_label` is copied into the human label of a seeded random subset of train rows; the method sees only
 * those and the teacher labels. Gold labels of the other rows are read only afterwards, to score the results.
 */
import { Terminal } from './terminal';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { assertNotSameFile, assertOutsidePeerkdFolder, assertReadableFile, assertReplaceable, fileError, writeFileAtomic } from '../dataset/files';
import { assertEncoderFolder, decimalNumber, encoderOption, EXIT_CODES_HELP, integerFlag, parseCommandArgs, UsageError, type CliCommand } from './command';
import { choiceOption, runCommand, type CliIo } from './distill';
import { ENCODER_ENDPOINT_HELP, ENCODER_ENDPOINT_OPTIONS, encoderEndpointFromFlags } from './encoderFlags';
import { endpointSettings } from '../training/encoders/endpoint';
import { EMBEDDING_CACHE_DIR_NAME } from '../training/embeddingCache';
import type { EncoderEnvironment } from '../training/encoder';
import { runDistillation, trainOnTargets, DEFAULT_TUNING, predictTexts, predictModel, type DistillOutput, type EngineTuning } from '../training/pipeline';
import { accuracyOf, auroc, precisionAtK } from '../training/evaluation';
import { argmax } from '../training/calibration';
import { SeededRandom } from '../training/random';
import { probabilityOf } from '../training/labelRecord';
import { DEFAULT_DISTILL_OPTIONS } from '../training/protocol';
import { prepareRerank } from '../review/rerank';
import { assignRowKeys } from '../review/rowKeys';
import { formatReviewLogEntry, parseReviewLog, type ReviewLog } from '../review/reviewLog';
import { markReviewedRows } from '../training/reviewedRows';
import { BACKEND_PREFERENCES, ENCODER_CHOICES_TEXT, MAX_STAGES, type DistillOptions, type TrainingRow } from '../training/types';
import { proxyAwareFetch } from '../teacher/proxyFetch';

/** The engine's label smoothing of its vanilla and final students (student.ts DEFAULT_STUDENT). */
const DEFAULT_STUDENT_SMOOTHING = DEFAULT_TUNING.student.labelSmoothing ?? 0;

/** Share of a `confuse:A` teacher's mistakes that turn its one confused class into the one other (simulateConfusedTeacher). */
export const CONFUSED_SHARE = 0.7;

export const BENCH_HELP = `Usage: peerkd bench DATA_DIR [options]

Runs teacher / SFT / vanilla KD / naive Peer-Advised KD / PeerKD on DATA_DIR/train.jsonl and scores them on
DATA_DIR/test.jsonl and on the gold labels of the train rows the method was not given.

Options:
  --human N          human-labelled rows per seed (default 50; at most the train rows, with a warning)
  --seeds LIST       comma-separated seeds, each an integer ≥ 0 and each once (default 0,1,2,3,4)
  --folds K          PeerKD folds (default 2)
  --stages S         PeerKD stages, 1 to ${MAX_STAGES} (default 2)
  --backend B        ${BACKEND_PREFERENCES.join(' | ')} (default auto)
  --encoder E        ${ENCODER_CHOICES_TEXT}: the representation next to the words
                     (default auto, as in peerkd distill and the editor; the engine keeps glove only where it helps
                     the cross-fitted human rows)
  --encoder-keep K   if-better (default) | always: keep the encoder without the words-alone comparison
  --label-smoothing E
                     label smoothing of the engine's vanilla and final students, in [0, 1) (default: the engine's,
                     ${DEFAULT_STUDENT_SMOOTHING}); the peers stay unsmoothed
  --final-weighting K
                     the final student weighs a row without a human label by π(adopted label)^K, K ≥ 0 (default:
                     the engine's, ${DEFAULT_TUNING.finalWeighting}; 0 weighs every row alike)
${ENCODER_ENDPOINT_HELP}
  --embedding-cache DIR
                     where a cached encoder's vectors (use-lite, endpoint) are kept (default
                     DATA_DIR/.peerkd/embedding-cache, as distill keeps them next to its dataset): later seeds
                     and later benches read them instead of encoding again
  --limit N          use only the first N train rows (CI slice)
  --test-limit N     use only the first N test rows
  --ablations        also run K=5, hard final targets, 1 and 3 stages
  --settings LIST    comma-separated teachers to run, each once and each a table of its own (default: data):
                       data        the file's teacher_label
                       hardest:A   a simulated teacher right on a fraction A of the rows, wrong on the rows a
                                   gold-trained student finds hardest, with that student's wrong label (the regime
                                   where the teacher is far more accurate than any bag-of-words student)
                       llm:A       a simulated LLM-like teacher right on a fraction A of the rows it answers: it errs
                                   mostly on short, negated and question/quoted texts, with the file's own confusions
                                   (which wrong label for which class), and abstains on 4 % of the rows
                       confuse:A   a simulated teacher right on a fraction A of the rows whose mistakes are systematic,
                                   as where two label descriptions overlap: ${CONFUSED_SHARE * 100} % of them turn one class X into
                                   one class Y (the file's most frequent teacher confusion), the rest spread at random
  --teacher-accuracy A
                     same as --settings hardest:A (not together with --settings)
  --main-only        run only the PeerKD variant (and the vanilla student inside it)
  --invariance       on each seed of the first setting, rerun PeerKD with the rows and the label set reversed and
                     report the largest difference (issue 12: it must be 0)
  --review-loop      after the PeerKD run of each seed, simulate a reviewer holding the gold labels: the top 100 rows
                     of the queue per round (accept a right suggestion, else set the gold label), re-ranked after
                     each round without retraining, until 10 % of the rows are reviewed; the same re-ranked and
                     retrained (a new run, review labels marked as such) every 500 decisions; the same with the run's
                     static ranking; then a student trained on each file's labels against one on all gold labels
  --json FILE        write every figure as JSON (its folder is created; an existing FILE is replaced only if it
                     is an earlier --json output)
  --docs FILE        write the tables into FILE between <!-- bench:start --> and <!-- bench:end -->
                     (both outputs are checked before the first seed runs, and written whole at the end)
  -h, --help         this help

${EXIT_CODES_HELP}
`;

/**
 * Lines of the run's log that come from the encoder (encoder.ts encodeTexts and pipeline.ts encodeRows): a use-lite
 * time estimate, an endpoint's cost estimate and its usage (`encoder endpoint: …`), an ignored cache line
 * (`warning: …`). The pipeline's own `encoder: <reason>` is left out: the bench says it with its figures.
 */
const ENCODER_LOG_LINE = /^(?:encoder [^:]+:|use-lite |warning: )/;

interface BenchRow {
  text: string;
  teacher: string | null;
  gold: string;
  /** The row's line in its file (for errors). */
  line?: number;
}

function readJsonl(file: string): { value: Record<string, unknown>; line: number }[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw fileError(file, error);
  }
  return text
    .split('\n')
    .map((line, index) => ({ line, index }))
    .filter(({ line }) => line.trim() !== '')
    .map(({ line, index }) => {
      try {
        return { value: JSON.parse(line) as Record<string, unknown>, line: index + 1 };
      } catch {
        throw new Error(`${file}:${index + 1}: not valid JSON`);
      }
    });
}

export function benchRows(file: string, needTeacher: boolean): BenchRow[] {
  return readJsonl(file).map(({ value, line }) => {
    if (typeof value.text !== 'string' || typeof value.gold_label !== 'string') {
      // A dataset without gold labels (one to review, not to benchmark) is the likely cause: said so.
      const why = value.gold_label === undefined || value.gold_label === null ? ': this row has no gold_label, and a benchmark scores against the gold label of every row (to find the wrong teacher labels of a dataset without them, run peerkd distill)' : '';
      throw new Error(`${file}:${line}: needs string fields text and gold_label${why}`);
    }
    const teacher = typeof value.teacher_label === 'string' ? value.teacher_label : null;
    if (needTeacher && value.teacher_label !== undefined && value.teacher_label !== null && teacher === null) {
      throw new Error(`${file}:${line}: teacher_label must be a string or null`);
    }
    return { text: value.text, teacher, gold: value.gold_label, line };
  });
}

/**
 * The label set a benchmark can be run on: the train rows' gold and teacher labels (after --limit), at least two, and
 * every test row's gold label among them — a test label no train row has would be scored as a miss that no student
 * can avoid, silently. Errors name the file (and the test row's line).
 */
export function checkBenchLabels(train: readonly BenchRow[], test: readonly BenchRow[], trainFile: string, testFile: string, limited: boolean): void {
  const labels = new Set(train.flatMap((row) => (row.teacher !== null ? [row.gold, row.teacher] : [row.gold])));
  const which = limited ? `the first ${train.length} rows of ${trainFile} (--limit)` : trainFile;
  if (labels.size < 2) {
    throw new Error(`${which}: the gold and teacher labels hold ${labels.size === 0 ? 'no label' : `one label only (${JSON.stringify([...labels][0])})`}; a benchmark needs at least 2`);
  }
  const unknown = test.find((row) => !labels.has(row.gold));
  if (unknown) {
    throw new Error(`${testFile}:${unknown.line ?? '?'}: gold_label ${JSON.stringify(unknown.gold)} is not a label of ${which} (${[...labels].sort().map((l) => JSON.stringify(l)).join(', ')}): no student could predict it`);
  }
}

/**
 * The bench's figures are plain numbers, NaN where a seed has none (no flagged row, no interval): the tables show
 * NaN as '—' (format) and leave it out of the mean. metrics.json's missing figures (null) become NaN here (notMeasured).
 */
export interface VariantFigures {
  advisedAccuracy: number;
  /** Accuracy on the gold labels of the peers' out-of-fold prediction (argmax of peer_probs), same rows. */
  peerAccuracy: number;
  flagged: number;
  flagPrecision: number;
  flagRecall: number;
  precisionAt100: number;
  precisionAt500: number;
  auroc: number;
  testAccuracy: number;
  /** ECE of the final student's top probability on the test rows (what `peerkd predict` serves). */
  testConfidenceEce: number;
  estimatedTeacherAccuracy: number;
  wallSeconds: number;
  phasesSeconds: Record<string, number>;
  rowsPerSecond: number;
  backend: string;
  /**
   * The encoder's part of the featurize phase (resolve, cache read, encoding the texts not in the cache), in seconds,
   * and how many rows came from the embedding cache; 0 and 0 for the words alone.
   */
  encodeSeconds: number;
  cachedRows: number;
  /** Calibration of what the engine tells the user (issue 9), on the rows with a teacher label and no human label. */
  calibration: CalibrationFigures;
}

export interface CalibrationFigures {
  /** Expected calibration error of p_teacher_wrong, 10 equal-width bins. */
  ece: number;
  /** Mean p_teacher_wrong of the flagged rows, next to their real precision. */
  flaggedMeanP: number;
  /** Σ p_teacher_wrong against the number of real teacher errors. */
  sumP: number;
  teacherErrors: number;
  /** The summary's teacher accuracy and 90 % interval, against the truth on the same rows. */
  teacherAccuracyTruth: number;
  estimate: number;
  estimateLow: number;
  estimateHigh: number;
  /** Expected number of wrong teacher labels among the flagged rows, its 90 % interval, and the real number. */
  flaggedWrongExpected: number;
  flaggedWrongLow: number;
  flaggedWrongHigh: number;
  flaggedWrongActual: number;
  /** Accuracy of the labels the engine adopts by itself vs the teacher's, on the same rows. */
  adoptedAccuracy: number;
  teacherAccuracy: number;
  /** Rows without a teacher label (abstentions): how many, accuracy of the advice, its mean stated probability. */
  abstainedRows: number;
  abstainedAdviceAccuracy: number;
  abstainedAdviceMeanP: number;
}

export interface SeedFigures {
  seed: number;
  teacherAccuracy: number;
  sftHumanTestAccuracy: number;
  sftGoldTestAccuracy: number;
  goldSubsetSize: number;
  /** The vanilla student of the same PeerKD run (its first phase), on the test set. */
  vanillaTestAccuracy: number;
  variants: Record<string, VariantFigures>;
  /** Rows and label set reversed (issue 12): the largest difference in any probability, and whether flags agree. */
  invariance?: { maxProbabilityDifference: number; sameFlags: boolean; sameAdvice: boolean };
  /** The simulated review loop (`--review-loop`). */
  reviewLoop?: ReviewLoopFigures;
  peakRssMb: number;
}

/** One point of the review loop: after `reviewed` rows reviewed. */
export interface ReviewLoopStep {
  reviewed: number;
  /** Wrong teacher labels among the reviewed rows, cumulative. */
  errorsFound: number;
  /** Accuracy of the file's labels on all train rows: human where present, else the label the engine adopts. */
  fileAccuracy: number;
}

export interface ReviewLoopFigures {
  /** Rows reviewed per round, and in all (10 % of the rows). */
  batch: number;
  budget: number;
  reranked: ReviewLoopStep[];
  static: ReviewLoopStep[];
  /** Test accuracy of a student trained on the file's labels after the loop, and of one trained on every gold label. */
  rerankedStudentTestAccuracy: number;
  staticStudentTestAccuracy: number;
  goldStudentTestAccuracy: number;
  /** Time of one re-rank (all rows), mean over the rounds, and of fitting the run's calibration once, ms. */
  rerankMs: number;
  prepareMs: number;
  /**
   * The second variant: re-ranked as above, and retrained (a new PeerKD run on every human label so far, the reviewed
   * ones marked as such) every REVIEW_LOOP_RETRAIN_EVERY decisions and at the end. Absent in older results.
   */
  retrained?: ReviewLoopStep[];
  retrainedStudentTestAccuracy?: number;
  /** Wall time of one retraining, mean, ms. */
  retrainMs?: number;
}

export interface SettingFigures {
  /** `data`, `hardest:0.94`, `llm:0.92`. */
  name: string;
  results: SeedFigures[];
}

interface Variant {
  name: string;
  options: Partial<DistillOptions>;
  tuning: Partial<EngineTuning>;
}

const MAIN = 'PeerKD';

/** Expected calibration error: Σ_bins |bin| / n · |mean predicted − observed rate|, equal-width bins on [0, 1]. */
export function expectedCalibrationError(predicted: readonly number[], observed: readonly boolean[], bins = 10): number {
  const sum = new Float64Array(bins);
  const hits = new Float64Array(bins);
  const count = new Float64Array(bins);
  predicted.forEach((p, i) => {
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    sum[bin] += p;
    hits[bin] += observed[i] ? 1 : 0;
    count[bin]++;
  });
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b] > 0) ece += Math.abs(sum[b] - hits[b]) / predicted.length;
  return predicted.length ? ece : NaN;
}

/**
 * ECE of a classifier's top probability (rows × classes) against whether its arg-max is the true label index: how far
 * the confidence it states is from its accuracy.
 */
export function confidenceCalibrationError(probabilities: ArrayLike<number>, truth: ArrayLike<number>, classes: number): number {
  const confidence: number[] = [];
  const right: boolean[] = [];
  for (let i = 0; i < truth.length; i++) {
    const best = argmax(probabilities, i * classes, classes);
    confidence.push(probabilities[i * classes + best]);
    right.push(best === truth[i]);
  }
  return expectedCalibrationError(confidence, right);
}

/** The label of the highest probability (the first in the record's order on a tie). */
function argmaxLabel(probs: Record<string, number>): string | undefined {
  let best: string | undefined;
  for (const [label, p] of Object.entries(probs)) if (best === undefined || p > probs[best]) best = label;
  return best;
}

function scoreVariant(out: DistillOutput, train: BenchRow[], humanSet: Set<number>, testProbs: Float32Array, testTruth: Int32Array, classes: number, wallSeconds: number): VariantFigures {
  const predictions = out.predictions.toArray(); // a benchmark's rows (thousands): one object each is fine
  const rest = train.map((_, i) => i).filter((i) => !humanSet.has(i) && train[i].teacher !== null);
  const isError = rest.map((i) => train[i].teacher !== train[i].gold);
  const scores = rest.map((i) => predictions[i].p_teacher_wrong);
  const flagged = rest.filter((i) => predictions[i].flagged);
  const flaggedErrors = flagged.filter((i) => train[i].teacher !== train[i].gold).length;
  const errors = isError.filter(Boolean).length;
  const advisedRows = train.map((_, i) => i).filter((i) => !humanSet.has(i));
  const abstained = train.map((_, i) => i).filter((i) => !humanSet.has(i) && train[i].teacher === null);
  const trust = out.metrics.trust;
  const notMeasured = (value: number | null) => value ?? NaN;
  const calibration: CalibrationFigures = {
    ece: expectedCalibrationError(scores, isError),
    flaggedMeanP: flagged.length ? flagged.reduce((a, i) => a + predictions[i].p_teacher_wrong, 0) / flagged.length : NaN,
    sumP: scores.reduce((a, b) => a + b, 0),
    teacherErrors: errors,
    teacherAccuracyTruth: rest.length ? 1 - errors / rest.length : NaN,
    estimate: notMeasured(trust.teacherAccuracy.estimate),
    estimateLow: notMeasured(trust.teacherAccuracy.low),
    estimateHigh: notMeasured(trust.teacherAccuracy.high),
    flaggedWrongExpected: trust.flaggedWrong.estimate,
    flaggedWrongLow: notMeasured(trust.flaggedWrong.low),
    flaggedWrongHigh: notMeasured(trust.flaggedWrong.high),
    flaggedWrongActual: flaggedErrors,
    adoptedAccuracy: rest.length ? rest.filter((i) => out.advisedLabels[i] === train[i].gold).length / rest.length : NaN,
    teacherAccuracy: rest.length ? rest.filter((i) => train[i].teacher === train[i].gold).length / rest.length : NaN,
    abstainedRows: abstained.length,
    abstainedAdviceAccuracy: abstained.length ? abstained.filter((i) => predictions[i].suggested === train[i].gold).length / abstained.length : NaN,
    abstainedAdviceMeanP: abstained.length ? abstained.reduce((a, i) => a + (probabilityOf(predictions[i].probs, predictions[i].suggested) ?? 0), 0) / abstained.length : NaN,
  };
  return {
    advisedAccuracy: advisedRows.filter((i) => out.advisedLabels[i] === train[i].gold).length / advisedRows.length,
    peerAccuracy: advisedRows.filter((i) => argmaxLabel(predictions[i].peer_probs) === train[i].gold).length / advisedRows.length,
    flagged: flagged.length,
    flagPrecision: flagged.length ? flaggedErrors / flagged.length : NaN,
    flagRecall: errors ? flaggedErrors / errors : NaN,
    precisionAt100: precisionAtK(scores, isError, 100),
    precisionAt500: precisionAtK(scores, isError, 500),
    auroc: auroc(scores, isError),
    testAccuracy: accuracyOf(testProbs, testTruth, classes),
    testConfidenceEce: confidenceCalibrationError(testProbs, testTruth, classes),
    estimatedTeacherAccuracy: notMeasured(out.metrics.estimatedTeacherAccuracy),
    wallSeconds,
    phasesSeconds: Object.fromEntries(Object.entries(out.metrics.timingsMs).map(([phase, ms]) => [phase, ms / 1000])),
    rowsPerSecond: out.metrics.rowsPerSecond,
    backend: out.metrics.backend,
    encodeSeconds: out.metrics.encoder.encodeMs / 1000,
    cachedRows: out.metrics.encoder.cachedRows,
    calibration,
  };
}

/** Rows and label set reversed must give the same result row by row (issue 12). */
async function invarianceCheck(rows: TrainingRow[], labels: string[], options: DistillOptions, reference: DistillOutput) {
  const reversed = [...rows].reverse();
  const out = await runDistillation({ rows: reversed, labels: [...labels].reverse() }, options);
  let maxProbabilityDifference = 0;
  let sameFlags = true;
  let sameAdvice = true;
  [...out.predictions].forEach((p, k) => {
    const i = rows.length - 1 - k;
    const q = reference.predictions.get(i);
    for (const label of labels) {
      for (const field of ['probs', 'peer_probs', 'vanilla_probs'] as const) {
        maxProbabilityDifference = Math.max(maxProbabilityDifference, Math.abs((probabilityOf(p[field], label) ?? NaN) - (probabilityOf(q[field], label) ?? NaN)));
      }
    }
    maxProbabilityDifference = Math.max(maxProbabilityDifference, Math.abs(p.p_teacher_wrong - q.p_teacher_wrong));
    if (p.flagged !== q.flagged) sameFlags = false;
    if (out.advisedLabels[k] !== reference.advisedLabels[i]) sameAdvice = false;
  });
  return { maxProbabilityDifference, sameFlags, sameAdvice };
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
  checkInvariance = false,
  withReviewLoop = false,
  tuning: Partial<EngineTuning> = {},
  /** The encoders' cache and the endpoint encoder's key (its server comes with `base.encoderEndpoint`). */
  encoders: EncoderEnvironment = {},
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
  let invariance: SeedFigures['invariance'];
  let reviewLoop: ReviewLoopFigures | undefined;
  for (const variant of variants) {
    const started = performance.now();
    const options = { ...base, ...variant.options, seed };
    // The encoder's own lines (its time or cost estimate before encoding, the requests and tokens an endpoint
    // answered, cache lines it ignored) go to the bench log, as in a distill's run.log; the rest of the run's log
    // is the figures below.
    const onLog = (line: string) => {
      if (ENCODER_LOG_LINE.test(line)) log(`seed ${seed}: ${variant.name}: ${line}`);
    };
    const out = await runDistillation({ rows, labels }, options, { encoders, onLog }, { ...tuning, ...variant.tuning });
    const wallSeconds = (performance.now() - started) / 1000;
    if (out.metrics.encoder.candidate) {
      const { encodeMs, cachedRows } = out.metrics.encoder;
      log(`seed ${seed}: ${variant.name}: encoder: ${out.metrics.encoder.reason}; encoded in ${(encodeMs / 1000).toFixed(1)} s, ${cachedRows} of ${rows.length} rows from the cache`);
    }
    const figures = scoreVariant(out, train, humanSet, await predictModel(out.model, testTexts, encoders), testTruth, classes, wallSeconds);
    variantFigures[variant.name] = figures;
    if (variant.name === MAIN) {
      // Vanilla KD is the method's own first phase: its student, scored on the test set the same way.
      vanillaTestAccuracy = accuracyOf(await predictModel(out.vanillaModel, testTexts, encoders), testTruth, classes);
      if (checkInvariance) invariance = await invarianceCheck(rows, labels, options, out);
      if (withReviewLoop) {
        // The loop's decisions reach the run as a real one's do: through the review log, which marks the reviewed rows.
        const retrain = (human: readonly (string | null)[], reviewLog: ReviewLog) => {
          const labelled = rows.map((row, i) => ({ ...row, human: human[i] }));
          const { marked } = markReviewedRows(labelled, undefined, reviewLog);
          log(`seed ${seed}: review loop: ${marked} human label(s) count as reviewed by the simulated review log`);
          return runDistillation({ rows: labelled, labels }, options, { encoders }, { ...tuning, ...variant.tuning });
        };
        reviewLoop = await simulateReviewLoop(train, labels, out, texts, testTexts, testTruth, seed, log, retrain);
      }
    }
    const c = figures.calibration;
    log(
      `seed ${seed}: ${variant.name}: adopted ${c.adoptedAccuracy.toFixed(4)} vs teacher ${c.teacherAccuracy.toFixed(4)}, P@100 ${figures.precisionAt100.toFixed(3)}, ` +
        `P@500 ${figures.precisionAt500.toFixed(3)}, AUROC ${figures.auroc.toFixed(3)}, flagged ${figures.flagged} ` +
        `(precision ${figures.flagPrecision.toFixed(3)}, mean p ${c.flaggedMeanP.toFixed(3)}), ECE ${c.ece.toFixed(3)}, Σp ${c.sumP.toFixed(0)} vs ${c.teacherErrors} errors, ` +
        `teacher ≈ ${format(c.estimate, 4)} [${format(c.estimateLow, 3)}, ${format(c.estimateHigh, 3)}] vs ${format(c.teacherAccuracyTruth, 4)}, ` +
        `flagged wrong ≈ ${format(c.flaggedWrongExpected, 0)} [${format(c.flaggedWrongLow, 0)}, ${format(c.flaggedWrongHigh, 0)}] vs ${c.flaggedWrongActual}, ` +
        `test ${figures.testAccuracy.toFixed(4)}${variant.name === MAIN ? ` vs vanilla ${vanillaTestAccuracy.toFixed(4)}` : ''}, ${wallSeconds.toFixed(1)} s` +
        (variant.name === MAIN && invariance ? `, reversed rows+labels: max |Δp| ${invariance.maxProbabilityDifference}, same flags ${invariance.sameFlags}` : ''),
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
    ...(invariance ? { invariance } : {}),
    ...(reviewLoop ? { reviewLoop } : {}),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

/** Rows reviewed per round of the simulated review loop, and the share of the rows it stops at. */
export const REVIEW_LOOP_BATCH = 100;
export const REVIEW_LOOP_SHARE = 0.1;
export const REVIEW_LOOP_RETRAIN_EVERY = 500;

/**
 * The review loop of issue 10 §2, simulated: an oracle holding the gold labels reviews the top REVIEW_LOOP_BATCH rows
 * of the queue per round (accepting a right suggestion and setting the gold label otherwise: either way the row's
 * human label becomes its gold label), the queue is re-ranked from the run's predictions and the human labels so far
 * (src/review/rerank.ts, no retraining), until REVIEW_LOOP_SHARE of the rows are reviewed. The static ranking (the
 * run's own order, never updated) is reviewed the same way beside it. Gold labels of unreviewed rows are used only to
 * score.
 */
export async function simulateReviewLoop(
  train: BenchRow[],
  labels: string[],
  out: DistillOutput,
  texts: string[],
  testTexts: string[],
  testTruth: Int32Array,
  seed: number,
  log: (line: string) => void,
  /** A new PeerKD run on these human labels (`reviewLog`: the loop's decisions, as Label Review logs them); none: no second variant. */
  retrain?: (human: readonly (string | null)[], reviewLog: ReviewLog) => Promise<DistillOutput>,
): Promise<ReviewLoopFigures> {
  const classes = labels.length;
  const index = new Map(labels.map((label, i) => [label, i]));
  const budget = Math.round(REVIEW_LOOP_SHARE * train.length);
  const fileAccuracy = (human: readonly (string | null)[], adopted: readonly (string | null)[]) =>
    train.filter((row, i) => (human[i] ?? adopted[i]) === row.gold).length / train.length;
  const isError = (i: number) => train[i].teacher !== null && train[i].teacher !== train[i].gold;

  /**
   * The oracle reviews the top REVIEW_LOOP_BATCH rows of the queue per round and the queue is re-ranked after each;
   * with `retrainRun`, PeerKD also runs again every REVIEW_LOOP_RETRAIN_EVERY decisions and at the end (the review
   * labels marked as such), and the queue is re-ranked from the new run.
   */
  const reviewLoop = async (retrainRun?: typeof retrain) => {
    const human = [...out.predictions].map((prediction) => prediction.human);
    const fromLoop = new Set<number>();
    // Each decision appended as Label Review appends it (review/reviewLog.ts), keyed as the panel keys rows.
    const rowKeys = assignRowKeys([...out.predictions].map((prediction) => prediction.id));
    const logLines: string[] = [];
    let started = performance.now();
    let ranker = prepareRerank({ labels: out.metrics.labels, predictions: out.predictions.toArray() });
    const prepareMs = performance.now() - started;
    let rerankMs = 0;
    let reranks = 0;
    let retrainMs = 0;
    let retrains = 0;
    let lastRun: DistillOutput | undefined;
    const rerankNow = () => {
      const begun = performance.now();
      const result = ranker.rerank(human);
      rerankMs += performance.now() - begun;
      reranks++;
      return result;
    };
    const steps: ReviewLoopStep[] = [];
    let errorsFound = 0;
    let reviewed = 0;
    let current = rerankNow();
    while (reviewed < budget && current.order.length > 0) {
      for (const i of current.order.slice(0, Math.min(REVIEW_LOOP_BATCH, budget - reviewed))) {
        human[i] = train[i].gold;
        fromLoop.add(i);
        logLines.push(formatReviewLogEntry({ key: rowKeys[i], label: train[i].gold, queue: 'flagged', run: null, action: 'decide', time: new Date(0).toISOString() }));
        if (isError(i)) errorsFound++;
        reviewed++;
      }
      if (retrainRun && (reviewed % REVIEW_LOOP_RETRAIN_EVERY === 0 || reviewed >= budget)) {
        started = performance.now();
        const run = await retrainRun(human, parseReviewLog(logLines.join(''), 'the simulated review log'));
        lastRun = run;
        retrainMs += performance.now() - started;
        retrains++;
        // Named by key, as a run lists them (training/reviewedRows.ts reviewedIdsOf): the reviewed rows, not every row with their id.
        const predictions = run.predictions.toArray();
        const keys = assignRowKeys(predictions.map((prediction) => prediction.id));
        ranker = prepareRerank({ labels: run.metrics.labels, predictions, reviewedIds: [...fromLoop].map((i) => keys[i]) });
        log(`seed ${seed}: review loop: retrained after ${reviewed} reviewed (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      }
      current = rerankNow();
      steps.push({ reviewed, errorsFound, fileAccuracy: fileAccuracy(human, current.adopted) });
    }
    const file = train.map((_, i) => human[i] ?? current.adopted[i]);
    return { steps, file, lastRun, prepareMs, rerankMs: rerankMs / reranks, retrainMs: retrains ? retrainMs / retrains : 0 };
  };

  // Re-ranked after every round.
  const rerankedLoop = await reviewLoop();
  const reranked = rerankedLoop.steps;
  const rerankedFile = rerankedLoop.file;

  // Static: the run's ranking and adopted labels, never updated.
  const staticHuman = [...out.predictions].map((prediction) => prediction.human);
  const staticOrder = [...out.predictions]
    .map((prediction, i) => ({ p: prediction.p_teacher_wrong, i }))
    .filter(({ i }) => staticHuman[i] === null && train[i].teacher !== null)
    .sort((x, y) => y.p - x.p || x.i - y.i)
    .map(({ i }) => i);
  const staticSteps: ReviewLoopStep[] = [];
  let staticErrors = 0;
  for (let k = 0; k < Math.min(budget, staticOrder.length); k++) {
    const i = staticOrder[k];
    staticHuman[i] = train[i].gold;
    if (isError(i)) staticErrors++;
    if ((k + 1) % REVIEW_LOOP_BATCH === 0 || k + 1 === Math.min(budget, staticOrder.length)) {
      staticSteps.push({ reviewed: k + 1, errorsFound: staticErrors, fileAccuracy: fileAccuracy(staticHuman, out.advisedLabels) });
    }
  }
  const staticFile = train.map((_, i) => staticHuman[i] ?? out.advisedLabels[i]);

  // Re-ranked and retrained every REVIEW_LOOP_RETRAIN_EVERY decisions (and at the end, for the file's adopted labels).
  const retrainedLoop = retrain ? await reviewLoop(retrain) : undefined;
  const retrained = retrainedLoop?.steps;
  const retrainedFile = retrainedLoop?.file;

  reranked.forEach((step, k) => {
    const other = staticSteps[k];
    log(
      `seed ${seed}: review loop: ${step.reviewed} reviewed: teacher errors found ${step.errorsFound} (static ${other?.errorsFound ?? '—'}), ` +
        `file label accuracy ${step.fileAccuracy.toFixed(4)} (static ${other ? other.fileAccuracy.toFixed(4) : '—'})`,
    );
  });

  // Final students on the file's labels (rows with a label, as the engine's final student), and on every gold label.
  const student = async (fileLabels: readonly (string | null)[], weightOf?: (row: number) => number) => {
    const subset = train.map((_, i) => i).filter((i) => fileLabels[i] !== null && index.has(fileLabels[i]!));
    const targets = new Float32Array(subset.length * classes);
    subset.forEach((row, k) => (targets[k * classes + index.get(fileLabels[row]!)!] = 1));
    const model = await trainOnTargets(subset.map((row) => texts[row]), targets, classes, seed * 7919 + 5, {}, texts, weightOf ? Float32Array.from(subset, weightOf) : undefined);
    return accuracyOf(predictTexts(model, testTexts), testTruth, classes);
  };
  const rerankedStudentTestAccuracy = await student(rerankedFile);
  const staticStudentTestAccuracy = await student(staticFile);
  const goldStudentTestAccuracy = await student(train.map((row) => row.gold));
  // The retrained file's student follows the engine's final recipe: where the last run adopted labels, each row
  // without a human label weighs π(its label)^k as that run's final student did (metrics.finalWeighting).
  const lastRun = retrainedLoop?.lastRun;
  const power = lastRun?.metrics.finalWeighting ?? 0;
  const weightOf =
    lastRun && power > 0
      ? (row: number) => {
          const prediction = lastRun.predictions.get(row);
          return prediction.human !== null ? 1 : Math.pow(prediction.probs[retrainedFile![row]!] ?? 1, power);
        }
      : undefined;
  const retrainedStudentTestAccuracy = retrainedFile ? await student(retrainedFile, weightOf) : undefined;
  if (retrainedStudentTestAccuracy !== undefined) {
    log(
      `seed ${seed}: review loop: final student on the retrained file ${retrainedStudentTestAccuracy.toFixed(4)} ` +
        `(rows ${weightOf ? `weighted by π^${power}, as the last run's final student` : 'unweighted: the last run adopted no label'}; errors found ${retrained!.at(-1)?.errorsFound ?? 0})`,
    );
  }
  log(
    `seed ${seed}: review loop: final student on the re-ranked file ${rerankedStudentTestAccuracy.toFixed(4)}, on the static file ` +
      `${staticStudentTestAccuracy.toFixed(4)}, on all gold labels ${goldStudentTestAccuracy.toFixed(4)}; one re-rank of ${train.length} rows ` +
      `${rerankedLoop.rerankMs.toFixed(1)} ms (calibration fitted once in ${rerankedLoop.prepareMs.toFixed(0)} ms)`,
  );
  return {
    batch: REVIEW_LOOP_BATCH,
    budget,
    reranked,
    static: staticSteps,
    rerankedStudentTestAccuracy,
    staticStudentTestAccuracy,
    goldStudentTestAccuracy,
    rerankMs: rerankedLoop.rerankMs,
    prepareMs: rerankedLoop.prepareMs,
    ...(retrainedLoop ? { retrained, retrainedStudentTestAccuracy, retrainMs: retrainedLoop.retrainMs } : {}),
  };
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
    // The student this setting was defined with (no label smoothing), so that a change of the student's defaults
    // leaves the benchmark's teacher, and every figure measured against it, as it was.
    const model = await trainOnTargets(trainIdx.map((row) => texts[row]), targets, classes, 99 + held, { student: { ...DEFAULT_TUNING.student, labelSmoothing: 0 } }, texts);
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

const NEGATION = /\b(not|no|never|none|nothing|nobody|neither|nor|without|cannot|can't|won't|don't|doesn't|didn't|isn't|aren't|wasn't|weren't|fails?|failed|denies|denied|despite)\b/i;

/**
 * An LLM-like teacher (issue 9's third setting), right on a fraction `accuracy` of the rows it answers. What an LLM
 * gets wrong is the surface of the text more than its topic: short texts (the shortest quarter), negations, questions
 * and quotes (irony, hedging) carry 3, 2 and 2 times more risk of an error, added up. The wrong label follows the
 * data's own confusions (for gold label y, drawn from the file's teacher labels on rows of gold y where they are
 * wrong; uniform over the other labels where the file has none). It abstains on `abstain` of the rows, drawn with the
 * same risk. Every draw is seeded and fixed: the teacher is a property of the data set, not of the benchmark seed.
 */
export function simulateLlmTeacher(train: BenchRow[], accuracy: number, abstain = 0.04): BenchRow[] {
  const labels = [...new Set(train.map((row) => row.gold))].sort();
  const random = new SeededRandom(20261206);
  const words = train.map((row) => row.text.split(/\s+/).filter(Boolean).length);
  const shortLimit = [...words].sort((a, b) => a - b)[Math.floor(words.length / 4)];
  const risk = train.map((row, i) => 1 + 3 * Number(words[i] <= shortLimit) + 2 * Number(NEGATION.test(row.text)) + 2 * Number(/[?"“”]/.test(row.text)));
  // Weighted sampling without replacement (Efraimidis–Spirakis): the k largest u^(1/w).
  const draw = (candidates: number[], k: number) =>
    new Set(
      candidates
        .map((i) => ({ i, key: Math.log(Math.max(random.next(), 1e-300)) / risk[i] }))
        .sort((a, b) => b.key - a.key || a.i - b.i)
        .slice(0, k)
        .map(({ i }) => i),
    );
  const all = train.map((_, i) => i);
  const abstained = draw(all, Math.round(abstain * train.length));
  const answered = all.filter((i) => !abstained.has(i));
  const wrong = draw(answered, Math.round((1 - accuracy) * answered.length));
  const confusions = new Map<string, string[]>();
  for (const row of train) {
    if (row.teacher !== null && row.teacher !== row.gold) confusions.set(row.gold, [...(confusions.get(row.gold) ?? []), row.teacher]);
  }
  return train.map((row, i) => {
    if (abstained.has(i)) return { ...row, teacher: null };
    if (!wrong.has(i)) return { ...row, teacher: row.gold };
    const pool = confusions.get(row.gold) ?? labels.filter((label) => label !== row.gold);
    return { ...row, teacher: pool[random.int(pool.length)] };
  });
}

/**
 * A teacher whose mistakes are systematic, as an LLM's are when two label descriptions overlap: right on a fraction
 * `accuracy` of the rows (round((1 − accuracy) · N) mistakes, no abstention), and CONFUSED_SHARE of its mistakes turn
 * one class X into one other class Y, in that direction only. (X, Y) is the file's most frequent teacher confusion
 * (gold X, teacher_label Y; ties to the first pair in label order); the first two labels where the file's teacher makes
 * none. The X rows turned into Y are first those the file's own teacher already called Y (the texts that read as Y),
 * then X rows drawn at random; at most every X row, the remaining mistakes go to the spread. The spread: rows of any
 * other gold class drawn at random, each given a uniformly drawn wrong label (never X → Y, so the systematic share is
 * exact). Every draw is seeded and fixed, as in simulateLlmTeacher.
 */
export function simulateConfusedTeacher(train: BenchRow[], accuracy: number, share = CONFUSED_SHARE): BenchRow[] {
  const labels = [...new Set(train.map((row) => row.gold).concat(train.flatMap((row) => (row.teacher !== null ? [row.teacher] : []))))].sort();
  if (labels.length < 2) throw new UsageError(`confuse:A needs at least two labels, the data has ${labels.length}`);
  const random = new SeededRandom(20261207);
  const counts = new Map<string, number>();
  for (const row of train) {
    if (row.teacher !== null && row.teacher !== row.gold) counts.set(`${row.gold}\u0000${row.teacher}`, (counts.get(`${row.gold}\u0000${row.teacher}`) ?? 0) + 1);
  }
  let [from, to] = [labels[0], labels[1]];
  let best = 0;
  for (const x of labels) {
    for (const y of labels) {
      const n = counts.get(`${x}\u0000${y}`) ?? 0;
      if (n > best) [from, to, best] = [x, y, n];
    }
  }
  const errors = Math.round((1 - accuracy) * train.length);
  const fromRows = train.map((_, i) => i).filter((i) => train[i].gold === from);
  const looksLikeTo = fromRows.filter((i) => train[i].teacher === to);
  const others = random.shuffle(fromRows.filter((i) => train[i].teacher !== to));
  const systematic = new Set([...looksLikeTo, ...others].slice(0, Math.min(fromRows.length, Math.round(share * errors))));
  const rest = random.shuffle(train.map((_, i) => i).filter((i) => train[i].gold !== from));
  // Too few rows outside X for the mistakes left (X dominant): the teacher would be right more often than asked.
  if (systematic.size + rest.length < errors) {
    throw new UsageError(
      `confuse:${accuracy} needs ${errors} mistakes in ${train.length} rows, but this data allows ${systematic.size + rest.length} (${systematic.size} of ${JSON.stringify(from)} into ${JSON.stringify(to)}, one on each of the ${rest.length} rows of the other labels): ask for a higher accuracy`,
    );
  }
  const spread = new Set(rest.slice(0, errors - systematic.size));
  return train.map((row, i) => {
    if (systematic.has(i)) return { ...row, teacher: to };
    if (!spread.has(i)) return { ...row, teacher: row.gold };
    const pool = labels.filter((label) => label !== row.gold);
    return { ...row, teacher: pool[random.int(pool.length)] };
  });
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function format(value: number, digits = 4): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

interface TargetCheck {
  text: string;
  /** true when the figure meets the target on this seed. */
  met: (value: number) => boolean;
  /** For a target on all the seeds together (a mean, a share of seeds): the met column, in place of `met` per seed. */
  overall?: (values: number[]) => string;
}

/** A target on the mean over the seeds that have the figure. */
const meanAtLeast = (min: number, digits: number): TargetCheck => ({
  text: `≥ ${min.toFixed(2)} (mean)`,
  met: () => true,
  overall: (values) => {
    const finite = values.filter(Number.isFinite);
    if (finite.length === 0) return '—';
    const m = mean(finite);
    return m >= min - 1e-12 ? 'yes' : `**no** (mean ${format(m, digits)})`;
  },
});

/**
 * The intervals' target: the truth inside on at least 9 seeds in 10, counted over the seeds that have an interval
 * (1 = covered, 0 = not, NaN = no interval: no human label, or no row to estimate).
 */
const COVERAGE_TARGET: TargetCheck = {
  text: '≥ 9 seeds in 10',
  met: () => true,
  overall: (values) => {
    const finite = values.filter(Number.isFinite);
    if (finite.length === 0) return '—';
    const covered = finite.filter((v) => v === 1).length;
    return covered >= 0.9 * finite.length - 1e-12 ? 'yes' : `**no** (${covered} of ${finite.length} seeds)`;
  },
};

/** 1 where [low, high] holds the truth, 0 where it does not, NaN where there is no interval or no truth. */
export function covers(low: number, high: number, truth: number): number {
  return Number.isFinite(low) && Number.isFinite(high) && Number.isFinite(truth) ? Number(low <= truth && truth <= high) : NaN;
}

/** One table per setting: every figure per seed, with mean, min and max over the seeds (issue 12), and a target column. */
export function markdownTables(setting: SettingFigures, command: string, withTargets: boolean): string {
  const { results } = setting;
  const seeds = results.map((r) => r.seed);
  const header = `| figure | ${seeds.map((s) => `seed ${s}`).join(' | ')} | mean | min | max |${withTargets ? ' target (every seed) | met |' : ''}`;
  const divider = `| --- | ${seeds.map(() => '---:').join(' | ')} | ---: | ---: | ---: |${withTargets ? ' --- | --- |' : ''}`;
  const line = (name: string, values: number[], digits = 4, target?: TargetCheck) => {
    const finite = values.filter(Number.isFinite);
    const failing = target ? values.filter((v) => !target.met(v)).length : 0;
    const met = target?.overall ? target.overall(values) : target ? (failing === 0 ? 'yes' : `**no** (${failing} of ${values.length} seeds)`) : '';
    return (
      `| ${name} | ${values.map((v) => format(v, digits)).join(' | ')} | ${format(finite.length ? mean(finite) : NaN, digits)} | ` +
      `${format(finite.length ? Math.min(...finite) : NaN, digits)} | ${format(finite.length ? Math.max(...finite) : NaN, digits)} |` +
      `${withTargets ? ` ${target?.text ?? ''} | ${met} |` : ''}`
    );
  };
  const atLeast = (min: number, text = `≥ ${min}`): TargetCheck => ({ text, met: (v) => v >= min - 1e-12 });
  const within = (limit: number, text: string): TargetCheck => ({ text, met: (v) => Math.abs(v) <= limit + 1e-12 });
  const isData = setting.name === 'data';
  // A P@k target on a file with fewer teacher errors to rank than it asks for cannot be met by any ranking (100 errors:
  // P@500 is at most 0.200): said so, not a "**no**" that reads as a failure of the method.
  const precisionTarget = (min: number, k: number): TargetCheck => {
    const target = meanAtLeast(min, 3);
    const errors = c((f) => f.teacherErrors).filter(Number.isFinite); // the main variant's, as the targets
    const fewest = errors.length ? Math.min(...errors) : NaN;
    if (!(fewest < min * k)) return target;
    return { ...target, overall: () => `n/a (a seed has ${fewest} teacher errors to rank: P@${k} is at most ${format(Math.min(fewest, k) / k, 3)})` };
  };
  const variantNames = Object.keys(results[0].variants);
  const v = (name: string, pick: (f: VariantFigures) => number) => results.map((r) => pick(r.variants[name]));
  const out: string[] = [`#### Setting \`${setting.name}\``, '', `Command: \`${command}\``, '', header, divider];
  out.push(line('teacher label accuracy (all rows)', results.map((r) => r.teacherAccuracy)));
  out.push(line('SFT on the human labels, test accuracy', results.map((r) => r.sftHumanTestAccuracy)));
  out.push(line(`SFT on ${results[0].goldSubsetSize} gold labels, test accuracy`, results.map((r) => r.sftGoldTestAccuracy)));
  out.push(line('vanilla KD (the run’s own vanilla student), test accuracy', results.map((r) => r.vanillaTestAccuracy)));
  const main = results[0].variants[MAIN] ? MAIN : variantNames[0];
  const c = (pick: (f: CalibrationFigures) => number) => v(main, (f) => pick(f.calibration));
  out.push(`| **${main}: what the user is told** | ${seeds.map(() => '').join(' | ')} | | | |${withTargets ? ' | |' : ''}`);
  out.push(line('ECE of p_teacher_wrong (10 bins)', c((f) => f.ece), 3, { text: '≤ 0.03', met: (x) => x <= 0.03 }));
  out.push(line('flagged rows: mean p_teacher_wrong', c((f) => f.flaggedMeanP), 3));
  out.push(line('flagged rows: real precision', v(main, (f) => f.flagPrecision), 3));
  out.push(line('flagged: mean p − precision', results.map((r) => r.variants[main].calibration.flaggedMeanP - r.variants[main].flagPrecision), 3, within(0.05, '±0.05')));
  out.push(line('Σ p_teacher_wrong', c((f) => f.sumP), 0));
  out.push(line('real teacher errors', c((f) => f.teacherErrors), 0));
  out.push(line('Σp / errors − 1', c((f) => f.sumP / f.teacherErrors - 1), 3, within(0.1, '±0.10')));
  out.push(line('estimated teacher accuracy', c((f) => f.estimate)));
  out.push(line('… 90 % interval, low', c((f) => f.estimateLow)));
  out.push(line('… 90 % interval, high', c((f) => f.estimateHigh)));
  out.push(line('real teacher accuracy (same rows)', c((f) => f.teacherAccuracyTruth)));
  out.push(line('estimate − truth', c((f) => f.estimate - f.teacherAccuracyTruth), 4, within(0.02, '±0.02')));
  out.push(line('interval covers the truth (1 = yes)', c((f) => covers(f.estimateLow, f.estimateHigh, f.teacherAccuracyTruth)), 0, COVERAGE_TARGET));
  out.push(line('flagged rows: expected wrong', c((f) => f.flaggedWrongExpected), 1));
  out.push(line('… 90 % interval, low', c((f) => f.flaggedWrongLow), 1));
  out.push(line('… 90 % interval, high', c((f) => f.flaggedWrongHigh), 1));
  out.push(line('flagged rows: really wrong', c((f) => f.flaggedWrongActual), 0));
  out.push(line('interval covers the truth (1 = yes)', c((f) => covers(f.flaggedWrongLow, f.flaggedWrongHigh, f.flaggedWrongActual)), 0, COVERAGE_TARGET));
  out.push(line('adopted labels, accuracy', c((f) => f.adoptedAccuracy)));
  out.push(line('teacher labels, accuracy (same rows)', c((f) => f.teacherAccuracy)));
  out.push(line('adopted − teacher', c((f) => f.adoptedAccuracy - f.teacherAccuracy), 4, isData ? atLeast(0.02, '≥ +0.02') : atLeast(0, '≥ 0')));
  out.push(line('final student, test accuracy', v(main, (f) => f.testAccuracy), 4, isData ? atLeast(0.83) : undefined));
  out.push(line('final − vanilla, test accuracy', results.map((r) => r.variants[main].testAccuracy - r.vanillaTestAccuracy), 4, atLeast(0, '≥ 0')));
  out.push(line('final student, ECE of its top probability on the test rows', v(main, (f) => f.testConfidenceEce), 3));
  if (results[0].variants[main].calibration.abstainedRows > 0) {
    out.push(line('rows without a teacher label', c((f) => f.abstainedRows), 0));
    out.push(line('… advice accuracy', c((f) => f.abstainedAdviceAccuracy)));
    out.push(line('… mean stated probability of the advice', c((f) => f.abstainedAdviceMeanP)));
    out.push(line('… stated − real', c((f) => f.abstainedAdviceMeanP - f.abstainedAdviceAccuracy), 3, within(0.05, '±0.05')));
  }
  if (results.some((r) => r.invariance)) {
    out.push(line('rows and labels reversed: largest |Δ probability|', results.map((r) => r.invariance?.maxProbabilityDifference ?? NaN), 6, { text: '0', met: (x) => x === 0 }));
    out.push(line('rows and labels reversed: same flags and advice (1 = yes)', results.map((r) => (r.invariance ? Number(r.invariance.sameFlags && r.invariance.sameAdvice) : NaN)), 0, { text: '1', met: (x) => x === 1 }));
  }
  for (const name of variantNames) {
    const isMain = name === main;
    out.push(`| **${name}** | ${seeds.map(() => '').join(' | ')} | | | |${withTargets ? ' | |' : ''}`);
    out.push(line(`${name}: final student, test accuracy`, v(name, (f) => f.testAccuracy)));
    out.push(line(`${name}: final student, ECE of its top probability (test)`, v(name, (f) => f.testConfidenceEce), 3));
    out.push(line(`${name}: advised-label accuracy (non-human rows)`, v(name, (f) => f.advisedAccuracy)));
    out.push(line(`${name}: peer out-of-fold accuracy (non-human rows)`, v(name, (f) => f.peerAccuracy)));
    out.push(line(`${name}: precision@100 of the ranking`, v(name, (f) => f.precisionAt100), 3, isMain && isData ? precisionTarget(0.93, 100) : undefined));
    out.push(line(`${name}: precision@500 of the ranking`, v(name, (f) => f.precisionAt500), 3, isMain && isData ? precisionTarget(0.8, 500) : undefined));
    out.push(line(`${name}: AUROC of the ranking`, v(name, (f) => f.auroc), 3));
    out.push(line(`${name}: flagged rows`, v(name, (f) => f.flagged), 0));
    out.push(line(`${name}: flag precision`, v(name, (f) => f.flagPrecision), 3));
    out.push(line(`${name}: flag recall`, v(name, (f) => f.flagRecall), 3));
    out.push(line(`${name}: wall time, s`, v(name, (f) => f.wallSeconds), 1));
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

/**
 * The review loop's table (issue 10 §2): per 100 reviewed rows, teacher errors found and the file's label accuracy,
 * re-ranked and static, each the mean over the seeds; then the final students. Targets: ≥ 800 errors among the first
 * 1,000 reviewed rows, and the re-ranked file's student within 1.5 points of the all-gold student (means over seeds).
 */
export function reviewLoopTable(setting: SettingFigures, withTargets: boolean): string {
  const loops = setting.results.map((r) => r.reviewLoop).filter((loop): loop is ReviewLoopFigures => loop !== undefined);
  if (loops.length === 0) return '';
  const seeds = setting.results.filter((r) => r.reviewLoop).map((r) => r.seed);
  const out = [
    `#### Review loop, setting \`${setting.name}\` (mean over seeds ${seeds.join(', ')})`,
    '',
    `An oracle with the gold labels reviews the top ${loops[0].batch} rows of the queue per round, until ${loops[0].budget} rows (10 %) are reviewed.`,
    '',
    '| reviewed | errors found, re-ranked | errors found, re-ranked + retrained | errors found, static | file label accuracy, re-ranked | file label accuracy, re-ranked + retrained | file label accuracy, static |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const steps = Math.max(...loops.map((loop) => loop.reranked.length));
  for (let k = 0; k < steps; k++) {
    const pick = (list: (loop: ReviewLoopFigures) => ReviewLoopStep[], field: keyof ReviewLoopStep) => mean(loops.map((loop) => list(loop)[k]?.[field] ?? NaN));
    out.push(
      `| ${format(pick((l) => l.reranked, 'reviewed'), 0)} | ${format(pick((l) => l.reranked, 'errorsFound'), 1)} | ${format(pick((l) => l.retrained ?? [], 'errorsFound'), 1)} | ${format(pick((l) => l.static, 'errorsFound'), 1)} | ` +
        `${format(pick((l) => l.reranked, 'fileAccuracy'))} | ${format(pick((l) => l.retrained ?? [], 'fileAccuracy'))} | ${format(pick((l) => l.static, 'fileAccuracy'))} |`,
    );
  }
  const errorsAt1000 = (list: ReviewLoopStep[]) => list.find((step) => step.reviewed === 1000)?.errorsFound ?? NaN;
  const rerankedAt1000 = mean(loops.map((loop) => errorsAt1000(loop.reranked)));
  const staticAt1000 = mean(loops.map((loop) => errorsAt1000(loop.static)));
  const reranked = mean(loops.map((loop) => loop.rerankedStudentTestAccuracy));
  const gold = mean(loops.map((loop) => loop.goldStudentTestAccuracy));
  const met = (ok: boolean) => (withTargets ? (ok ? 'yes' : '**no**') : '—');
  out.push(
    '',
    '| figure | ' + seeds.map((s) => `seed ${s}`).join(' | ') + ' | mean | target | met |',
    '| --- | ' + seeds.map(() => '---:').join(' | ') + ' | ---: | --- | --- |',
    `| errors found in the first 1,000 reviewed, re-ranked | ${loops.map((l) => format(errorsAt1000(l.reranked), 0)).join(' | ')} | ${format(rerankedAt1000, 1)} | ≥ 800 | ${met(rerankedAt1000 >= 800)} |`,
    `| errors found in the first 1,000 reviewed, static | ${loops.map((l) => format(errorsAt1000(l.static), 0)).join(' | ')} | ${format(staticAt1000, 1)} | | |`,
    `| student on the re-ranked file, test accuracy | ${loops.map((l) => format(l.rerankedStudentTestAccuracy)).join(' | ')} | ${format(reranked)} | | |`,
    `| errors found in the first 1,000 reviewed, re-ranked + retrained every ${REVIEW_LOOP_RETRAIN_EVERY} | ${loops.map((l) => format(errorsAt1000(l.retrained ?? []), 0)).join(' | ')} | ${format(mean(loops.map((l) => errorsAt1000(l.retrained ?? []))), 1)} | ≥ 800 | ${met(mean(loops.map((l) => errorsAt1000(l.retrained ?? []))) >= 800)} |`,
    `| student on the re-ranked + retrained file, test accuracy | ${loops.map((l) => format(l.retrainedStudentTestAccuracy ?? NaN)).join(' | ')} | ${format(mean(loops.map((l) => l.retrainedStudentTestAccuracy ?? NaN)))} | | |`,
    `| re-ranked + retrained − all gold | ${loops.map((l) => format((l.retrainedStudentTestAccuracy ?? NaN) - l.goldStudentTestAccuracy)).join(' | ')} | ${format(mean(loops.map((l) => (l.retrainedStudentTestAccuracy ?? NaN) - l.goldStudentTestAccuracy)))} | ≥ −0.015 | ${met(mean(loops.map((l) => (l.retrainedStudentTestAccuracy ?? NaN) - l.goldStudentTestAccuracy)) >= -0.015 - 1e-12)} |`,
    `| one retraining, s | ${loops.map((l) => format((l.retrainMs ?? NaN) / 1000, 1)).join(' | ')} | ${format(mean(loops.map((l) => (l.retrainMs ?? NaN) / 1000)), 1)} | | |`,
    `| student on the static file, test accuracy | ${loops.map((l) => format(l.staticStudentTestAccuracy)).join(' | ')} | ${format(mean(loops.map((l) => l.staticStudentTestAccuracy)))} | | |`,
    `| student on all gold labels, test accuracy | ${loops.map((l) => format(l.goldStudentTestAccuracy)).join(' | ')} | ${format(gold)} | | |`,
    `| re-ranked − all gold | ${loops.map((l) => format(l.rerankedStudentTestAccuracy - l.goldStudentTestAccuracy)).join(' | ')} | ${format(reranked - gold)} | ≥ −0.015 | ${met(reranked - gold >= -0.015 - 1e-12)} |`,
    `| one re-rank of every row, ms | ${loops.map((l) => format(l.rerankMs, 1)).join(' | ')} | ${format(mean(loops.map((l) => l.rerankMs)), 1)} | well under 1,000 | ${met(mean(loops.map((l) => l.rerankMs)) < 1000)} |`,
    `| the run's calibration refitted once, ms | ${loops.map((l) => format(l.prepareMs, 0)).join(' | ')} | ${format(mean(loops.map((l) => l.prepareMs)), 0)} | | |`,
  );
  return out.join('\n');
}

async function replaceBetweenMarkers(file: string, content: string): Promise<void> {
  const text = readFileSync(file, 'utf8');
  const from = text.indexOf(BENCH_START);
  const to = text.indexOf(BENCH_END);
  if (from < 0 || to < from) throw new Error(`${file} has no ${BENCH_START} … ${BENCH_END} block to write the tables into`);
  await writeFileAtomic(file, text.slice(0, from + BENCH_START.length) + '\n' + content + '\n' + text.slice(to));
}

export function createBenchCommand(io: CliIo = { stdout: process.stdout, stderr: process.stderr }): CliCommand {
  return {
    name: 'bench',
    summary: 'Benchmark PeerKD against its baselines on a dataset with gold labels',
    // As every command: a usage error prints the help and exits 2, any other error is one line, exit 1.
    run: (argv) => runCommand('bench', BENCH_HELP, io, (out, err) => runBench(argv, out, err)),
  };
}

export const benchCommand = createBenchCommand();

/**
 * The count flags that ask for more rows than DATA_DIR holds, each said as a warning; the bench then takes what there
 * is (every row), as it always did for --limit and --test-limit. --human is capped at the train rows (after --limit);
 * at that cap every train row is human, so the figures about the rows without a human label have nothing to measure.
 */
export function countFlagWarnings(
  asked: { human: number; limit?: number; testLimit?: number },
  rows: { train: number; test: number },
  files: { train: string; test: string },
): string[] {
  const warnings: string[] = [];
  if (asked.limit !== undefined && asked.limit > rows.train) warnings.push(`--limit ${asked.limit} is more than the ${rows.train} rows of ${files.train}: all ${rows.train} are used`);
  if (asked.testLimit !== undefined && asked.testLimit > rows.test) warnings.push(`--test-limit ${asked.testLimit} is more than the ${rows.test} rows of ${files.test}: all ${rows.test} are used`);
  const train = Math.min(rows.train, asked.limit ?? rows.train);
  const trainRows = `the ${train} train rows${asked.limit !== undefined && asked.limit <= rows.train ? ' (--limit)' : ''}`;
  if (asked.human >= train) {
    warnings.push(
      `--human ${asked.human} is ${asked.human > train ? 'more than' : 'all of'} ${trainRows}: every train row is human, so no row is left for the figures about the rows without a human label (flags, P@k, AUROC, calibration show —); give --human below ${train} to measure them`,
    );
  }
  return warnings;
}

/** The flags `peerkd bench` accepts: the one table the parser reads and its --help is checked against. */
export const BENCH_OPTIONS = {
  human: { type: 'string' },
  seeds: { type: 'string' },
  settings: { type: 'string' },
  'main-only': { type: 'boolean', default: false },
  invariance: { type: 'boolean', default: false },
  'review-loop': { type: 'boolean', default: false },
  folds: { type: 'string' },
  stages: { type: 'string' },
  backend: { type: 'string' },
  encoder: { type: 'string', default: DEFAULT_DISTILL_OPTIONS.encoder },
  'encoder-keep': { type: 'string', default: 'if-better' },
  'label-smoothing': { type: 'string' },
  'final-weighting': { type: 'string' },
  ...ENCODER_ENDPOINT_OPTIONS,
  'embedding-cache': { type: 'string' },
  limit: { type: 'string' },
  'test-limit': { type: 'string' },
  ablations: { type: 'boolean', default: false },
  json: { type: 'string' },
  docs: { type: 'string' },
  'teacher-accuracy': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} satisfies ParseArgsConfig['options'];

const BENCH_START = '<!-- bench:start -->';
const BENCH_END = '<!-- bench:end -->';

/** `--seeds`: comma-separated integers ≥ 0, each once (a repeated seed would count twice in every mean). */
export function seedsOption(text: string | undefined): number[] {
  if (text === undefined) return [0, 1, 2, 3, 4];
  const seeds = text.split(',').map((part) => integerFlag(part.trim(), 'seeds', 0, 0));
  const repeated = seeds.find((seed, index) => seeds.indexOf(seed) !== index);
  if (repeated !== undefined) throw new UsageError(`--seeds lists seed ${repeated} twice, got '${text}': each seed once`);
  return seeds;
}

/** `--settings` (or `--teacher-accuracy A`, the same as `hardest:A`): the names of the teachers to run, each once. */
export function settingsOption(settings: string | undefined, teacherAccuracy: string | undefined): string[] {
  if (settings !== undefined && teacherAccuracy !== undefined) {
    throw new UsageError(`--teacher-accuracy ${teacherAccuracy} is the same as --settings hardest:${teacherAccuracy}: give one of them (add hardest:${teacherAccuracy} to --settings)`);
  }
  const names = (settings ?? (teacherAccuracy !== undefined ? `hardest:${teacherAccuracy}` : 'data')).split(',').map((name) => name.trim());
  for (const name of names) {
    const match = /^(hardest|llm|confuse):(.+)$/.exec(name);
    // A plain decimal fraction: not '0x1', 'Infinity' or '' (Number would read '0x1' as 1).
    const accuracy = match ? decimalNumber(match[2]) : NaN;
    if (name !== 'data' && !(accuracy > 0 && accuracy <= 1)) {
      throw new UsageError(`--settings: '${name}' is not data, hardest:A, llm:A or confuse:A with A in (0, 1]`);
    }
  }
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) throw new UsageError(`--settings lists '${repeated}' twice: each setting once (it would run again and print the same table)`);
  return names;
}

/**
 * Checks, before the first seed runs, that the bench may write --json and --docs: neither is one of its inputs, inside
 * PeerKD's own folder, a folder or read-only; --docs exists and holds the markers; an existing --json is an earlier
 * --json output (a file of the user's, `--json train.jsonl` typed for `--json train.json`, is never replaced).
 */
async function assertBenchOutputs(json: string | undefined, docs: string | undefined, inputs: readonly string[]): Promise<void> {
  for (const [flag, file] of [['--json', json], ['--docs', docs]] as const) {
    if (file === undefined) continue;
    for (const input of inputs) {
      await assertNotSameFile(input, file, { input, output: `${flag} ${file}` }).catch(rethrowSameFile);
    }
    await assertOutsidePeerkdFolder(file, `${flag} ${file}`);
  }
  if (json !== undefined && docs !== undefined) await assertNotSameFile(docs, json, { input: `--docs ${docs}`, output: `--json ${json}` }).catch(rethrowSameFile);
  if (docs !== undefined) {
    await assertReadableFile(docs, `--docs ${docs}`);
    await assertReplaceable(docs).catch((error: Error) => {
      throw new Error(`--docs ${error.message}`);
    });
    const text = readFileSync(docs, 'utf8');
    const from = text.indexOf(BENCH_START);
    if (from < 0 || text.indexOf(BENCH_END) < from) throw new Error(`--docs ${docs} has no ${BENCH_START} … ${BENCH_END} block to write the tables into`);
  }
  if (json !== undefined) {
    // A missing folder is made when the figures are written; the nearest one that exists must be a folder.
    let folder = path.dirname(path.resolve(json));
    while (!existsSync(folder) && path.dirname(folder) !== folder) folder = path.dirname(folder);
    if (!statSync(folder).isDirectory()) throw new Error(`--json ${json}: ${folder} is not a folder`);
    if (folder !== path.dirname(path.resolve(json))) return;
    const { target, stats } = await assertReplaceable(json).catch((error: Error) => {
      throw new Error(`--json ${error.message}`);
    });
    if (stats !== undefined && stats.size > 0n) {
      let value: unknown;
      try {
        value = JSON.parse(readFileSync(target, 'utf8'));
      } catch {
        value = undefined;
      }
      const earlier = typeof value === 'object' && value !== null && typeof (value as { command?: unknown }).command === 'string' && ((value as { command: string }).command.startsWith('peerkd bench')) && Array.isArray((value as { settings?: unknown }).settings);
      if (!earlier) throw new Error(`--json ${json} exists and is not an output of peerkd bench --json, so it is not replaced; choose another file, or remove it first`);
    }
  }
}

/** assertNotSameFile's refusal; its other errors (a file that cannot be read) are said where the file is used. */
function rethrowSameFile(error: Error): void {
  if (error.message.includes('refusing to write over the input')) throw error;
}

async function runBench(argv: string[], out: Terminal, err: Terminal): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, BENCH_OPTIONS, { positionals: ['DATA_DIR'], flags: ['json', 'docs', 'embedding-cache'] });
  if (values.help) {
    out.lines(BENCH_HELP.replace(/\n$/, '').split('\n'));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one DATA_DIR, got ${positionals.length}`);
  const dir = positionals[0];
  // Every flag is checked before a file is read: a usage error is exit 2, whatever DATA_DIR holds.
  const humanCount = integerFlag(values.human, 'human', 0, 50);
  const seeds = seedsOption(values.seeds);
  const limit = values.limit === undefined ? undefined : integerFlag(values.limit, 'limit', 10, 0);
  const testLimit = values['test-limit'] === undefined ? undefined : integerFlag(values['test-limit'], 'test-limit', 1, 0);
  const settingNames = settingsOption(values.settings, values['teacher-accuracy']);
  const folds = integerFlag(values.folds, 'folds', 2, 2);
  const stages = integerFlag(values.stages, 'stages', 1, 2, MAX_STAGES);
  const backend = choiceOption(values, 'backend', BACKEND_PREFERENCES, 'auto');
  // These were checked after the data was read: a typo in --label-smoothing or --encoder waited for train.jsonl to
  // load, and a file problem hid it (exit 1 instead of 2).
  const keepEncoder = values['encoder-keep'];
  const embeddingCache = values['embedding-cache'] !== undefined ? path.resolve(values['embedding-cache']) : undefined;
  if (keepEncoder !== 'if-better' && keepEncoder !== 'always') throw new UsageError(`--encoder-keep must be if-better or always, got '${keepEncoder}'`);
  const smoothingText = values['label-smoothing'];
  const labelSmoothing = smoothingText === undefined ? DEFAULT_STUDENT_SMOOTHING : decimalNumber(smoothingText);
  if (smoothingText !== undefined && !(labelSmoothing >= 0 && labelSmoothing < 1)) {
    throw new UsageError(`--label-smoothing must be a number in [0, 1), got '${smoothingText}'`);
  }
  const weightingText = values['final-weighting'];
  const finalWeighting = weightingText === undefined ? DEFAULT_TUNING.finalWeighting : decimalNumber(weightingText);
  if (weightingText !== undefined && !(finalWeighting >= 0 && Number.isFinite(finalWeighting))) {
    throw new UsageError(`--final-weighting must be a finite number ≥ 0, got '${weightingText}'`);
  }
  const encoder = encoderOption(values.encoder, DEFAULT_DISTILL_OPTIONS.encoder ?? 'none');
  await assertEncoderFolder(encoder);
  const flags = encoderEndpointFromFlags(values, process.env);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`${dir}: a file, not a folder; DATA_DIR is the folder holding train.jsonl and test.jsonl`);
  const trainFile = path.join(dir, 'train.jsonl');
  const testFile = path.join(dir, 'test.jsonl');
  await assertReadableFile(trainFile);
  await assertReadableFile(testFile);
  await assertBenchOutputs(values.json, values.docs, [trainFile, testFile]);
  const dataTrain = benchRows(trainFile, true);
  let test = benchRows(testFile, false);
  const testRows = test.length;
  const limited = limit !== undefined ? dataTrain.slice(0, limit) : dataTrain;
  if (testLimit !== undefined) test = test.slice(0, testLimit);
  checkBenchLabels(limited, test, trainFile, testFile, limit !== undefined);
  for (const warning of countFlagWarnings({ human: humanCount, limit, testLimit }, { train: dataTrain.length, test: testRows }, { train: trainFile, test: testFile })) err.line(`warning: ${warning}`);
  // Every setting is checked before the first one runs, so that a typo in the last is not found after the others.
  const settingSpecs = settingNames.map((name) => {
    if (name === 'data') return { name, kind: 'data', accuracy: 1 } as const;
    const match = /^(hardest|llm|confuse):(.+)$/.exec(name) as RegExpExecArray;
    const accuracy = decimalNumber(match[2]);
    // A confused teacher the data cannot give (too few rows outside its confused class) is refused now, not later.
    if (match[1] === 'confuse') simulateConfusedTeacher(limited, accuracy);
    return { name, kind: match[1] as 'hardest' | 'llm' | 'confuse', accuracy };
  });
  const settingTrain = async ({ kind, accuracy }: (typeof settingSpecs)[number]): Promise<BenchRow[]> => {
    if (kind === 'data') return limited;
    if (kind === 'confuse') return simulateConfusedTeacher(limited, accuracy);
    return kind === 'hardest' ? simulateStrongTeacher(limited, accuracy) : simulateLlmTeacher(limited, accuracy);
  };
  const base: DistillOptions = {
    folds,
    stages,
    seed: 0,
    backend,
    finalTargets: 'auto',
    student: 'fasttext',
    encoder,
  };
  // The endpoint encoder: its server in the options, its key from the environment, its vectors cached in DATA_DIR
  // (the seeds and variants embed the same texts once).
  const encoders: EncoderEnvironment = { cacheDir: embeddingCache ?? path.join(dir, EMBEDDING_CACHE_DIR_NAME), apiKey: flags.apiKey, fetch: proxyAwareFetch(process.env) };
  if (base.encoder === 'endpoint') {
    const endpoint = endpointSettings(flags.settings);
    base.encoderEndpoint = flags.settings ?? { baseUrl: endpoint.baseUrl, model: endpoint.model };
    encoders.endpoint = base.encoderEndpoint;
  }
  const variants: Variant[] = values['main-only']
    ? [{ name: MAIN, options: {}, tuning: {} }]
    : [
        { name: 'naive PA-KD (K=2, hard)', options: { folds: 2, stages: 1, finalTargets: 'hard' }, tuning: { advice: 'naive' } },
        { name: MAIN, options: {}, tuning: {} },
        { name: 'PeerKD without the do-no-harm guard', options: {}, tuning: { changeGuard: 'off' } },
        { name: 'PeerKD without label smoothing', options: {}, tuning: { student: { ...DEFAULT_TUNING.student, labelSmoothing: 0 } } },
        { name: 'PeerKD without weighting the final student', options: {}, tuning: { finalWeighting: 0 } },
      ];
  if (values.ablations) {
    variants.push(
      { name: 'PeerKD K=5', options: { folds: 5 }, tuning: {} },
      { name: 'PeerKD hard final targets', options: { finalTargets: 'hard' }, tuning: {} },
      { name: 'PeerKD 1 stage', options: { stages: 1 }, tuning: {} },
      { name: 'PeerKD 3 stages', options: { stages: 3 }, tuning: {} },
    );
  }
  const log = (line: string) => err.line(line);
  const command = `peerkd bench ${argv.join(' ')}`;
  const settings: SettingFigures[] = [];
  for (const spec of settingSpecs) {
    const { name } = spec;
    const train = await settingTrain(spec);
    const labels = [...new Set(train.map((row) => row.gold).concat(train.flatMap((row) => (row.teacher ? [row.teacher] : []))))].sort();
    log(`bench ${name}: ${train.length} train rows, ${test.length} test rows, labels ${labels.join(', ')}, ${Math.min(humanCount, train.length)} human rows, seeds ${seeds.join(',')}`);
    const results: SeedFigures[] = [];
    for (const seed of seeds) {
      results.push(await benchmarkSeed(train, test, labels, seed, humanCount, base, variants, log, values.invariance && settings.length === 0, values['review-loop'], { keepEncoder, finalWeighting, student: { ...DEFAULT_TUNING.student, labelSmoothing } }, encoders));
    }
    settings.push({ name, results });
  }
  const tables = settings
    .map((setting) => [markdownTables(setting, command, limit === undefined), ...(values['review-loop'] ? [reviewLoopTable(setting, limit === undefined)] : [])].join('\n\n'))
    .join('\n\n');
  out.lines(tables.split('\n'));
  // Whole or not at all: a bench stopped while writing (Ctrl-C, SIGTERM) leaves the earlier file, never half a JSON.
  if (values.json !== undefined) mkdirSync(path.dirname(path.resolve(values.json)), { recursive: true });
  if (values.json !== undefined) await writeFileAtomic(values.json, JSON.stringify({ command, settings }, null, 2) + '\n');
  if (values.docs !== undefined) await replaceBetweenMarkers(values.docs, tables);
  return 0;
}
