/**
 * Which human labels came from reviewing a run's queue rather than from a random sample (issue 10 §2, "Retrain with
 * My Labels"). Plain TypeScript.
 *
 * A reviewed row was chosen because the run doubted its teacher label, so a set of reviewed rows is the top of a
 * ranking, not a sample: its teacher accuracy is far below the file's (AG News: about 20 % among the first 1,000
 * reviewed, against 80 % overall). Used as calibration pairs they would tell the engine that the teacher is mostly
 * wrong. So the engine trains on them like any human label but leaves them out of every estimator that assumes a
 * random sample (calibration.ts isSampleLabel): the teacher's confusion, the recalibration, the do-no-harm test, the
 * 90 % intervals, the encoder choice and the human-label checks of the summary.
 *
 * Rule: a row's human label counts as reviewed when the previous run of the dataset showed that row in a review queue
 * while it had no human label — flagged it, or listed it among its doubtful rows (doubtful.ts: the unflagged rows it
 * ranks first, Label Review's `doubtful` queue) — (the user labelled it after seeing the run's doubt: in Label Review,
 * through a quick fix, or by hand), or when the previous run already counted it as reviewed (settings.json
 * `reviewedIds`), so a chain of retrainings keeps the distinction. Human labels on other rows count as the sample.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { latestRunId, PREDICTIONS_FILE, resolveRunsDir, SETTINGS_FILE } from './artifacts';
import { doubtfulRanks, isDoubtCandidate } from './doubtful';
import type { Prediction, TrainingRow } from './types';

export interface PreviousRun {
  runId: string;
  /**
   * Ids of the rows that run showed for review without a human label: its flagged rows, then its doubtful rows
   * (doubtful.ts). A human label on one of them now came from review.
   */
  queuedIds: readonly string[];
  /** settings.json `reviewedIds` of that run (absent: a run that predates it, or none were reviewed). */
  reviewedIds?: readonly string[];
}

/**
 * Marks `reviewed` on the rows whose human label came from review (see above); returns how many. Rows without a human
 * label are left unmarked. Matched by row id (ids shared by several rows: all of them).
 */
export function markReviewedRows(rows: TrainingRow[], previous: PreviousRun | undefined): number {
  if (!previous) return 0;
  const fromReview = new Set([...(previous.reviewedIds ?? []), ...previous.queuedIds]);
  let marked = 0;
  for (const row of rows) {
    if (row.human !== null && fromReview.has(row.id)) {
      row.reviewed = true;
      marked++;
    }
  }
  return marked;
}

/**
 * The ids of the rows a run showed for review without a human label (PreviousRun.queuedIds): its flagged rows, then
 * its doubtful rows (doubtful.ts). Fed one prediction at a time in file order, it keeps only what the rule needs — the
 * flagged ids, and the id and p of each doubt candidate — so readPreviousRun can stream a million-line file through it.
 */
export class QueuedIds {
  private readonly flagged: string[] = [];
  private readonly candidateIds: string[] = [];
  private readonly candidateScores: number[] = [];

  add(prediction: Pick<Prediction, 'id' | 'teacher' | 'human' | 'flagged' | 'p_teacher_wrong'>): void {
    if (prediction.flagged && prediction.human === null) this.flagged.push(prediction.id);
    else if (isDoubtCandidate(prediction)) {
      this.candidateIds.push(prediction.id);
      this.candidateScores.push(prediction.p_teacher_wrong);
    }
  }

  ids(): string[] {
    return [...this.flagged, ...doubtfulRanks(this.candidateScores).rows.map((position) => this.candidateIds[position])];
  }
}

/** PreviousRun.queuedIds of a run's predictions (QueuedIds over them). */
export function queuedIdsOf(predictions: readonly Pick<Prediction, 'id' | 'teacher' | 'human' | 'flagged' | 'p_teacher_wrong'>[]): string[] {
  const queued = new QueuedIds();
  for (const prediction of predictions) queued.add(prediction);
  return queued.ids();
}

/**
 * What markReviewedRows needs of the newest complete run of this dataset, or undefined when there is none: the rows it
 * showed for review without a human label (flagged or doubtful, queuedIdsOf), and its `reviewedIds`. predictions.jsonl
 * is streamed line by line through QueuedIds, which keeps only what the rule needs (a million-row run's file is never
 * held as one string, nor as objects, before training). Errors
 * name the file and line.
 */
export async function readPreviousRun(datasetPath: string, outputDir?: string): Promise<PreviousRun | undefined> {
  const runId = await latestRunId(datasetPath, outputDir);
  if (runId === undefined) return undefined;
  const runDir = path.join(resolveRunsDir(datasetPath, outputDir), runId);
  const settingsFile = path.join(runDir, SETTINGS_FILE);
  let settings: unknown;
  try {
    settings = JSON.parse(await readFile(settingsFile, 'utf8'));
  } catch (error) {
    throw new Error(`${settingsFile}: ${(error as Error).message}`);
  }
  const listed = typeof settings === 'object' && settings !== null ? (settings as { reviewedIds?: unknown }).reviewedIds : undefined;
  const reviewedIds = Array.isArray(listed) ? listed.filter((id): id is string => typeof id === 'string') : undefined;
  const predictionsFile = path.join(runDir, PREDICTIONS_FILE);
  const queued = new QueuedIds();
  const lines = createInterface({ input: createReadStream(predictionsFile, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(headOfPrediction(text));
    } catch (error) {
      throw new Error(`${predictionsFile}:${line}: invalid JSON (${(error as Error).message})`);
    }
    const { id, teacher, human, flagged, p_teacher_wrong: p } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
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
  }
  return { runId, queuedIds: queued.ids(), reviewedIds };
}

/** The ids to record in settings.json `reviewedIds`. */
export function reviewedIdsOf(rows: readonly TrainingRow[]): string[] {
  return [...new Set(rows.filter((row) => row.reviewed).map((row) => row.id))];
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
