/**
 * `peerkd label DATA.jsonl --base-url URL --model M`: labels the rows that have neither a teacher nor a human label
 * with an OpenAI-compatible endpoint, and writes the labels into the file (atomically, byte-preserving) or to --out.
 */
import * as path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { promises as fsp } from 'node:fs';
import { applyRowEditsToFile, assertNotSameFile, assertOutsidePeerkdFolder, assertReadableFile, assertReplaceable, forEachLine, readDatasetFile, writeFileAtomic } from '../dataset/index';
import { DEFAULT_FIELDS, FIELD_KEYS, type FieldMapping } from '../dataset/types';
import { replacedLines, teacherEdits, teacherFieldsProblem, type FieldNames } from '../teacher/apply';
import { runBatchLabelling } from '../teacher/batch';
import { TeacherCache } from '../teacher/cache';
import { LabelRunLock } from '../teacher/lock';
import { normaliseBaseUrl } from '../teacher/client';
import {
  defaultCacheDir,
  formatEstimate,
  formatProgress,
  formatSummary,
  prepareJob,
  runOutcome,
} from '../teacher/job';
import { redactSecret } from '../teacher/redact';
import { noRowsError } from '../training/input';
import { proxyNote } from '../teacher/proxy';
import { proxyAwareFetch } from '../teacher/proxyFetch';
import { plainHttpKeyWarning } from '../teacher/url';
import { DEFAULT_TEACHER_SETTINGS, MAX_CONCURRENCY, MAX_FEW_SHOT_EXAMPLES, MAX_REQUEST_TIMEOUT_MS, MAX_RETRIES, MAX_TEMPERATURE, MIN_REQUEST_TIMEOUT_MS } from '../teacher/settings';
import { estimateRun, runLabelling, type LabelProgress, type LabelRunResult } from '../teacher/run';
import type { BackoffOptions, TeacherEndpoint } from '../teacher/types';
import { Terminal, type TextOutput } from './terminal';
import { decimalNumber, EXIT, EXIT_CODES_HELP, expectPositionals, FIELD_OPTIONS, fieldPathOption, integerFlag, labelsOption, parseCommandArgs, UsageError, type CliCommand } from './command';
import { cancelOnSignals } from './signals';
import { apiKeyFromEnv, DEFAULT_API_KEY_ENV } from './encoderFlags';
import { runCommand } from './distill';
import { LABEL_LIST_JSON_EXAMPLE, labelListText } from '../dataset/labels';

export const LABEL_HELP = `Usage: peerkd label DATA.jsonl --base-url URL --model MODEL [options]

Labels every row that has neither a teacher nor a human label with an OpenAI-compatible chat-completions endpoint
(OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio, llama.cpp) and writes the teacher label (and its probability, when
the endpoint returns logprobs) into the file in place, atomically, leaving every other byte as it was.

Options:
  --base-url URL         endpoint base URL, e.g. https://api.openai.com/v1 or http://localhost:11434/v1
  --model M              model (Azure: deployment) name
  --api-key-env VAR      environment variable holding the API key (default OPENAI_API_KEY; unset = no key)
  --concurrency N        requests in flight at once, 1 to ${MAX_CONCURRENCY} (default ${DEFAULT_TEACHER_SETTINGS.maxConcurrency})
  --out FILE             write the labelled dataset to FILE instead of in place (an existing non-empty FILE is
                         refused: label it in place instead, or add --force to replace it)
  --force                with --out, replace an existing FILE
  --relabel              also label rows that already carry a teacher or human label
  --labels A,B,C         the label set (default: the labels present in the file); labels that hold a comma as a JSON
                         list: --labels ${LABEL_LIST_JSON_EXAMPLE}
  --few-shot N           few-shot examples drawn from human-labelled rows, 0 to ${MAX_FEW_SHOT_EXAMPLES} (default ${DEFAULT_TEACHER_SETTINGS.fewShotExamples})
  --prompt-template T    instruction; {{labels}} is replaced by the label set
  --temperature T        sampling temperature, 0 to ${MAX_TEMPERATURE} (default ${DEFAULT_TEACHER_SETTINGS.temperature})
  --timeout-ms N         per-request timeout in ms, ${MIN_REQUEST_TIMEOUT_MS} to ${MAX_REQUEST_TIMEOUT_MS} (default ${DEFAULT_TEACHER_SETTINGS.requestTimeoutMs})
  --max-retries N        retries for 429, 5xx, timeouts and lost connections, 0 to ${MAX_RETRIES} (default ${DEFAULT_TEACHER_SETTINGS.maxRetries})
  --batch                use the Batch API (upload, poll, download) instead of live requests
  --cache-dir DIR        answer cache (default .peerkd/teacher-cache next to DATA)
  --fields.text F        field of the text (also --fields.teacher, --fields.human, --fields.id,
                         --fields.teacherConfidence, as distill and export take them; dotted paths allowed;
                         defaults text, teacher_label, human_label, id, teacher_confidence; the older spellings
                         --text-field, --teacher-field, --human-field, --id-field, --confidence-field still work)
  -h, --help             show this help

Answers are cached: re-running labels nothing twice, and an interrupted run (Ctrl-C, crash) resumes where it stopped.

${EXIT_CODES_HELP}`;

