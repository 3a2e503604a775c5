/**
 * The contract between the distillation method (students, calibration, pipeline), the worker process that runs it,
 * the CLI and the editor. Plain TypeScript: no `vscode` import anywhere under src/training/.
 */

/** Which TensorFlow.js backend to use; `auto` tries them in the order listed in docs/METHOD.md. */
export type BackendPreference = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
/** Every backend preference, in the order the CLI's help and the setting's enum list them. */
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
/** Every choice of the final student's targets (DistillOptions.finalTargets), in the setting's enum order. */
export const FINAL_TARGETS = ['auto', 'soft', 'hard'] as const;
/** The fewest folds a run takes (each peer student needs a fold it never saw). */
export const MIN_FOLDS = 2;
/**
 * The most peer-advice stages a run takes (`--stages`, `peerkd.training.stages`). Each stage trains K more peers and
 * the paper's gains come by stage 2-3; ten is already well past any use, and a larger number (a typo, 100000) made a
 * run that never ends.
 */
export const MAX_STAGES = 10;

/** One dataset row as the engine sees it. Rows without text never reach the engine (they are counted as skipped). */
export interface TrainingRow {
  /** Row identity from the dataset core (id field, else text hash). */
  id: string;
  /**
   * The row's id field holds a number (dataset/fields.ts idIsNumber): predictions.jsonl writes `id` as that number (its
   * digits as written, beyond 2^53 too), as the user's file writes it. Absent for a text id or no id.
   */
  numericId?: true;
  /** 1-based line in the dataset file. */
  line: number;
  text: string;
  /** Teacher (LLM) label, or null where the teacher abstained. */
  teacher: string | null;
  /** Human label: gold, always trusted, never overridden. */
  human: string | null;
  /** Teacher's probability for its own label, when the teacher reported one. */
  teacherConfidence: number | null;
  /**
   * The human label was set in review of an earlier run's queue (a row that run flagged), so the row was chosen for
   * its score, not at random: it trains the students like any human label but is never a calibration pair, never
   * rectifies the teacher estimate and never judges an encoder (workerRuntime.ts markReviewedRows; docs/METHOD.md §4c).
   */
  reviewed?: boolean;
}

/**
 * Pretrained representations next to the words (encoder.ts, encoders/); `auto` picks the best one available and says
 * which. A name in ENCODERS_WITH_ARGUMENT takes one after a colon (`static:<folder>`); the others take none.
 */
export const ENCODER_NAMES = ['auto', 'none', 'glove', 'use-lite', 'static', 'endpoint'] as const;
export type EncoderName = (typeof ENCODER_NAMES)[number];
export const ENCODERS_WITH_ARGUMENT: readonly EncoderName[] = ['static'];
/** What the argument of such a name is, for help texts (`folder` → `static:<folder>`). */
export const ENCODER_ARGUMENT_NAMES: Partial<Record<EncoderName, string>> = { static: 'folder' };
/** `glove`, or `<name>:<argument>` for a name in ENCODERS_WITH_ARGUMENT. */
export type EncoderChoice = EncoderName | `${EncoderName}:${string}`;
/** For help texts and errors: `auto | none | glove` (a name that takes an argument shows as `static:<folder>`). */
export const ENCODER_CHOICES_TEXT = ENCODER_NAMES.map((name) => (ENCODERS_WITH_ARGUMENT.includes(name) ? `${name}:<${ENCODER_ARGUMENT_NAMES[name] ?? 'argument'}>` : name)).join(' | ');

/** The name and argument of a choice, or a message saying what is wrong with it (the one parser of encoder choices). */
export function parseEncoderChoice(value: unknown): { name: EncoderName; argument?: string; choice: EncoderChoice } | { error: string } {
  if (typeof value !== 'string') return { error: `must be one of ${ENCODER_CHOICES_TEXT}` };
  const colon = value.indexOf(':');
  const name = (colon < 0 ? value : value.slice(0, colon)) as EncoderName;
  if (!ENCODER_NAMES.includes(name)) return { error: `must be one of ${ENCODER_CHOICES_TEXT}, got ${JSON.stringify(value)}` };
  if (colon < 0) {
    if (ENCODERS_WITH_ARGUMENT.includes(name)) return { error: `${name} needs an argument: ${name}:<${ENCODER_ARGUMENT_NAMES[name] ?? 'argument'}>` };
    return { name, choice: name };
  }
  const argument = value.slice(colon + 1);
  if (!ENCODERS_WITH_ARGUMENT.includes(name)) return { error: `${name} takes no argument, got ${JSON.stringify(value)}` };
  // Only spaces after the colon is a slip, not a folder named " " (the message would show an invisible path).
  if (!argument.trim()) return { error: `${name} needs an argument after the colon: ${name}:<${ENCODER_ARGUMENT_NAMES[name] ?? 'argument'}>` };
  return { name, argument, choice: value as EncoderChoice };
}

