/**
 * Which human labels came from reviewing a run's queue rather than from a random sample (issue 10 §2, "Retrain with
 * My Labels"; docs/METHOD.md §4c). Plain TypeScript.
 *
 * A reviewed row was chosen because the run doubted its teacher label, so a set of reviewed rows is the top of a
 * ranking, not a sample: its teacher accuracy is far below the file's (AG News: about 20 % among the first 1,000
 * reviewed, against 80 % overall). Used as calibration pairs they would tell the engine that the teacher is mostly
 * wrong. So the engine trains on them like any human label but leaves them out of every estimator that assumes a
 * random sample (calibration.ts isSampleLabel): the teacher's confusion, the recalibration, the do-no-harm test, the
 * 90 % intervals, the encoder choice and the human-label checks of the summary.
 *
 * Rule: a human label counts as reviewed when the review log of the dataset (src/review/reviewLog.ts: what Label
 * Review and the quick fixes wrote) says its row's latest decision was exactly that label. Any other human label is
 * the random sample, even on a row the previous run flagged or doubted (typed by hand, written by a script): the
 * summary asks for random labels, and some of them land on queued rows, where the teacher is more often wrong, so
 * setting those aside by queue membership biased the sample (the teacher looked better than it is).
 *
 * Before the log: when the dataset has no log and the previous run was made before it (settings.json without
 * `reviewedBeforeLog`), the old rule stands — a human label on a row that run showed in a review queue without one
 * (flagged, or among its doubtful rows: doubtful.ts, Label Review's `doubtful` queue) counts as reviewed — and the
 * run log says so. Keys counted reviewed that way (settings.json `reviewedBeforeLog`, or `reviewedIds` of a run from
 * before the log) stay reviewed in the runs after, log or not, so a chain of retrainings keeps the distinction.
 *
 * Rows are matched by key (src/review/rowKeys.ts), as Label Review matches them: the id, and where rows share an id,
 * the row's order among them, so a decision on one of them makes that row reviewed, not every row with its id. A
 * decision on a row that shares its id also names the row's text (ReviewLogEntry.text): such a row is found by id and
 * text, so twins swapped or sorted since keep their own decisions; by its key only where no row has that text now. Where
 * this run cannot tell which row a decision meant, the label counts as reviewed (left out of the sample) and the log
 * says why: an id now on another number of rows than when it was decided (or queued), or, while a row without an id
 * (known by the hash of its text) that was decided (or queued) is gone from the file, a human label on a row without
 * an id whose text the previous run never saw (the same row with its text edited, as far as this run can tell).
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { latestKnownRun, latestRunAmong, PREDICTIONS_FILE, SETTINGS_FILE } from './artifacts';
import { idIdentity, TEXT_IDENTITY_PREFIX, textIdentity } from '../dataset/fields';
import { IdIndex } from '../dataset/idIndex';
import { keyParts, rowKey } from '../review/rowKeys';
import type { ReviewLog } from '../review/reviewLog';
import { doubtfulRanks, isDoubtCandidate } from './doubtful';
import { listLines } from './input';
import type { Prediction, TrainingRow } from './types';

export interface PreviousRun {
  runId: string;
  /**
   * Keys (src/review/rowKeys.ts: the id, with the row's order where rows share it) of the rows that run showed for
   * review without a human label: its flagged rows, then its doubtful rows (doubtful.ts). A human label on one of them
   * now came from review.
   */
  queuedKeys: readonly string[];
  /** settings.json `reviewedIds` of that run: keys as above; plain ids from runs before keys (absent: none reviewed, or a run before the list). */
  reviewedIds?: readonly string[];
  /** settings.json `reviewedBeforeLog` of that run; absent: a run made before the review log. */
  reviewedBeforeLog?: readonly string[];
  /** Of the identities readPreviousRun was asked to look for (`watch`), those the run predicted; absent: not asked. */
  seen?: ReadonlySet<string>;
}

