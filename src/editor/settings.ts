import * as vscode from 'vscode';
import { DEFAULT_FIELDS, type FieldMapping } from '../dataset/types';
import { parseEncoderChoice, type BackendPreference, type DistillOptions, type EncoderChoice } from '../training/types';
import { DEFAULT_TEACHER_SETTINGS, MAX_CONCURRENCY, MAX_FEW_SHOT_EXAMPLES, MAX_REQUEST_TIMEOUT_MS, MIN_REQUEST_TIMEOUT_MS, type TeacherSettings } from '../teacher/settings';
import { DEFAULT_ENCODER_MODEL } from '../training/encoders/endpoint';
import { DEFAULT_MEMORY_LIMIT_MB, MEMORY_LIMIT_MIN_MB } from '../training/client';

export { MEMORY_LIMIT_MIN_MB };

/**
 * A typed mirror of the `peerkd.*` settings declared in package.json `contributes.configuration`.
 * Read it fresh each time (settings can change at any moment); never cache it in module state.
 */
export interface PeerKdSettings {
  fields: FieldMapping;
  /** Configured label set; empty means "infer from the dataset". */
  labels: string[];
  /**
   * Set when `peerkd.labels` holds an entry that is no string (`[0, 1]`): why the list cannot be used as written. Such
   * entries are left out of `labels`, so a run and the teacher refuse the setting instead of training another set.
   */
  labelsProblem?: string;
  training: TrainingSettings;
  diagnostics: ReviewDiagnosticsSettings;
  /** `peerkd.teacher.*`: the OpenAI-compatible teacher endpoint (the API key lives in SecretStorage, not here). */
  teacher: TeacherSettings;
  /** `peerkd.encoder.*`: the `endpoint` encoder's server; an empty base URL means the teacher's. */
  encoder: { baseUrl: string; model: string };
}

/** `peerkd.training.*`: how "Run Peer-Advised Distillation" trains. */
export interface TrainingSettings {
  folds: number;
  stages: number;
  seed: number;
  backend: BackendPreference;
  finalTargets: DistillOptions['finalTargets'];
  /** Representation next to the words (training/encoder.ts). */
  encoder: EncoderChoice;
  /**
   * Set when the written `peerkd.training.encoder` could not be parsed and `encoder` is `auto` instead: which value
   * was ignored, why, and what the run uses (encoderSetting). The run says it in the log, run.log and its summary.
   */
  encoderIgnored?: string;
  /** Heap limit of the training child process, in MB. */
  memoryLimitMb: number;
  /** Set when the written `peerkd.training.memoryLimitMb` could not be used as written (memoryLimitSetting). */
  memoryLimitIgnored?: string;
  /** Runs folder; empty = `.peerkd/runs` next to the dataset. Relative paths resolve against the dataset's folder. */
  outputDir: string;
}

/** `peerkd.diagnostics.*`: the flagged-row diagnostics of the latest run. */
export interface ReviewDiagnosticsSettings {
  severity: 'Error' | 'Warning' | 'Information' | 'Hint';
  /** Rows whose probability of a wrong teacher label is below this get no diagnostic. */
  minProbability: number;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

/** Longest part of a setting's value an ignored-setting message quotes (a setting can hold any JSON). */
const QUOTED_SETTING_CHARS = 80;

/**
 * `peerkd.training.encoder` through the one parser of encoder choices, the CLI's `--encoder` too (types.ts
 * parseEncoderChoice), so both accept exactly the same values. A value it refuses (`glov`, `static:`, a number) runs
 * as `auto`, as the setting's default does, and `ignored` says which value and why, for the run to tell the user.
 */
export function encoderSetting(value: unknown): { choice: EncoderChoice; ignored?: string } {
  if (value === undefined) return { choice: 'auto' };
  const parsed = parseEncoderChoice(value);
  if (!('error' in parsed)) return { choice: parsed.choice };
  const written = JSON.stringify(value) ?? String(value);
  const quoted = written.length > QUOTED_SETTING_CHARS ? `${written.slice(0, QUOTED_SETTING_CHARS)}…` : written;
  return { choice: 'auto', ignored: `setting peerkd.training.encoder ${quoted} was ignored (${parsed.error}): this run uses auto instead` };
}

function integerAtLeast(value: unknown, minimum: number, fallback: number, maximum = Number.MAX_SAFE_INTEGER): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= minimum && value <= maximum ? value : fallback;
}


/**
 * `peerkd.training.memoryLimitMb`: a whole number of MB, at least MEMORY_LIMIT_MIN_MB. Any other value runs with the
 * default, as every number setting beyond its bounds does, and `ignored` says which value and what the run uses, for
 * the run to tell the user (a user trying a low limit otherwise saw a run with 3072 MB and no word of it).
 */
export function memoryLimitSetting(value: unknown): { limitMb: number; ignored?: string } {
  if (value === undefined || (typeof value === 'number' && Number.isInteger(value) && value >= MEMORY_LIMIT_MIN_MB)) {
    return { limitMb: (value as number | undefined) ?? DEFAULT_MEMORY_LIMIT_MB };
  }
  const low = typeof value === 'number' && Number.isInteger(value);
  const written = JSON.stringify(value) ?? String(value);
  const quoted = written.length > QUOTED_SETTING_CHARS ? `${written.slice(0, QUOTED_SETTING_CHARS)}…` : written;
  const why = low ? `below the least, ${MEMORY_LIMIT_MIN_MB}` : 'not a whole number of MB';
  return {
    limitMb: DEFAULT_MEMORY_LIMIT_MB,
    ignored: `setting peerkd.training.memoryLimitMb ${quoted} was ignored (${why}): this run's worker may use ${DEFAULT_MEMORY_LIMIT_MB} MB`,
  };
}

