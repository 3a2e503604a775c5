import * as vscode from 'vscode';
import { DEFAULT_FIELDS, type FieldMapping } from '../dataset/types';
import { BACKEND_PREFERENCES, FINAL_TARGETS, MAX_STAGES, MIN_FOLDS, parseEncoderChoice, type BackendPreference, type DistillOptions, type EncoderChoice } from '../training/types';
import { DEFAULT_DISTILL_OPTIONS } from '../training/protocol';
import { DEFAULT_TEACHER_SETTINGS, MAX_CONCURRENCY, MAX_FEW_SHOT_EXAMPLES, MAX_REQUEST_TIMEOUT_MS, MAX_RETRIES, MAX_TEMPERATURE, MIN_REQUEST_TIMEOUT_MS, type TeacherSettings } from '../teacher/settings';
import { DEFAULT_ENCODER_MODEL } from '../training/encoders/endpoint';
import { DEFAULT_MEMORY_LIMIT_MB, MEMORY_LIMIT_MAX_MB, MEMORY_LIMIT_MIN_MB } from '../training/client';
import { showWarningMessage } from './messages';

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
  /**
   * Every setting that could not be used as written (a string for a number, a value beyond its bounds, an unknown
   * choice, a number for a field name): its default is used instead. Commands show the lines of the settings they use
   * (ignoredSettings), so no value the user wrote is replaced without a word.
   */
  ignored: IgnoredSetting[];
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

/** Longest part of a setting's value an ignored-setting message quotes (a setting can hold any JSON). */
const QUOTED_SETTING_CHARS = 80;

/** A setting's value as a message quotes it: JSON, cut to QUOTED_SETTING_CHARS. */
function quotedSetting(value: unknown): string {
  const written = JSON.stringify(value) ?? String(value);
  return written.length > QUOTED_SETTING_CHARS ? `${written.slice(0, QUOTED_SETTING_CHARS)}…` : written;
}

/** What a value is, as a message names it when it has the wrong type ("a string", "an array"). */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' || type === 'undefined' ? `an ${type}` : `a ${type}`;
}

/** A setting that could not be used as written: its full name and the line that says so. */
export interface IgnoredSetting {
  setting: string;
  line: string;
}

/**
 * Reads `peerkd.*` settings as their manifest declares them (type, minimum, maximum, enum). A value that does not fit
 * is never used (a string "3" for a number, 0.5 for an integer, an unknown choice) nor does it crash the reader (a
 * number where a name belongs): the setting's default is used instead, and `ignored` says so, naming the setting, the
 * value as written and why, for the commands to show the user (ignoredSettings). An unset setting is its default.
 */
class SettingsReader {
  readonly ignored: IgnoredSetting[] = [];

  constructor(private readonly config: vscode.WorkspaceConfiguration) {}

  raw(key: string): unknown {
    return this.config.get<unknown>(key);
  }

  ignore(key: string, value: unknown, why: string, used: unknown): void {
    const setting = `peerkd.${key}`;
    this.ignored.push({ setting, line: `setting ${setting} ${quotedSetting(value)} was ignored (${why}): ${quotedSetting(used)} is used instead` });
  }

  /** A whole number from `minimum` to `maximum`. */
  integer(key: string, fallback: number, minimum: number, maximum = Number.MAX_SAFE_INTEGER): number {
    return this.number(key, fallback, minimum, maximum, true);
  }

  number(key: string, fallback: number, minimum: number, maximum = Number.MAX_SAFE_INTEGER, integer = false): number {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    const why =
      typeof value !== 'number' || !Number.isFinite(value)
        ? `${kindOf(value)}, not a number`
        : integer && !Number.isInteger(value)
          ? 'not a whole number'
          : value < minimum
            ? `below the least, ${minimum}`
            : value > maximum
              ? `above the most, ${maximum}`
              : undefined;
    if (why === undefined) return value as number;
    this.ignore(key, value, why, fallback);
    return fallback;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined || typeof value === 'boolean') return value ?? fallback;
    this.ignore(key, value, `${kindOf(value)}, not true or false`, fallback);
    return fallback;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (allowed.includes(value as T)) return value as T;
    this.ignore(key, value, `not one of ${allowed.join(', ')}`, fallback);
    return fallback;
  }

  /**
   * A string; `empty` says what an empty one (or one of white space only) means: `'as written'` gives '' (the setting
   * documents what empty means: "Empty: …"), `'default'` uses the default and says so.
   */
  string(key: string, fallback: string, empty: 'as written' | 'default'): string {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value !== 'string') {
      this.ignore(key, value, `${kindOf(value)}, not a string`, fallback);
      return fallback;
    }
    if (value.trim().length > 0) return value;
    if (empty === 'as written') return '';
    this.ignore(key, value, 'empty', fallback);
    return fallback;
  }
}

/**
 * `peerkd.training.encoder` through the one parser of encoder choices, the CLI's `--encoder` too (types.ts
 * parseEncoderChoice), so both accept exactly the same values. A value it refuses (`glov`, `static:`, a number) runs
 * as `auto`, as the setting's default does, and `ignored` says which value and why, for the run to tell the user.
 */