export interface ReviewedRows {
  /** Rows marked reviewed, the unsure ones included. */
  marked: number;
  /** Of them, the rows marked because this run cannot tell which row the previous run meant (`warnings` say why). */
  unsure: number;
  /** For the run log: why the unsure rows count as reviewed, and what to do about it. */
  warnings: string[];
  /**
   * What decided: `log`, the review log (and keys carried from runs before it); `queues`, the rule from before the log
   * (no log, and the previous run made before it); `none`, neither (no log, no earlier decisions).
   */
  rule: 'log' | 'queues' | 'none';
  /** Of the rows marked, those by the rule from before the log (settings.json `reviewedBeforeLog`), as keys. */
  beforeLog: string[];
}

/** A key decided by the rule from before the log: any human label on it counts as reviewed. */
const ANY_LABEL = Symbol('any label');

/** At most this many ids named one by one in the warnings about ids on another number of rows. */
const IDS_IN_WARNINGS = 5;

/**
 * The key (src/review/rowKeys.ts) of each row that `wanted` picks, in file order, with how many rows share its id.
 * Only the ids of the rows picked are counted, so a million-row file with a few hundred human labels costs a small map.
 */
function keyedRows(rows: readonly TrainingRow[], wanted: (row: TrainingRow) => boolean): { row: TrainingRow; key: string; total: number }[] {
  const totals = new Map<string, number>();
  for (const row of rows) if (wanted(row)) totals.set(row.id, 0);
  for (const row of rows) {
    const total = totals.get(row.id);
    if (total !== undefined) totals.set(row.id, total + 1);
  }
  const seen = new Map<string, number>();
  const keyed: { row: TrainingRow; key: string; total: number }[] = [];
  for (const row of rows) {
    const total = totals.get(row.id);
    if (total === undefined) continue;
    const occurrence = (seen.get(row.id) ?? 0) + 1;
    seen.set(row.id, occurrence);
    if (wanted(row)) keyed.push({ row, key: rowKey(row.id, occurrence, total), total });
  }
  return keyed;
}

/** The identities readPreviousRun looks for (`watch`): those of the rows without an id that carry a human label now. */
export function identitiesToWatch(rows: readonly TrainingRow[]): Set<string> {
  return new Set(rows.filter((row) => row.human !== null && row.id.startsWith(TEXT_IDENTITY_PREFIX)).map((row) => row.id));
}

/**
 * Marks `reviewed` on the rows whose human label came from review (see above): the review log's decisions, the keys
 * carried from runs before the log, and, with no log after a run made before it, that run's queues. Says how many,
 * and why of the unsure ones. Rows without a human label are left unmarked.
 */