export interface LabelCommandIo {
  stdout: TextOutput;
  stderr: TextOutput;
  env: NodeJS.ProcessEnv;
  /** Aborts the run (Ctrl-C); finished answers are still written. */
  signal?: AbortSignal;
  /** Test hook: shorter retry waits. */
  backoff?: BackoffOptions;
}

/**
 * The field flags' older spellings, from before label took the `--fields.*` flags of distill, predict and export:
 * still read, never together with the new one for the same field.
 */
const OLD_FIELD_FLAGS = {
  text: 'text-field',
  teacher: 'teacher-field',
  human: 'human-field',
  id: 'id-field',
  teacherConfidence: 'confidence-field',
} as const satisfies Record<keyof FieldMapping, string>;

/** The flags `peerkd label` accepts: the one table the parser reads and its --help is checked against. */
export const LABEL_OPTIONS = {
  'base-url': { type: 'string' },
  model: { type: 'string' },
  'api-key-env': { type: 'string', default: DEFAULT_API_KEY_ENV },
  concurrency: { type: 'string' },
  out: { type: 'string' },
  relabel: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  labels: { type: 'string' },
  'few-shot': { type: 'string' },
  'prompt-template': { type: 'string' },
  temperature: { type: 'string' },
  'timeout-ms': { type: 'string' },
  'max-retries': { type: 'string' },
  batch: { type: 'boolean', default: false },
  'cache-dir': { type: 'string' },
  ...FIELD_OPTIONS,
  'text-field': { type: 'string' },
  'teacher-field': { type: 'string' },
  'human-field': { type: 'string' },
  'id-field': { type: 'string' },
  'confidence-field': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} satisfies ParseArgsConfig['options'];