export function encoderSetting(value: unknown): { choice: EncoderChoice; ignored?: string } {
  if (value === undefined) return { choice: 'auto' };
  const parsed = parseEncoderChoice(value);
  if (!('error' in parsed)) return { choice: parsed.choice };
  return { choice: 'auto', ignored: `setting peerkd.training.encoder ${quotedSetting(value)} was ignored (${parsed.error}): this run uses auto instead` };
}

/**
 * `peerkd.training.memoryLimitMb`: a whole number of MB from MEMORY_LIMIT_MIN_MB to MEMORY_LIMIT_MAX_MB. Any other value runs with the
 * default, as every number setting beyond its bounds does, and `ignored` says which value and what the run uses, for
 * the run to tell the user (a user trying a low limit otherwise saw a run with 3072 MB and no word of it).
 */
export function memoryLimitSetting(value: unknown): { limitMb: number; ignored?: string } {
  const whole = typeof value === 'number' && Number.isInteger(value);
  if (value === undefined || (whole && value >= MEMORY_LIMIT_MIN_MB && value <= MEMORY_LIMIT_MAX_MB)) {
    return { limitMb: (value as number | undefined) ?? DEFAULT_MEMORY_LIMIT_MB };
  }
  const why = !whole ? 'not a whole number of MB' : value < MEMORY_LIMIT_MIN_MB ? `below the least, ${MEMORY_LIMIT_MIN_MB}` : `above the most, ${MEMORY_LIMIT_MAX_MB}`;
  return {
    limitMb: DEFAULT_MEMORY_LIMIT_MB,
    ignored: `setting peerkd.training.memoryLimitMb ${quotedSetting(value)} was ignored (${why}): this run's worker may use ${DEFAULT_MEMORY_LIMIT_MB} MB`,
  };
}

function readTrainingSettings(reader: SettingsReader): TrainingSettings {
  const defaults = DEFAULT_DISTILL_OPTIONS;
  const encoder = encoderSetting(reader.raw('training.encoder'));
  if (encoder.ignored) reader.ignored.push({ setting: 'peerkd.training.encoder', line: encoder.ignored });
  const memoryLimit = memoryLimitSetting(reader.raw('training.memoryLimitMb'));
  if (memoryLimit.ignored) reader.ignored.push({ setting: 'peerkd.training.memoryLimitMb', line: memoryLimit.ignored });
  return {
    folds: reader.integer('training.folds', defaults.folds, MIN_FOLDS),
    stages: reader.integer('training.stages', defaults.stages, 1, MAX_STAGES),
    seed: reader.integer('training.seed', defaults.seed, 0),
    backend: reader.oneOf('training.backend', BACKEND_PREFERENCES, defaults.backend),
    finalTargets: reader.oneOf('training.finalTargets', FINAL_TARGETS, defaults.finalTargets),
    encoder: encoder.choice,
    ...(encoder.ignored ? { encoderIgnored: encoder.ignored } : {}),
    memoryLimitMb: memoryLimit.limitMb,
    ...(memoryLimit.ignored ? { memoryLimitIgnored: memoryLimit.ignored } : {}),
    outputDir: reader.string('training.outputDir', '', 'as written'),
  };
}

/** The severities of `peerkd.diagnostics.severity`, in the manifest's order. */
export const DIAGNOSTIC_SEVERITIES = ['Error', 'Warning', 'Information', 'Hint'] as const;

function readReviewDiagnosticsSettings(reader: SettingsReader): ReviewDiagnosticsSettings {
  return {
    severity: reader.oneOf('diagnostics.severity', DIAGNOSTIC_SEVERITIES, 'Warning'),
    minProbability: reader.number('diagnostics.minProbability', 0, 0, 1),
  };
}

function readTeacherSettings(reader: SettingsReader): TeacherSettings {
  const defaults = DEFAULT_TEACHER_SETTINGS;
  return {
    baseUrl: reader.string('teacher.baseUrl', defaults.baseUrl, 'default'),
    model: reader.string('teacher.model', defaults.model, 'default'),
    temperature: reader.number('teacher.temperature', defaults.temperature, 0, MAX_TEMPERATURE),
    maxConcurrency: reader.integer('teacher.maxConcurrency', defaults.maxConcurrency, 1, MAX_CONCURRENCY),
    // An integer, as the manifest declares and the CLI's --timeout-ms takes; at most setTimeout's limit.
    requestTimeoutMs: reader.integer('teacher.requestTimeoutMs', defaults.requestTimeoutMs, MIN_REQUEST_TIMEOUT_MS, MAX_REQUEST_TIMEOUT_MS),
    maxRetries: reader.integer('teacher.maxRetries', defaults.maxRetries, 0, MAX_RETRIES),
    // Empty: the built-in instruction (the manifest says so).
    promptTemplate: reader.string('teacher.promptTemplate', defaults.promptTemplate, 'as written') || defaults.promptTemplate,
    fewShotExamples: reader.integer('teacher.fewShotExamples', defaults.fewShotExamples, 0, MAX_FEW_SHOT_EXAMPLES),
    useBatchApi: reader.boolean('teacher.useBatchApi', defaults.useBatchApi),
    relabel: reader.boolean('teacher.relabel', defaults.relabel),
  };
}