export function markReviewedRows(rows: TrainingRow[], previous: PreviousRun | undefined, log?: ReviewLog): ReviewedRows {
  // Row key → the label decided in review there (ANY_LABEL: any, the rule from before the log).
  const decided = new Map<string, string | typeof ANY_LABEL>();
  const legacy = previous ? (previous.reviewedBeforeLog ?? previous.reviewedIds ?? []) : [];
  const queues = previous !== undefined && previous.reviewedBeforeLog === undefined && log === undefined;
  const rule: ReviewedRows['rule'] = log ? 'log' : queues ? 'queues' : legacy.length > 0 ? 'log' : 'none';
  const result: ReviewedRows = { marked: 0, unsure: 0, warnings: [], rule, beforeLog: [] };
  for (const key of [...legacy, ...(queues ? previous.queuedKeys : [])]) decided.set(key, ANY_LABEL);
  // Rows that share an id, decided with their text (ReviewLogEntry.text): found by id and text, whatever their order
  // now (twins swapped or sorted). A decision whose text no row has now (edited since) falls back to its key.
  const byText = new Map<TrainingRow, string | null>();
  const textsFound = new Map<string, Set<string>>();
  if (log && log.byText.size > 0) {
    for (const row of rows) {
      const texts = log.byText.get(row.id);
      if (!texts) continue;
      const text = textIdentity(row.text);
      const decision = texts.get(text);
      if (decision === undefined) continue;
      byText.set(row, decision.label);
      textsFound.set(row.id, (textsFound.get(row.id) ?? new Set()).add(text));
    }
  }
  const byKey = [...(log?.latest ?? [])];
  for (const [id, texts] of log?.byText ?? []) {
    for (const [text, { label, key }] of texts) if (!textsFound.get(id)?.has(text)) byKey.push([key, label]);
  }
  const fromLog = new Set<string>();
  for (const [key, label] of byKey) {
    if (label === null || decided.has(key)) continue;
    decided.set(key, label);
    fromLog.add(key);
  }
  if (decided.size === 0 && byText.size === 0) return result;
  const matches = (key: string, human: string | null) => {
    const label = decided.get(key);
    return label !== undefined && (label === ANY_LABEL || label === human);
  };
  const where = (key: string) => (fromLog.has(key) ? `the review log (${log?.file})` : `run ${previous?.runId}`);
  // Per id decided: how many rows had it when it was decided (or queued), and where that was said.
  const namedTotals = new Map<string, Set<number>>();
  const namedKeys = new Map<string, string[]>();
  for (const key of decided.keys()) {
    const { id, total } = keyParts(key);
    const totals = namedTotals.get(id);
    if (totals) totals.add(total);
    else namedTotals.set(id, new Set([total]));
    namedKeys.set(id, [...(namedKeys.get(id) ?? []), key]);
  }
  // Rows without an id decided (or queued), and that no row of the file is now.
  const goneText = new Set([...namedTotals.keys()].filter((id) => id.startsWith(TEXT_IDENTITY_PREFIX)));
  if (goneText.size > 0) for (const row of rows) goneText.delete(row.id);
  const goneLabels = new Set<string | typeof ANY_LABEL>([...goneText].flatMap((id) => (namedKeys.get(id) ?? []).map((key) => decided.get(key)!)));
  const otherCount = new Map<string, { total: number; runTotals: Set<number>; lines: number[]; where: string }>();
  const newTextLines: number[] = [];
  for (const { row, key, total } of keyedRows(rows, (candidate) => candidate.human !== null)) {
    if (byText.has(row) && decided.get(key) !== ANY_LABEL) {
      // Found by its id and text: reviewed when its latest decision is its label now, whatever its order.
      if (byText.get(row) === row.human) {
        row.reviewed = true;
        result.marked++;
      }
      continue;
    }
    let unsure = false;
    let viaAny = decided.get(key) === ANY_LABEL && matches(key, row.human);
    if (!matches(key, row.human)) {
      const keys = (namedKeys.get(row.id) ?? []).filter((named) => matches(named, row.human));
      const runTotals = new Set(keys.map((named) => keyParts(named).total));
      if (keys.length > 0 && [...runTotals].some((runTotal) => runTotal !== total)) {
        // The id is on another number of rows than when it was decided: which row was it?
        const entry = otherCount.get(row.id) ?? { total, runTotals, lines: [], where: where(keys[0]) };
        entry.lines.push(row.line);
        otherCount.set(row.id, entry);
        unsure = true;
        viaAny = keys.every((named) => decided.get(named) === ANY_LABEL);
      } else if (
        goneText.size > 0 &&
        row.id.startsWith(TEXT_IDENTITY_PREFIX) &&
        previous?.seen &&
        !previous.seen.has(row.id) &&
        (goneLabels.has(ANY_LABEL) || goneLabels.has(row.human!))
      ) {
        newTextLines.push(row.line);
        unsure = true;
        viaAny = !goneLabels.has(row.human!);
      } else {
        continue;
      }
    }
    if (viaAny) result.beforeLog.push(key);
    row.reviewed = true;
    result.marked++;
    if (unsure) result.unsure++;
  }
  const ids = [...otherCount];
  for (const [id, { total, runTotals, lines, where: named }] of ids.slice(0, IDS_IN_WARNINGS)) {
    const then = [...runTotals].filter((runTotal) => runTotal !== total).join(' or ');
    // A row without an id is known by the hash of its text, which means nothing to the reader: its line says it.
    const name = id.startsWith(TEXT_IDENTITY_PREFIX) ? `the text of line ${lines[0]} (rows without an id)` : `id ${JSON.stringify(id)}`;
    result.warnings.push(
      `${name} is on ${total} row${total === 1 ? '' : 's'} now but was on ${then} in ${named}, so this run cannot tell which one was reviewed: ` +
        `the human label${lines.length === 1 ? '' : 's'} on line${lines.length === 1 ? '' : 's'} ${listLines(lines)} count as reviewed, not as the random sample; give each row its own id`,
    );
  }
  if (ids.length > IDS_IN_WARNINGS) {
    const more = ids.slice(IDS_IN_WARNINGS).reduce((sum, [, entry]) => sum + entry.lines.length, 0);
    result.warnings.push(`… and ${ids.length - IDS_IN_WARNINGS} more ids on another number of rows than when they were reviewed: ${more} more human label(s) count as reviewed, not as the random sample`);
  }
  if (newTextLines.length > 0) {
    result.warnings.push(
      `${newTextLines.length} human label(s) on rows without an id (line${newTextLines.length === 1 ? '' : 's'} ${listLines(newTextLines)}) are on text that run ${previous?.runId} never saw, ` +
        `while ${goneText.size} row(s) without an id labelled in review (or queued by a run before the review log) are no longer in the file with that text: ` +
        'a row without an id is known by its text, so this run cannot tell whether those labels were set in review on a row whose text was edited since; ' +
        'they count as reviewed, not as the random sample. Give each row an id to keep a label set in review known as one through edits of its text',
    );
  }
  return result;
}

