/**
 * The contract between the distillation method (students, calibration, pipeline), the worker process that runs it,
 * the CLI and the editor. Plain TypeScript: no `vscode` import anywhere under src/training/.
 */

/** Which TensorFlow.js backend to use; `auto` tries them in the order listed in docs/METHOD.md. */
export type BackendPreference = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** One dataset row as the engine sees it. Rows without text never reach the engine (they are counted as skipped). */
export interface TrainingRow {
  /** Row identity from the dataset core (id field, else text hash). */
  id: string;
  /** 1-based line in the dataset file. */
  line: number;
  text: string;
  /** Teacher (LLM) label, or null where the teacher abstained. */
  teacher: string | null;
  /** Human label: gold, always trusted, never overridden. */
  human: string | null;
  /** Teacher's probability for its own label, when the teacher reported one. */
  teacherConfidence: number | null;
}

/** Pretrained representations next to the words (encoder.ts); `auto` picks the best one available and says which. */
export const ENCODER_CHOICES = ['none', 'glove', 'auto'] as const;
export type EncoderChoice = (typeof ENCODER_CHOICES)[number];

export interface DistillOptions {
  /** K: number of folds of the teacher-labelled rows (paper: 2). */
  folds: number;
  /** Number of peer-advice stages (multistage variant); 1 = the single-stage recipe. */
  stages: number;
  seed: number;
  backend: BackendPreference;
  /** Targets of the final student: calibrated soft labels, hard advised labels, or chosen from the data. */
  finalTargets: 'soft' | 'hard' | 'auto';
  /**
   * Student type. Only the hashed n-gram (fastText-style) student exists so far; a student on pretrained embeddings
   * from an OpenAI-compatible endpoint is planned, and would be a second member here.
   */
  student: 'fasttext';
  /**
   * The representation next to the hashed words; absent (hosts that predate it) = `none`. The engine keeps it only
   * where it helps the dataset (pipeline.ts, step 0); metrics.json `encoder` says what it did.
   */
  encoder?: EncoderChoice;
}

export type DistillPhase = 'featurize' | 'vanilla' | 'peer' | 'calibrate' | 'final' | 'write';

export interface DistillProgress {
  phase: DistillPhase;
  /** 1-based fold / stage / epoch where meaningful. */
  fold?: number;
  folds?: number;
  stage?: number;
  stages?: number;
  epoch?: number;
  epochs?: number;
  loss?: number;
  rowsPerSecond?: number;
  elapsedMs: number;
  /** Estimated time left, when it can be estimated. */
  remainingMs?: number;
  /** Overall completion, 0–1. */
  fraction: number;
}

/**
 * Why a flagged row is flagged (issue 10 §2), one line of the run's explanations.jsonl beside predictions.jsonl
 * (which keeps its fields as they are). From the last stage's peer that held the row out (src/training/explain.ts).
 */
export interface RowExplanation {
  /** 0-based position of the row in predictions.jsonl (ids may repeat: the position does not). */
  row: number;
  id: string;
  /** The suggested label and the teacher's: the logit difference is logit(towards) − logit(away). */
  towards: string;
  away: string;
  logit_difference: number;
  /** bias[towards] − bias[away], and the part of the dense embedding block (0 for words alone). */
  bias: number;
  dense: number;
  /** The words that push most towards `towards`, largest first, each with its contribution (at most 8, all > 0). */
  words: [string, number][];
  /** The sum of every other word's contribution: words + other_words + bias + dense = logit_difference. */
  other_words: number;
  /** The rows with a human label (at run time) most similar to this one by TF-IDF cosine, most similar first (≤ 3). */
  similar: { id: string; line: number; label: string; similarity: number }[];
}

/** One line of predictions.jsonl. Field names are a public format: other tools read them. */
export interface Prediction {
  id: string;
  line: number;
  teacher: string | null;
  human: string | null;
  suggested: string;
  /** Probability that the teacher label is wrong (ranking score); 0 where the row has a human label. */
  p_teacher_wrong: number;
  flagged: boolean;
  /** Calibrated advice: label → probability. */
  probs: Record<string, number>;
  /** Out-of-fold peer probabilities. */
  peer_probs: Record<string, number>;
  vanilla_probs: Record<string, number>;
}