/**
 * `peerkd.labels` as written: its string entries, and why the list is unusable when an entry is not a string (a class
 * id written as the number 1 in settings.json), or when it is no list at all (`"World, Sports"`). Labels are JSON
 * strings everywhere; dropping the entry silently trained another label set than the one written (`[0, 1]` became
 * none at all: the set was inferred).
 */
export function labelsSetting(value: unknown): { labels: string[]; labelsProblem?: string } {
  if (value !== undefined && !Array.isArray(value)) {
    const example = typeof value === 'string' ? ` (${JSON.stringify(value.split(',').map((label) => label.trim()).filter((label) => label.length > 0))})` : '';
    return { labels: [], labelsProblem: `setting peerkd.labels is ${kindOf(value)}, not a list — write the labels as a JSON list of strings${example}` };
  }
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
  const reader = new SettingsReader(vscode.workspace.getConfiguration('peerkd', scope));
  const field = (key: keyof FieldMapping, setting: string) => reader.string(`fields.${setting}`, DEFAULT_FIELDS[key], 'default');
  return {
    fields: {
      text: field('text', 'text'),
      teacher: field('teacher', 'teacher'),
      human: field('human', 'human'),
      id: field('id', 'id'),
      teacherConfidence: field('teacherConfidence', 'teacherConfidence'),
    },
    // As written: an empty entry reaches the run and the teacher, which refuse it naming the setting (labelListProblem),
    // instead of being dropped silently; the validator ignores empty entries itself.
    ...labelsSetting(reader.raw('labels')),
    training: readTrainingSettings(reader),
    diagnostics: readReviewDiagnosticsSettings(reader),
    teacher: readTeacherSettings(reader),
    encoder: {
      // Empty: the teacher's (the manifest says so).
      baseUrl: reader.string('encoder.baseUrl', '', 'as written').trim(),
      model: reader.string('encoder.model', DEFAULT_ENCODER_MODEL, 'default').trim(),
    },
    ignored: reader.ignored,
  };
}

/**
 * The lines of `settings.ignored` for the settings a command uses: each `prefix` is a setting's full name or the
 * start of a group (`peerkd.teacher.`).
 */
export function ignoredSettings(settings: Pick<PeerKdSettings, 'ignored'>, ...prefixes: string[]): string[] {
  return settings.ignored.filter(({ setting }) => prefixes.some((prefix) => setting === prefix || (prefix.endsWith('.') && setting.startsWith(prefix)))).map(({ line }) => line);
}

/** The settings a distillation run reads (the endpoint encoder's server and the teacher's request limits aside). */
export const RUN_SETTINGS = ['peerkd.fields.', 'peerkd.labels', 'peerkd.training.'] as const;
/** The settings the endpoint encoder reads, besides RUN_SETTINGS (src/commands/endpointEncoder.ts): its server and model, the teacher's URL and request limits. */
export const ENDPOINT_ENCODER_SETTINGS = [
  'peerkd.encoder.',
  'peerkd.teacher.baseUrl',
  'peerkd.teacher.maxConcurrency',
  'peerkd.teacher.requestTimeoutMs',
  'peerkd.teacher.maxRetries',
] as const;
/** The settings Label with Teacher reads. */
export const TEACHER_SETTINGS = ['peerkd.fields.', 'peerkd.labels', 'peerkd.teacher.'] as const;

/** Lines warnIgnoredSettingsOnce has said this session (lines said, not settings: those are read fresh each time). */
const ignoredLinesSaid = new Set<string>();

/**
 * For what reads settings on every edit (the dataset and run diagnostics): each line once per session, in the log and
 * as a warning, instead of once per keystroke or not at all.
 */
export function warnIgnoredSettingsOnce(log: Pick<vscode.LogOutputChannel, 'warn'>, lines: readonly string[]): void {
  for (const line of lines) {
    if (ignoredLinesSaid.has(line)) continue;
    ignoredLinesSaid.add(line);
    log.warn(line);
    void showWarningMessage(`PeerKD: ${line}.`);
  }
}

/**
 * For what checks a dataset with the field and label settings (the dataset diagnostics, Validate Dataset): the ignored
 * settings under `prefixes` and an unusable `peerkd.labels`, each line once per session (warnIgnoredSettingsOnce).
 */
export function warnDatasetSettingsOnce(log: Pick<vscode.LogOutputChannel, 'warn'>, settings: Pick<PeerKdSettings, 'ignored' | 'labelsProblem'>, ...prefixes: string[]): void {
  const lines = ignoredSettings(settings, ...prefixes);
  warnIgnoredSettingsOnce(log, settings.labelsProblem ? [...lines, settings.labelsProblem] : lines);
}