/**
 * The keys of the rows a run showed for review without a human label (PreviousRun.queuedKeys): its flagged rows,
 * then its doubtful rows (doubtful.ts). Fed one prediction at a time in file order, it keeps only what the rule needs
 * — the flagged rows' ids and orders, the id, order and p of each doubt candidate, and an IdIndex (dataset/idIndex.ts)
 * to tell the rows that share an id apart — so readPreviousRun can stream a million-line file through it.
 */
export class QueuedKeys {
  private readonly flagged: { id: string; occurrence: number }[] = [];
  private readonly candidates: { id: string; occurrence: number }[] = [];
  private readonly candidateScores: number[] = [];
  private readonly ids = new IdIndex();
  /** Rows seen so far with each id seen more than once (the others: one). */
  private readonly repeated = new Map<string, number>();
  private count = 0;

  add(prediction: Pick<Prediction, 'id' | 'teacher' | 'human' | 'flagged' | 'p_teacher_wrong'>): void {
    const id = prediction.id;
    let occurrence = 1;
    if (this.ids.firstLine(id, ++this.count) !== undefined) {
      occurrence = (this.repeated.get(id) ?? 1) + 1;
      this.repeated.set(id, occurrence);
    }
    if (prediction.flagged && prediction.human === null) this.flagged.push({ id, occurrence });
    else if (isDoubtCandidate(prediction)) {
      this.candidates.push({ id, occurrence });
      this.candidateScores.push(prediction.p_teacher_wrong);
    }
  }

  keys(): string[] {
    const key = ({ id, occurrence }: { id: string; occurrence: number }) => rowKey(id, occurrence, this.repeated.get(id) ?? 1);
    return [...this.flagged.map(key), ...doubtfulRanks(this.candidateScores).rows.map((position) => key(this.candidates[position]))];
  }
}

/** PreviousRun.queuedKeys of a run's predictions (QueuedKeys over them). */
export function queuedKeysOf(predictions: readonly Pick<Prediction, 'id' | 'teacher' | 'human' | 'flagged' | 'p_teacher_wrong'>[]): string[] {
  const queued = new QueuedKeys();
  for (const prediction of predictions) queued.add(prediction);
  return queued.keys();
}

/**
 * What markReviewedRows needs of the newest complete run of this dataset (in any runs folder it used:
 * artifacts.ts knownRunsDirs), or undefined when there is none: the rows it
 * showed for review without a human label (flagged or doubtful, queuedKeysOf), its `reviewedIds`, and which of the
 * identities in `watch` (identitiesToWatch) it predicted. predictions.jsonl is streamed line by line through
 * QueuedKeys, which keeps only what the rule needs (a million-row run's file is never held as one string, nor as
 * objects, before training). Errors name the file and line.
 */