export interface DistillOptions {
  /** K: number of folds of the teacher-labelled rows (paper: 2). */
  folds: number;
  /** Number of peer-advice stages (multistage variant); 1 = the single-stage recipe. */
  stages: number;
  seed: number;
  backend: BackendPreference;
  /** Targets of the final student: calibrated soft labels, hard advised labels, or chosen from the data. */
  finalTargets: (typeof FINAL_TARGETS)[number];
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
  /**
   * Where the `endpoint` encoder sends the texts (encoders/endpoint.ts); absent = its defaults. Key-free: the API key
   * reaches the worker through its environment (ENCODER_API_KEY_ENV), never through the request or settings.json.
   */
  encoderEndpoint?: EndpointEncoderSettings;
}

/** `peerkd.encoder.*` / `--encoder-base-url`, `--encoder-model`: the OpenAI-compatible `/embeddings` the `endpoint` encoder uses. */
export interface EndpointEncoderSettings {
  /** Base URL as for the teacher (`https://api.openai.com/v1`); the encoder posts to `<baseUrl>/embeddings`. */
  baseUrl: string;
  model: string;
  /** Vector size to ask for (`dimensions`, text-embedding-3-* only); absent = the model's own size. */
  dimensions?: number;
  /** Requests in flight at once; default the teacher's (peerkd.teacher.maxConcurrency). */
  maxConcurrency?: number;
  requestTimeoutMs?: number;
  maxRetries?: number;
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
  /** While an encoder runs (phase featurize): its name, and the rows it has encoded of those not in its cache. */
  encoder?: string;
  encoded?: number;
  toEncode?: number;
  rowsPerSecond?: number;
  elapsedMs: number;
  /** Estimated time left, when it can be estimated (with any work the run may still find it does not need). */
  remainingMs?: number;
  /**
   * The least time left, where the run does not know yet whether it needs all of its work (a final student that may
   * be the vanilla one): the time left is then a range, remainingMsLow to remainingMs. Absent when there is no range.
   */
  remainingMsLow?: number;
  /** Overall completion, 0–1. */
  fraction: number;
}

/**
 * How the engine marks a log line the user must see without --verbose (a damaged line of the embedding cache, the
 * cache turned off): the worker logs it at level warn, without the mark, which the CLI prints and run.log labels WARN.
 */
export const ENGINE_WARNING_PREFIX = 'warning: ';

/** Words kept per explanation (each way: words and against), and similar human-labelled rows (the engine writes at most these; a reader refuses more). */
export const EXPLANATION_LIMITS = { words: 8, similar: 3 } as const;

/**
 * Why a flagged row is flagged (issue 10 §2), one line of the run's explanations.jsonl beside predictions.jsonl
 * (which keeps its fields as they are). From the last stage's peer that held the row out (src/training/explain.ts).
 */
export interface RowExplanation {
  /** 0-based position of the row in predictions.jsonl (ids may repeat: the position does not). */
  row: number;
  id: string;
  /** The id is written as a number (TrainingRow.numericId); never a field of the file itself. */
  numericId?: true;
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
  /**
   * The words that push most the other way (towards `away`), most negative first (at most 8, all < 0): part of
   * other_words. Absent in runs written before it was added.
   */
  against?: [string, number][];
  /** The rows with a human label (at run time) most similar to this one by TF-IDF cosine, most similar first (≤ 3). */
  similar: { id: string; numericId?: true; line: number; label: string; similarity: number }[];
}

/** One line of predictions.jsonl. Field names are a public format: other tools read them. */
export interface Prediction {
  /** The row's identity; written as a JSON number where `numericId` (the dataset writes the id as a number), else a string. */
  id: string;
  /** See TrainingRow.numericId: set where predictions.jsonl holds `id` as a number. */
  numericId?: true;
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
  /**
   * The digest of the row's text as the run read it (dataset/rowTextsDigest.ts rowTextDigest), written last on the line;
   * absent in runs made before it. A row whose text's digest is another now takes nothing of the run's advice
   * (review/model.ts textChangedSinceRun).
   */
  text_digest?: string;
}