function readTrainingSettings(config: vscode.WorkspaceConfiguration): TrainingSettings {
  const encoder = encoderSetting(config.get('training.encoder'));
  const memoryLimit = memoryLimitSetting(config.get('training.memoryLimitMb'));
  return {
    folds: integerAtLeast(config.get('training.folds'), 2, 2),
    stages: integerAtLeast(config.get('training.stages'), 1, 2),
    seed: integerAtLeast(config.get('training.seed'), 0, 0),
    backend: oneOf(config.get('training.backend'), ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'], 'auto'),
    finalTargets: oneOf(config.get('training.finalTargets'), ['auto', 'soft', 'hard'], 'auto'),
    encoder: encoder.choice,
    ...(encoder.ignored ? { encoderIgnored: encoder.ignored } : {}),
    memoryLimitMb: memoryLimit.limitMb,
    ...(memoryLimit.ignored ? { memoryLimitIgnored: memoryLimit.ignored } : {}),
    outputDir: config.get<string>('training.outputDir') ?? '',
  };
}

function readReviewDiagnosticsSettings(config: vscode.WorkspaceConfiguration): ReviewDiagnosticsSettings {
  const minProbability = config.get<number>('diagnostics.minProbability');
  return {
    severity: oneOf(config.get('diagnostics.severity'), ['Error', 'Warning', 'Information', 'Hint'], 'Warning'),
    minProbability:
      typeof minProbability === 'number' && minProbability >= 0 && minProbability <= 1 ? minProbability : 0,
  };
}

function readTeacherSettings(config: vscode.WorkspaceConfiguration): TeacherSettings {
  const defaults = DEFAULT_TEACHER_SETTINGS;
  const temperature = config.get<number>('teacher.temperature');
  // An integer, as the manifest declares and the CLI's --timeout-ms takes; at most setTimeout's limit.
  const timeout = integerAtLeast(config.get('teacher.requestTimeoutMs'), MIN_REQUEST_TIMEOUT_MS, defaults.requestTimeoutMs);
  return {
    baseUrl: config.get<string>('teacher.baseUrl') || defaults.baseUrl,
    model: config.get<string>('teacher.model') || defaults.model,
    temperature: typeof temperature === 'number' && temperature >= 0 && temperature <= 2 ? temperature : defaults.temperature,
    maxConcurrency: integerAtLeast(config.get('teacher.maxConcurrency'), 1, defaults.maxConcurrency, MAX_CONCURRENCY),
    requestTimeoutMs: timeout <= MAX_REQUEST_TIMEOUT_MS ? timeout : defaults.requestTimeoutMs,
    maxRetries: integerAtLeast(config.get('teacher.maxRetries'), 0, defaults.maxRetries),
    promptTemplate: config.get<string>('teacher.promptTemplate') || defaults.promptTemplate,
    fewShotExamples: integerAtLeast(config.get('teacher.fewShotExamples'), 0, defaults.fewShotExamples, MAX_FEW_SHOT_EXAMPLES),
    useBatchApi: config.get<boolean>('teacher.useBatchApi') ?? defaults.useBatchApi,
    relabel: config.get<boolean>('teacher.relabel') ?? defaults.relabel,
  };
}

/**
 * `peerkd.labels` as written: its string entries, and why the list is unusable when an entry is not a string (a class
 * id written as the number 1 in settings.json). Labels are JSON strings everywhere; dropping the entry silently trained
 * another label set than the one written (`[0, 1]` became none at all: the set was inferred).
 */
export function labelsSetting(value: unknown): { labels: string[]; labelsProblem?: string } {
  const entries: unknown[] = Array.isArray(value) ? value : [];
  const labels = entries.filter((label): label is string => typeof label === 'string');
  const index = entries.findIndex((label) => typeof label !== 'string');
  if (index === -1) return { labels };
  const entry = entries[index];
  const scalar = typeof entry === 'number' || typeof entry === 'boolean';
  const shown = scalar ? `the ${typeof entry} ${String(entry)}` : entry === null ? 'null' : Array.isArray(entry) ? 'an array' : 'an object';
  const example = scalar ? ` (${JSON.stringify(String(entry))})` : '';
  return { labels, labelsProblem: `setting peerkd.labels: entry ${index + 1} is ${shown}, not a string — write each label as a JSON string${example}` };
}

export function readSettings(scope?: vscode.ConfigurationScope): PeerKdSettings {
  const config = vscode.workspace.getConfiguration('peerkd', scope);
  return {
    fields: {
      text: config.get<string>('fields.text') || DEFAULT_FIELDS.text,
      teacher: config.get<string>('fields.teacher') || DEFAULT_FIELDS.teacher,
      human: config.get<string>('fields.human') || DEFAULT_FIELDS.human,
      id: config.get<string>('fields.id') || DEFAULT_FIELDS.id,
      teacherConfidence: config.get<string>('fields.teacherConfidence') || DEFAULT_FIELDS.teacherConfidence,
    },
    // As written: an empty entry reaches the run and the teacher, which refuse it naming the setting (labelListProblem),
    // instead of being dropped silently; the validator ignores empty entries itself.
    ...labelsSetting(config.get<unknown>('labels')),
    training: readTrainingSettings(config),
    diagnostics: readReviewDiagnosticsSettings(config),
    teacher: readTeacherSettings(config),
    encoder: {
      baseUrl: (config.get<string>('encoder.baseUrl') ?? '').trim(),
      model: (config.get<string>('encoder.model') ?? '').trim() || DEFAULT_ENCODER_MODEL,
    },
  };
}