export async function readPreviousRun(datasetPath: string, where?: string | { runsDirs: readonly string[] }, watch?: ReadonlySet<string>): Promise<PreviousRun | undefined> {
  // The newest run of the dataset in any runs folder it used (knownRunsDirs): the runs folder may have changed since
  // (peerkd.outputDir, --out), and the run reviewed then is in the old one. Run ids sort by time. `where`: the runs
  // folder named now (outputDir), whose list of known folders is read here; or those folders, read by the caller (the
  // worker, which reads the review logs of the same folders: one read of the list per run).
  const latest = typeof where === 'object' ? await latestRunAmong(datasetPath, where.runsDirs) : await latestKnownRun(datasetPath, where);
  if (latest === undefined) return undefined;
  const { runId, runDir } = latest;
  const settingsFile = path.join(runDir, SETTINGS_FILE);
  let settings: unknown;
  try {
    settings = JSON.parse(await readFile(settingsFile, 'utf8'));
  } catch (error) {
    throw new Error(`${settingsFile}: ${(error as Error).message}`);
  }
  const listed = typeof settings === 'object' && settings !== null ? (settings as { reviewedIds?: unknown }).reviewedIds : undefined;
  const reviewedIds = Array.isArray(listed) ? listed.filter((id): id is string => typeof id === 'string') : undefined;
  const beforeLog = typeof settings === 'object' && settings !== null ? (settings as { reviewedBeforeLog?: unknown }).reviewedBeforeLog : undefined;
  const reviewedBeforeLog = Array.isArray(beforeLog) ? beforeLog.filter((id): id is string => typeof id === 'string') : undefined;
  const predictionsFile = path.join(runDir, PREDICTIONS_FILE);
  const queued = new QueuedKeys();
  const seen = watch ? new Set<string>() : undefined;
  const lines = createInterface({ input: createReadStream(predictionsFile, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown;
    const head = headOfPrediction(text);
    try {
      value = JSON.parse(head);
    } catch (error) {
      throw new Error(`${predictionsFile}:${line}: invalid JSON (${(error as Error).message})`);
    }
    const fields = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    const { teacher, human, flagged, p_teacher_wrong: p } = fields;
    // An id the dataset writes as a number is one there too: its identity as the dataset core reads it (7 is "7", one
    // beyond 2^53 its digits, not JSON.parse's rounding), so the reviewed row is found by it.
    const id = typeof fields.id === 'number' ? idIdentity(fields, ['id'], head) : fields.id;
    if (
      typeof id !== 'string' ||
      (teacher !== null && typeof teacher !== 'string') ||
      (human !== null && typeof human !== 'string') ||
      typeof flagged !== 'boolean' ||
      typeof p !== 'number' ||
      !Number.isFinite(p)
    ) {
      throw new Error(`${predictionsFile}:${line}: not a prediction (id, teacher, human, flagged and p_teacher_wrong expected)`);
    }
    queued.add({ id, teacher, human, flagged, p_teacher_wrong: p });
    if (seen && watch?.has(id)) seen.add(id);
  }
  return { runId, queuedKeys: queued.keys(), reviewedIds, ...(reviewedBeforeLog ? { reviewedBeforeLog } : {}), ...(seen ? { seen } : {}) };
}

/**
 * What to record in settings.json `reviewedIds`: the keys of the reviewed rows (src/review/rowKeys.ts; a unique id is
 * its own key), so that of rows sharing an id the next run marks the reviewed one only.
 */
export function reviewedIdsOf(rows: readonly TrainingRow[]): string[] {
  return keyedRows(rows, (row) => row.reviewed === true).map(({ key }) => key);
}

/**
 * The part of a predictions.jsonl line before its probability records, closed as an object: the writer puts `probs`
 * after the fields the reviewed-row rule reads (id, teacher, human, flagged, p_teacher_wrong), and those records are
 * most of each line, so a million-line file is parsed in about half the time. `,"probs":` cannot occur inside a JSON
 * string (a quote there is escaped), so the cut is always between fields; a line without it is parsed whole.
 */
export function headOfPrediction(line: string): string {
  const cut = line.indexOf(',"probs":');
  return cut > 0 ? `${line.slice(0, cut)}}` : line;
}
