/**
 * A run's predictions and explanations keyed by row (src/review/rowKeys.ts), as the review, the quick fixes and the
 * reviewed copy read them: the editor (src/editor/runState.ts) and `peerkd export` build it here, so both match the
 * run's rows to the dataset's in one way. Plain TypeScript.
 */
import type { FieldMapping } from '../dataset/types';
import { readLatestRunAmong, type KeepPrediction, type RunArtefacts } from '../training/artifacts';
import type { Prediction, RowExplanation } from '../training/types';
import { runTrustSentence } from './format';
import { assignRowKeys } from './rowKeys';

/** The latest complete run of one dataset, keyed by row. */
export interface KeyedRun {
  runId: string;
  runDir: string;
  predictions: Prediction[];
  /** Predictions by row key (src/review/rowKeys.ts): rows that share an id stay distinct. */
  byKey: Map<string, Prediction>;
  /** The run's label set, in its class order: keys 1–9 of the panel pick these. */
  labels: string[];
  /** The field mapping the run read the dataset with. */
  fields: FieldMapping;
  /** sha256 of the dataset the run read (settings.json), to tell whether it changed since. */
  datasetSha256?: string;
  /** Its rows' ids and texts (settings.json; absent in older runs), to tell whether a text changed since. */
  rowTextsSha256?: string;
  /**
   * Whether each of its predictions records its row's text digest (predictions.jsonl `text_digest`; runs made before it
   * have none): then an edited text is told row by row (textChangedSinceRun), not only "the file's texts changed".
   */
  rowTextDigests: boolean;
  /** What the run says about the teacher, in words with its 90 % intervals (review/format.ts trustSentence). */
  trustSentence: string;
  /** Why each flagged row is flagged (explanations.jsonl), by row key; empty for runs written without it. */
  explanations: Map<string, RowExplanation>;
}

/** A run read from its folder (training/artifacts.ts readRun), keyed by row. */
export function keyedRun(artefacts: RunArtefacts): KeyedRun {
  const keys = assignRowKeys(artefacts.predictions.map((prediction) => prediction.id));
  const byKey = new Map<string, Prediction>();
  artefacts.predictions.forEach((prediction, index) => byKey.set(keys[index], prediction));
  const explanations = new Map<string, RowExplanation>();
  for (const [row, explanation] of artefacts.explanations ?? []) {
    // The position names the row; a line whose id is not that row's (a hand-edited file) is left out.
    if (artefacts.predictions[row]?.id === explanation.id) explanations.set(keys[row], explanation);
  }
  return {
    runId: artefacts.runId,
    runDir: artefacts.runDir,
    predictions: artefacts.predictions,
    byKey,
    labels: artefacts.settings.labels,
    fields: artefacts.settings.fields,
    datasetSha256: artefacts.settings.datasetSha256,
    rowTextsSha256: typeof artefacts.settings.rowTextsSha256 === 'string' ? artefacts.settings.rowTextsSha256 : undefined,
    rowTextDigests: artefacts.predictions.length > 0 && artefacts.predictions.every((prediction) => prediction.text_digest !== undefined),
    trustSentence: runTrustSentence(artefacts),
    explanations,
  };
}

/**
 * The dataset's latest complete run among `runsDirs`, keyed by row (training/artifacts.ts latestRunAmong: each folder's
 * pointer for the dataset, else its newest run folder made from it): the folders a `--runs` names, or every runs
 * folder the dataset used (readKnownRunsDirs), as the editor finds it. Undefined when it has none. Throws
 * RunArtefactError, naming the file, for a run that cannot be read. `keep`: what is kept of each prediction (all of it
 * by default).
 */
export async function readLatestKeyedRun(datasetPath: string, runsDirs: readonly string[], keep?: KeepPrediction): Promise<KeyedRun | undefined> {
  const artefacts = await readLatestRunAmong(datasetPath, runsDirs, keep);
  return artefacts === undefined ? undefined : keyedRun(artefacts);
}