export async function runLabelCommand(argv: string[], io: LabelCommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, LABEL_OPTIONS, { positionals: ['DATA.jsonl'], flags: ['out', 'cache-dir'] });
  if (values.help) {
    new Terminal(io.stdout).lines(LABEL_HELP.split('\n'));
    return 0;
  }
  expectPositionals(positionals, ['DATA.jsonl']);
  if (!values['base-url']) throw new UsageError('--base-url is required (e.g. http://localhost:11434/v1)');
  if (!values.model?.trim()) throw new UsageError('--model is required');
  if (values.force && !values.out) throw new UsageError('--force replaces an existing --out FILE; without --out the dataset is labelled in place');
  // A blank instruction would send the bare text: the teacher is not told the labels, and every answer is wasted.
  if (values['prompt-template'] !== undefined && values['prompt-template'].trim() === '') {
    throw new UsageError('--prompt-template is blank: give the instruction (use {{labels}} where the label set goes), or leave the flag out for the default');
  }
  // A plain decimal number: '' and '0x10' are not temperatures (Number would read them as 0 and 16).
  const temperature = values.temperature === undefined ? 0 : decimalNumber(values.temperature);
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > MAX_TEMPERATURE) {
    throw new UsageError(`--temperature must be a number from 0 to ${MAX_TEMPERATURE}, got '${values.temperature}'`);
  }

  const dataPath = path.resolve(positionals[0]);
  const outPath = values.out ? path.resolve(values.out) : dataPath;
  // Each field from `--fields.<key>` or its older spelling (not both); messages name the flag the user typed.
  const fields: FieldMapping = { ...DEFAULT_FIELDS };
  const fieldFlags = {} as Record<keyof FieldMapping, string>;
  for (const key of FIELD_KEYS) {
    const flag = `fields.${key}` as const;
    const old = OLD_FIELD_FLAGS[key];
    if (values[flag] !== undefined && values[old] !== undefined) throw new UsageError(`--${flag} and --${old} name the same field: give one`);
    const used = values[old] !== undefined ? old : flag;
    fieldFlags[key] = `--${used}`;
    const value = values[used];
    if (value !== undefined) fields[key] = fieldPathOption(`--${used}`, value);
  }
  const fieldsProblem = teacherFieldsProblem(fields, fieldFlags satisfies FieldNames);
  if (fieldsProblem) throw new UsageError(fieldsProblem);
  const apiKeyEnv = values['api-key-env'] ?? DEFAULT_API_KEY_ENV;
  const apiKey = apiKeyFromEnv(io.env, apiKeyEnv);
  let baseUrl: string;
  try {
    baseUrl = normaliseBaseUrl(values['base-url']);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  // Which proxy the requests go through (the variables as curl reads them), said once before the run; a variable that
  // is no proxy address is refused with the flags, since every request it covers would fail.
  let proxy: string | undefined;
  try {
    proxy = proxyNote(baseUrl, io.env);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const endpoint: TeacherEndpoint = {
    baseUrl,
    model: values.model,
    apiKey,
    temperature,
    maxConcurrency: integerFlag(values.concurrency, 'concurrency', 1, DEFAULT_TEACHER_SETTINGS.maxConcurrency, MAX_CONCURRENCY),
    requestTimeoutMs: integerFlag(values['timeout-ms'], 'timeout-ms', MIN_REQUEST_TIMEOUT_MS, DEFAULT_TEACHER_SETTINGS.requestTimeoutMs, MAX_REQUEST_TIMEOUT_MS),
    maxRetries: integerFlag(values['max-retries'], 'max-retries', 0, DEFAULT_TEACHER_SETTINGS.maxRetries, MAX_RETRIES),
  };
  // Every flag is checked before the file is read: a usage error is exit 2, whatever the file holds.
  const fewShotExamples = integerFlag(values['few-shot'], 'few-shot', 0, DEFAULT_TEACHER_SETTINGS.fewShotExamples, MAX_FEW_SHOT_EXAMPLES);
  const configuredLabels = values.labels === undefined ? [] : labelsOption(values.labels);
  const out = new Terminal(io.stdout);
  const say = (line: string) => new Terminal(io.stderr).line(redactSecret(line, apiKey));
  try {
    return await label();
  } catch (error) {
    // Nothing below may print the key, not even an unexpected error from the SDK or the file system.
    if (error instanceof Error) error.message = redactSecret(error.message, apiKey);
    throw error;
  }

  async function label(): Promise<number> {
    await assertReadableFile(dataPath, positionals[0]);
    // Checked before any request is paid for: --out must not be the dataset under another name.
    if (values.out) {
      await assertNotSameFile(dataPath, outPath, { input: positionals[0], output: values.out });
      // Nor into PeerKD's own folder: the teacher cache and the runs live there.
      await assertOutsidePeerkdFolder(values.out);
      // A folder, a read-only file, a missing folder: said as such first, not as a file of the user's to --force.
      await assertReplaceable(values.out);
      // Nor over a file of the user's (a curated copy, another dataset) unless asked: the copy is the input's bytes.
      if (!values.force) await assertNoUserFileAt(outPath, values.out);
    } else {
      await assertReplaceable(positionals[0]);
    }
    const dataset = await readDatasetFile(dataPath, fields);
    // A file without a single row (empty, a JSON array, every line invalid) is refused as distill and predict refuse
    // it: it said "Done: 0 labelled … Wrote 0 rows" and exit 0, as if every row had been labelled.
    const noRows = noRowsError(positionals[0], dataset);
    if (noRows) throw noRows;
    // The file's fields named otherwise (`sentence`, `llm_label`), as a run says it: no row has the text field, so
    // nothing can be labelled (it ended "Done: 0 labelled", exit 0); teacher labels seemingly under another name would
    // be labelled again into --teacher-field. Said with the flag the user typed (--text-field or --fields.text).
    const withFlags = (message: string) => message.replace(/--fields\.(\w+)/g, (flag, key: string) => (fieldFlags as Record<string, string>)[key] ?? flag);
    const noTextField = dataset.problems.find((problem) => problem.code === 'missing-text-field');
    if (noTextField) throw new Error(`${positionals[0]}:${noTextField.line}: ${withFlags(noTextField.message)}`);
    for (const problem of dataset.problems.filter((p) => p.code === 'missing-teacher-field' || p.code === 'missing-label-fields')) {
      say(`warning: ${positionals[0]}:${problem.line}: ${withFlags(problem.message)}`);
    }
    const unreadable = dataset.problems.filter((problem) => problem.code === 'invalid-json' || problem.code === 'not-an-object');
    if (unreadable.length > 0) {
      say(`${unreadable.length} lines are not rows and are left as they are (first: ${positionals[0]}:${unreadable[0].line}: ${unreadable[0].message}).`);
    }
    const notStrings = dataset.problems.filter((problem) => problem.code === 'label-not-string');
    if (notStrings.length > 0) {
      say(`${notStrings.length} labels are not strings and are ignored, as if absent; a teacher field holding one is not written over unless --relabel (first: ${positionals[0]}:${notStrings[0].line}: ${notStrings[0].message}).`);
    }
    let job: ReturnType<typeof prepareJob>;
    try {
      job = prepareJob(dataset.rows, configuredLabels, {
        relabel: values.relabel ?? false,
        fewShotExamples,
        promptTemplate: values['prompt-template'] ?? DEFAULT_TEACHER_SETTINGS.promptTemplate,
      });
    } catch (error) {
      // No label set to ask for (no --labels, no labelled row): a fact of the file, said with its name as every error is.
      if (error instanceof Error) error.message = `${positionals[0]}: ${error.message.charAt(0).toLowerCase()}${error.message.slice(1)}`;
      throw error;
    }
    const cacheDir = values['cache-dir'] ? path.resolve(values['cache-dir']) : defaultCacheDir(path.dirname(dataPath));
    // Before the cache is read: a run that starts while another labels this dataset would ask for every row again.
    // Whatever the cache folder; and the --out copy too, which another run may be labelling or writing at once.
    const locks = [LabelRunLock.acquire(dataPath)];
    try {
      if (outPath !== dataPath) locks.push(LabelRunLock.acquire(outPath));
      for (const lock of locks) if (lock.unavailable) say(lock.unavailable);
      return await labelLocked(job, cacheDir);
    } finally {
      for (const lock of locks) lock.release();
    }
  }

  async function labelLocked(job: ReturnType<typeof prepareJob>, cacheDir: string): Promise<number> {
    const cache = TeacherCache.open(cacheDir, endpoint.baseUrl, endpoint.model, job.prompt, { secret: apiKey });
    reportList(cache.describeProblems(), 'answer cache lines are not valid answers');
    if (!apiKey) say(`No API key in $${apiKeyEnv}: sending none (fine for local servers such as Ollama or vLLM).`);
    const plainHttp = plainHttpKeyWarning(endpoint.baseUrl, apiKey);
    if (plainHttp) say(`warning: ${plainHttp}.`);
    if (proxy) say(`Proxy: ${proxy}.`);
    say(`Labels (${job.labelSource}): ${labelListText(job.prompt.labels)}; ${job.prompt.fewShot.length} few-shot examples.`);
    say(formatEstimate(estimateRun(job.plan, job.prompt, cache), endpoint.model));

    const progress = progressReporter(io);
    let result: LabelRunResult;
    try {
      const client = { fetch: proxyAwareFetch(io.env), ...(io.backoff ? { backoff: io.backoff } : {}) };
      const options = { endpoint, prompt: job.prompt, cache, signal: io.signal, onProgress: progress.update, client };
      result = values.batch
        ? await runBatchLabelling(job.plan, { ...options, pollIntervalMs: io.backoff ? 20 : undefined, onStatus: say })
        : await runLabelling(job.plan, options);
    } finally {
      progress.finish();
    }

    // The file may have changed during a long run: edits are computed against it as it is now, and each edit checks
    // that its line still holds the same row.
    const current = await readDatasetFile(dataPath, fields);
    const content = await fsp.readFile(dataPath);
    // Lines counted as the reader (and the editor) counts them: LF, CRLF and a lone CR each end one.
    const text = content.toString('utf8');
    const lineTexts: string[] = [];
    forEachLine(text, (start, end) => lineTexts.push(text.slice(start, end)));
    // A line that cannot take its label (e.g. nested too deeply) is reported and left as it is; the others are written.
    const { edits, skipped } = replacedLines(
      teacherEdits(current.rows, result.answers, fields, values.relabel ?? false),
      (line) => lineTexts[line - 1] ?? '',
    );
    reportList(
      skipped.map((row) => `${positionals[0]}:${row.line}: ${row.reason}`),
      'rows could not take their teacher label and are left as they are',
    );
    if (outPath !== dataPath) {
      await writeFileAtomic(outPath, content);
    }
    await applyRowEditsToFile(outPath, edits, fields);
    const written = new Set(edits.map((edit) => edit.line)).size;

    out.lines(formatSummary(result.summary).map((line) => redactSecret(line, apiKey)));
    // What the file now is: with --out a copy of the whole dataset ("Wrote 0 rows to copy.jsonl" read as an empty
    // file); in place with nothing to write, untouched.
    out.line(
      outPath === dataPath
        ? `Wrote ${written} rows to ${positionals[0]}${written === 0 ? ' (left as it was)' : ''}.`
        : `Wrote ${written} rows to ${values.out} (a copy of ${positionals[0]}, its other rows as they are there).`,
    );
    const outcome = runOutcome(result.summary);
    // With --out, the copy now exists and the same command would be refused for it (assertNoUserFileAt): --force. Said
    // after a stop or a cancel too, where the summary's "Run again" alone led to that refusal (a wrong key fixed, say).
    const retry =
      outPath === dataPath
        ? 'run the same command again to retry them'
        : `run the same command again with --force to retry them (${values.out} now holds this run's copy), or label ${values.out} in place` +
          // Its answers are cached next to the input (or in --cache-dir): labelling the copy elsewhere must read them there.
          (path.dirname(outPath) === path.dirname(dataPath) && !values['cache-dir'] ? '' : ` with --cache-dir ${values['cache-dir'] ?? cacheDir}`);
    if (outcome === 'incomplete') {
      say(`${result.summary.failedRequests} requests failed: ${retry} (the cache keeps every answer received).`);
    } else if (outPath !== dataPath && (result.summary.failedRequests > 0 || result.summary.notAttempted > 0)) {
      say(`Rows left without an answer: ${retry} (the cache keeps every answer received).`);
    }
    return outcome === 'cancelled' ? EXIT.interrupted : outcome === 'done' ? EXIT.ok : EXIT.failed;
  }

  /** Up to REPORTED_LINES messages of a list, then how many more there were. */
  function reportList(messages: readonly string[], what: string): void {
    if (messages.length === 0) return;
    say(`${messages.length} ${what}:`);
    for (const message of messages.slice(0, REPORTED_LINES)) say(`  ${message}`);
    if (messages.length > REPORTED_LINES) say(`  … and ${messages.length - REPORTED_LINES} more.`);
  }
}

/** Per-line problems printed before the rest is summarised as a count. */
const REPORTED_LINES = 10;

/** A one-line bar redrawn in place on a terminal; on a pipe, a plain line about every 10% (and at the end). */
function progressReporter(io: LabelCommandIo): { update: (progress: LabelProgress) => void; finish: () => void } {
  const err = new Terminal(io.stderr);
  const tty = err.isTTY;
  let lastDecile = -1;
  let lastDraw = 0;
  let drawn = false;
  let latest: LabelProgress | undefined;
  const draw = (progress: LabelProgress) => {
    const width = 24;
    const filled = progress.total > 0 ? Math.round((progress.done / progress.total) * width) : width;
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const line = `${bar} ${formatProgress(progress)}`;
    const columns = err.columns ?? 120;
    err.redraw(line.slice(0, columns - 1));
    drawn = true;
  };
  return {
    update(progress) {
      latest = progress;
      if (progress.total === 0) return;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw >= 100 || progress.done === progress.total) {
          lastDraw = now;
          draw(progress);
        }
        return;
      }
      const decile = Math.floor((progress.done / progress.total) * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        err.line(formatProgress(progress));
      }
    },
    finish() {
      if (tty && latest && latest.total > 0) draw(latest);
      if (drawn) err.endLine();
    },
  };
}

