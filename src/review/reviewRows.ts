/**
 * The review's rows: the run's predictions joined with the document's rows as they are now, and what changed in a row
 * since the run (its teacher label, or its text, whose digest the run recorded). Host side only (it hashes texts with
 * node:crypto); the webview reads the rows' views (protocol.ts), built from these.
 */
import { rowTextDigest } from '../dataset/rowTextsDigest';
import type { Prediction } from '../training/types';
import { compareForReview, doubtfulOf, queueOf, queueScore, queueSuggestion, teacherChangedSinceRun, type DocumentRowState, type ReviewRow } from './model';
import { assignRowKeys } from './rowKeys';

/**
 * Whether a row's text in the file now is not the one the run read: the digest of its text (dataset/rowTextsDigest.ts
 * rowTextDigest) is not the one its predictions.jsonl line records, so the run's suggestion, probability and advice
 * are about its old text. False for a run made before those digests (nothing to compare, as before) and for a row
 * that left the file; a row without text now has changed.
 */
export function textChangedSinceRun(prediction: Pick<Prediction, 'text_digest'>, now: Pick<DocumentRowState, 'text'> | undefined): boolean {
  if (prediction.text_digest === undefined || now === undefined) return false;
  return now.text === null || rowTextDigest(now.text) !== prediction.text_digest;
}

/**
 * What changed in a row since the run, so that its suggestion is never accepted (one decision, in bulk, in an export):
 * its teacher label (teacherChangedSinceRun) or its text (textChangedSinceRun); null when neither.
 */
export function rowChangedSinceRun(prediction: Pick<Prediction, 'teacher' | 'text_digest'>, now: Pick<DocumentRowState, 'teacher' | 'text'> | undefined): 'teacher' | 'text' | null {
  if (teacherChangedSinceRun(prediction, now)) return 'teacher';
  return textChangedSinceRun(prediction, now) ? 'text' : null;
}

export function buildReviewRows(
  predictions: readonly Prediction[],
  /** The document's rows by row key (assignRowKeys over the document's row ids, in file order). */
  documentRows: ReadonlyMap<string, DocumentRowState>,
  options: {
    minProbability: number;
    skipped?: ReadonlySet<string>;
    textsById?: ReadonlyMap<string, string>;
    /** Also the `doubtful` and `unlabelled` queues; the flagged queue alone when absent. */
    allQueues?: boolean;
    /** assignRowKeys of the predictions' ids, where the caller keeps them (a session rebuilds its rows at every edit). */
    keys?: readonly string[];
  },
): ReviewRow[] {
  const rows: ReviewRow[] = [];
  const keys = options.keys ?? assignRowKeys(predictions.map((prediction) => prediction.id));
  const doubtful = options.allQueues ? doubtfulOf(predictions).indices : undefined;
  predictions.forEach((prediction, index) => {
    const queue = queueOf(prediction, doubtful?.has(index) ?? false);
    if (queue === null || (queue !== 'flagged' && !options.allQueues)) {
      return;
    }
    const p = queueScore(prediction, queue);
    if (p < options.minProbability) {
      return;
    }
    const key = keys[index];
    const current = documentRows.get(key);
    const changed = rowChangedSinceRun(prediction, current);
    rows.push({
      key,
      id: prediction.id,
      line: current ? current.line : null,
      text: current?.text ?? options.textsById?.get(prediction.id) ?? '',
      teacher: current ? current.teacher : prediction.teacher,
      suggested: queueSuggestion(prediction, queue),
      queue,
      p,
      probs: prediction.probs,
      peerProbs: prediction.peer_probs,
      vanillaProbs: prediction.vanilla_probs,
      human: current ? current.human : prediction.human,
      skipped: options.skipped?.has(key) ?? false,
      changedSinceRun: changed !== null,
      textChangedSinceRun: changed === 'text',
      runTeacher: prediction.teacher,
    });
  });
  return rows.sort(compareForReview);
}