export function createLabelCommand(io: Omit<LabelCommandIo, 'signal' | 'backoff'> = { stdout: process.stdout, stderr: process.stderr, env: process.env }): CliCommand {
  return {
    name: 'label',
    summary: 'Label rows with an OpenAI-compatible teacher endpoint (OpenAI, Azure, Ollama, vLLM)',
    async run(argv) {
      const controller = new AbortController();
      // Ctrl-C and SIGTERM both stop sending, and the answers already received are written; the exit code says which
      // (130, 143). A second one quits at once (the answers stay in the cache).
      const signals = cancelOnSignals((signal) => {
        const err = new Terminal(io.stderr);
        err.endLine();
        err.line(`Cancelling: finished answers are kept and written (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to quit at once).`);
        controller.abort();
      });
      try {
        // As every command: a usage error prints the help and exits 2, any other error is one line naming the command, exit 1.
        return signals.exitCode(await runCommand('label', LABEL_HELP, io, () => runLabelCommand(argv, { ...io, signal: controller.signal })));
      } finally {
        signals.dispose();
      }
    },
  };
}

export const labelCommand = createLabelCommand();

/**
 * --out must not replace an existing file of the user's without --force: a labelled copy the user has edited since,
 * or another dataset named by a typo, would be lost. A missing or empty file is written.
 */
async function assertNoUserFileAt(outPath: string, shown: string): Promise<void> {
  let size: number;
  try {
    size = (await fsp.stat(outPath)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`${shown}: ${(error as Error).message}`);
  }
  if (size === 0) return;
  throw new Error(
    `${shown} exists, so it is not replaced: to label the rows it still lacks, run peerkd label on ${shown} itself (it labels in place); to replace it with a labelled copy of the input, add --force`,
  );
}

