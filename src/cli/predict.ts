/**
 * `peerkd predict MODEL_DIR DATA.jsonl [--out FILE]`: labels new rows with a saved final student. Writes one JSON
 * object per row with text: `id`, `predicted`, `probs`. MODEL_DIR may be a run folder (its `model/` is used, and
 * its field mapping is the default), or a run pointer (`.peerkd/runs/latest`, or the runs folder holding it).
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import {
  assertNotSameFile,
  assertOutsidePeerkdFolder,
  assertReadableFile,
  assertReplaceable,
  fileError,
  notFoundReason,
  firstInvalidUtf8LineOfFile,
  readDatasetFile,
  writeFileAtomic,
  OutputAppearedError,
  missingTextFieldProblem,
  absentTextMessage,
  isAbsentTextProblem,
  printable,
} from '../dataset';
import { getFieldAt, idFieldValue, idIsNumber, idJson, splitFieldPath } from '../dataset/fields';
import { DEFAULT_FIELDS, type DatasetRow, type FieldMapping, type Problem } from '../dataset/types';
import { followRunPointer, LATEST_BY_DATASET_DIR, LATEST_FILE, MODEL_DIR, SETTINGS_FILE, TEMP_PREFIX } from '../training/artifacts';
import { EMBEDDING_CACHE_DIR_NAME } from '../training/embeddingCache';
import { noRowsError } from '../training/input';
import { BACKEND_PREFERENCES } from '../training/types';
import { EXIT_CODES_HELP, expectPositionals, fieldFlag, parseCommandArgs, type CliCommand } from './command';
import { choiceOption, fieldsFrom, runCommand, type CliIo } from './distill';
import { ENCODER_ENDPOINT_HELP, ENCODER_ENDPOINT_OPTIONS, encoderEndpointFromFlags } from './encoderFlags';
import { proxyAwareFetch } from '../teacher/proxyFetch';

const BATCH_ROWS = 2048;
/** Lines left out or skipped that are named one by one; the rest are counted. */
const MAX_LINE_WARNINGS = 10;

/** DATA.jsonl given as `-` (or /dev/stdin): the rows are read from standard input (fd 0, a pipe or a socket), named <stdin>. */
const STDIN_ARG = '-';
const STDIN_PATH = '/dev/stdin';
const STDIN_NAME = '<stdin>';

export const PREDICT_HELP = `Usage: peerkd predict MODEL_DIR DATA.jsonl [options]

Predicts a label for each row of DATA.jsonl with the final student saved in MODEL_DIR (a run's model/ folder,
the run folder itself, or .peerkd/runs/latest for the newest run). Writes one JSON object per row with text:
{"id", "predicted", "probs"}. DATA.jsonl may be - (or /dev/stdin) to read the rows from standard input.

Options:
  --out FILE              write the predictions to FILE (default: standard output)
  --backend B             ${BACKEND_PREFERENCES.join(' | ')} (default auto)
  --fields.text F         field of the text, --fields.id F field of the row id (default: the run's settings,
                          else text / id)
A model trained with the endpoint encoder reopens the endpoint it was trained with (the flags below override it);
embeddings come from .peerkd/embedding-cache next to DATA.jsonl (in the current folder for standard input) where
present, so rows embedded before are not sent again.
${ENCODER_ENDPOINT_HELP}
  -h, --help              this help

${EXIT_CODES_HELP}`;

/** predict reads only the text and the id of a row: the other --fields.* of distill would be accepted and do nothing. */
export const PREDICT_OPTIONS = {
  out: { type: 'string' },
  backend: { type: 'string' },
  ...ENCODER_ENDPOINT_OPTIONS,
  help: { type: 'boolean', short: 'h' },
  'fields.text': { type: 'string' },
  'fields.id': { type: 'string' },
} satisfies ParseArgsConfig['options'];

/**
 * The model folder, and the run's field mapping when MODEL_DIR is (or is inside) a run folder. An entry of the
 * mapping that is not a field name (a hand-edited settings.json) is left out and returned in `invalid`.
 */
async function locateModel(
  given: string,
): Promise<{ modelDir: string; fields: FieldMapping; invalid: { key: string; value: unknown; file: string }[]; warnings: string[]; runMapping: boolean; trainedOn: string | undefined }> {
  // The model's own model.json named: its folder.
  const named = path.basename(given) === 'model.json' && (await fs.stat(given).catch(() => undefined))?.isFile() ? path.dirname(path.resolve(given)) : path.resolve(given);
  // A folder (or its model.json) that is a symbolic link to nothing is said as one, as a dataset's path is.
  if (!existsSync(named)) throw new Error(`${given}: ${await notFoundReason(path.resolve(given), 'folder not found')}`);
  const holdsModel = (folder: string) => existsSync(path.join(folder, 'model.json')) || existsSync(path.join(folder, MODEL_DIR, 'model.json'));
  // A run pointer (the `latest` distill prints, or the runs folder holding it) stands for the run it names.
  const pointer = holdsModel(named) ? undefined : await followRunPointer(named);
  if (pointer && pointer.runDir === undefined) {
    throw new Error(`${given}: the run pointer ${pointer.pointer} names run '${pointer.id}', which is not in ${pointer.runsDir} (deleted?): name a run folder there, or run peerkd distill again`);
  }
  const resolved = pointer?.runDir ?? named;
  const modelDir = existsSync(path.join(resolved, MODEL_DIR, 'model.json')) ? path.join(resolved, MODEL_DIR) : resolved;
  if (!existsSync(path.join(modelDir, 'model.json'))) {
    // A run pointer whose text names no run folder (empty, a path): said as such, not as a folder without a model.
    const inRuns = path.basename(named) === LATEST_FILE || path.basename(path.dirname(named)) === LATEST_BY_DATASET_DIR;
    if (pointer?.runDir !== undefined) {
      throw new Error(`${given}: the run pointer ${pointer.pointer} names run '${pointer.id}', whose folder ${pointer.runDir} holds no ${MODEL_DIR}/model.json (removed?): name another run folder, or run peerkd distill again`);
    }
    if (inRuns && (await fs.stat(named).catch(() => undefined))?.isFile()) {
      throw new Error(`${given}: this run pointer does not name a run folder beside it (it holds one run id, as peerkd distill writes it); name a run folder instead, or run peerkd distill again`);
    }
    // A model.json that is a symbolic link to nothing (a run copied with its links) is named as such: `ls` shows it.
    for (const candidate of [path.join(resolved, MODEL_DIR, 'model.json'), path.join(modelDir, 'model.json')]) {
      const dangling = await notFoundReason(candidate, '');
      if (dangling) throw new Error(`${given}: ${candidate}: ${dangling}`);
    }
    throw new Error(`${given}: no model.json here (expected a run folder, its model/ folder, or a run pointer such as .peerkd/runs/latest)`);
  }
  // A run folder still being written (or left by a killed run) is `.tmp-<run-id>`: its model may be half there.
  const runFolder = path.basename(modelDir) === MODEL_DIR ? path.dirname(modelDir) : modelDir;
  if (path.basename(runFolder).startsWith(TEMP_PREFIX)) {
    throw new Error(`${given}: ${runFolder} is a run still being written, or one a killed run left behind, so its model may be incomplete; name a complete run (.peerkd/runs/latest), or wait for the run to end`);
  }
  const fields = { ...DEFAULT_FIELDS };
  const invalid: { key: string; value: unknown; file: string }[] = [];
  const settingsFile = path.join(path.dirname(modelDir), SETTINGS_FILE);
  let settings: { fields?: unknown; datasetPath?: unknown } | undefined;
  const warnings: string[] = [];
  let settingsText: string | undefined;
  try {
    settingsText = await fs.readFile(settingsFile, 'utf8');
  } catch {
    // Not inside a run folder: the default mapping.
  }
  if (settingsText !== undefined) {
    // A hand-edited or cut settings.json: the run's mapping is unknown, and the default one may read other fields.
    const unknown = (why: string) => `${settingsFile}: ${why}, so the run's field mapping is not known; the default mapping is used (give --fields.text and --fields.id to choose)`;
    try {
      const value = JSON.parse(settingsText) as unknown;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) settings = value as { fields?: unknown };
      else warnings.push(unknown('not a JSON object'));
    } catch (error) {
      warnings.push(unknown(`invalid JSON (${error instanceof Error ? error.message : String(error)})`));
    }
  }
  if (settings && typeof settings.fields === 'object' && settings.fields !== null) {
    for (const [key, value] of Object.entries(settings.fields as Record<string, unknown>)) {
      if (!(key in DEFAULT_FIELDS)) continue;
      if (typeof value === 'string' && value.trim().length > 0) fields[key as keyof FieldMapping] = value;
      else invalid.push({ key, value, file: settingsFile });
    }
  }
  const trainedOn = typeof settings?.datasetPath === 'string' ? settings.datasetPath : undefined;
  return { modelDir, fields, invalid, warnings, runMapping: settings !== undefined, trainedOn };
}

/** The fields of one output line, in the order written: `--out` replaces only a file whose first row has these. */
const OUTPUT_FIELDS = ['id', 'predicted', 'probs'] as const;

/**
 * A row's `id` in the output as JSON text, as the file writes it: an id written as a number stays a number (`{"id": 7}`
 * gives 7, not "7", which no join on the user's own ids would match; one beyond 2^53 its digits as written, not a
 * string of them nor JSON.parse's rounding); a text id as it is, any other value of the id field as it is (an object,
 * a list, null), and a row without an id field its identity (a hash of its text), as in the run's predictions.jsonl
 * (the one rule: dataset/fields.ts idJson).
 */
function outputId(row: DatasetRow, idPath: readonly string[]): string {
  const written = getFieldAt(row.value, idPath);
  // An id field that gives no identity (an object, a list, true, null, ""): the row is known by its text, but the
  // output keeps the user's value, which is what a join on their file matches (a hash of the text matches nothing).
  // A number too large for a double (1e999) has no JSON value to write back: its identity stays.
  if (written !== undefined && idFieldValue(written) === null && typeof written !== 'number') return JSON.stringify(written);
  return idJson(row.id, idIsNumber(row.value, idPath, row.id));
}
/** How much of an existing `--out` file is read to find its first row. */
const OUTPUT_PROBE_BYTES = 1 << 20;

/**
 * Throws, naming the file, unless `--out` may be replaced: it does not exist, holds only white space, or is an
 * earlier output of predict (its first non-blank line an object of exactly OUTPUT_FIELDS). Anything else is a file
 * of the user's own, e.g. `--out train.jsonl` typed for `train.predictions.jsonl`, and is never written over.
 */
async function assertPredictionsReplaceable(out: string): Promise<boolean> {
  const { target, stats } = await assertReplaceable(out);
  if (stats === undefined) return false;
  if (stats.size === 0n) return true;
  let text: string;
  let whole: boolean;
  try {
    const handle = await fs.open(target, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(OUTPUT_PROBE_BYTES, Number(stats.size)));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      text = buffer.toString('utf8', 0, bytesRead);
      whole = BigInt(bytesRead) >= stats.size;
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw fileError(out, error);
  }
  const lines = text.split(/\r\n|\r|\n/);
  // The last piece of a partial read may be a cut line: only complete lines count.
  const complete = whole ? lines : lines.slice(0, -1);
  const first = complete.find((line) => line.trim().length > 0);
  if (first === undefined && whole) return true;
  let value: unknown;
  try {
    value = first === undefined ? undefined : JSON.parse(first);
  } catch {
    value = undefined;
  }
  const keys = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
  if (keys.length !== OUTPUT_FIELDS.length || !OUTPUT_FIELDS.every((field, index) => keys[index] === field)) {
    throw new Error(
      `${out} exists and is not an output of peerkd predict (its first row is not {${OUTPUT_FIELDS.map((field) => `"${field}"`).join(', ')}}), so it is not replaced; choose another output file, or remove it first`,
    );
  }
  return true;
}

export function createPredictCommand(io: CliIo = { stdout: process.stdout, stderr: process.stderr }): CliCommand {
  return {
    name: 'predict',
    summary: "Label the rows of a JSONL file with a run's saved final student",
    run: (argv) =>
      runCommand('predict', PREDICT_HELP, io, async (out, err) => {
        const { values, positionals } = parseCommandArgs(argv, PREDICT_OPTIONS, { positionals: ['MODEL_DIR', 'DATA.jsonl'], flags: ['out'] });
        if (values.help) {
          out.lines(PREDICT_HELP.split('\n'));
          return 0;
        }
        expectPositionals(positionals, ['MODEL_DIR', 'DATA.jsonl']);
        const [modelArg, dataGiven] = positionals;
        // `-` and /dev/stdin are standard input, read as a stream (opening /dev/stdin fails on a socket); `-` is named <stdin>.
        const fromStdin = dataGiven === STDIN_ARG || path.resolve(dataGiven) === STDIN_PATH;
        const dataArg = dataGiven === STDIN_ARG ? STDIN_NAME : dataGiven;
        const backend = choiceOption(values, 'backend', BACKEND_PREFERENCES, 'auto');
        const flags = encoderEndpointFromFlags(values, process.env);
        // The field flags are checked now (a usage error, exit 2), before the model is looked for.
        fieldsFrom(values);
        const located = await locateModel(modelArg);
        for (const warning of located.warnings) err.line(`warning: ${warning}`);
        const fields = fieldsFrom(values, located.fields);
        // A broken entry of the run's mapping is an error, unless the flag gives the field anyway.
        const broken = located.invalid.find((entry) => (values as Record<string, unknown>)[`fields.${entry.key}`] === undefined);
        if (broken) {
          throw new Error(
            `${broken.file}: the run's field mapping 'fields.${broken.key}' is ${JSON.stringify(broken.value) ?? String(broken.value)}, not a field name; correct it there, or give --fields.${broken.key}`,
          );
        }
        const dataPath = fromStdin ? STDIN_PATH : path.resolve(dataGiven);
        /** Whether --out was there when checked (an earlier prediction file, or an empty one). */
        let outExisted = false;
        if (!fromStdin) await assertReadableFile(dataPath, dataArg);
        // Before any work: the predictions must never replace the dataset they were made from.
        if (values.out !== undefined) {
          await assertNotSameFile(dataPath, path.resolve(values.out), { input: dataArg, output: values.out });
          // Nor PeerKD's own folder: a run pointer, a run's artefact or a cache replaced by predictions breaks the review.
          await assertOutsidePeerkdFolder(values.out);
          // Nor the model it is made with: every file of the model folder is an input too, and so is every file
          // of the run folder around it (its predictions, settings, metrics: a run the review still reads).
          const runDir = path.dirname(located.modelDir);
          const runFiles = existsSync(path.join(runDir, SETTINGS_FILE)) ? (await fs.readdir(runDir)).map((name) => path.join(runDir, name)) : [];
          for (const file of [...(await fs.readdir(located.modelDir)).map((name) => path.join(located.modelDir, name)), ...runFiles]) {
            // A stray entry that cannot be read (a dangling link) is no input: loadModel names the files it needs.
            await assertNotSameFile(file, path.resolve(values.out), { input: file, output: values.out }).catch((error: NodeJS.ErrnoException) => {
              if (error.code === undefined) throw error;
            });
          }
          // Nor a file of the user's own (another dataset, the one the run was trained on): only earlier predictions.
          outExisted = await assertPredictionsReplaceable(values.out);
        }
        const parsed = await readDatasetFile(fromStdin ? process.stdin : dataPath, fields);
        // An empty file, or one without a single row (a JSON array, every line broken): as distill says it, rather
        // than an empty output and exit code 0.
        const noRows = noRowsError(dataArg, parsed);
        if (noRows) throw noRows;
        const invalid = parsed.problems.filter((problem) => problem.code === 'invalid-json' || problem.code === 'not-an-object');
        const rows = parsed.rows.filter((row) => row.text !== null && row.text.trim().length > 0);
        const skipped = parsed.rows.length - rows.length;
        // A text field named otherwise: no row has it. Said before the model loads, as distill says it.
        const missingText = rows.length === 0 ? missingTextFieldProblem(fields, parsed.rows) : undefined;
        if (missingText) throw new Error(`${dataArg}: ${missingText}`);
        // Rows whose text is empty, blank or no string: each is named, as the invalid lines are; with no row left
        // there is nothing to predict, which is an error naming the first.
        const noText = parsed.problems.filter((problem) => problem.code === 'missing-text' || problem.code === 'empty-text');
        if (rows.length === 0) {
          const first = noText[0];
          if (first === undefined) throw new Error(`${dataArg}: no row has text to predict (field '${fields.text}')`);
          const others = noText.length > 1 ? ` (and ${(noText.length - 1).toLocaleString('en-US')} more row(s) without text)` : '';
          throw new Error(`${dataArg}:${first.line}: no row has text to predict: ${first.message}${others}`);
        }
        // Bytes that are not valid UTF-8 are read as U+FFFD: said, as distill says it, since the model then labels
        // other text than the file holds (and an id with such bytes is written otherwise). Only a regular file is
        // read again for this: standard input has been read once already.
        if (!fromStdin && rows.some((row) => (row.text as string).includes('\ufffd') || row.id.includes('\ufffd')) && (await fs.stat(dataPath)).isFile()) {
          const line = await firstInvalidUtf8LineOfFile(dataPath).catch(() => null);
          if (line !== null) {
            err.line(`warning: ${dataArg}:${line}: holds bytes that are not valid UTF-8 (later lines may too); they are read as U+FFFD, so the model labels other text than the file holds — save the file as UTF-8`);
          }
        }
        const leftOut = [...invalid.map((problem) => ({ problem, what: 'line left out' })), ...noText.map((problem) => ({ problem, what: 'row skipped' }))];
        leftOut.sort((a, b) => a.problem.line - b.problem.line);
        // A row without the text field: the parser names the editor's setting, which predict does not read; said with
        // what maps the field here (the flag, else the run's mapping) and the flag that changes it.
        const textFlag = fieldFlag('text');
        const textMappedBy = values['fields.text'] !== undefined ? textFlag : `${located.runMapping ? "the run's field mapping" : 'the default field mapping'}; give ${textFlag} to read another field`;
        const message = (problem: Problem) => (isAbsentTextProblem(problem) ? absentTextMessage(fields.text, textMappedBy) : problem.message);
        for (const { problem, what } of leftOut.slice(0, MAX_LINE_WARNINGS)) err.line(`warning: ${dataArg}:${problem.line}: ${message(problem)} — ${what}`);
        if (leftOut.length > MAX_LINE_WARNINGS) err.line(`warning: ${dataArg}: ${(leftOut.length - MAX_LINE_WARNINGS).toLocaleString('en-US')} more line(s) left out or skipped`);

        // TF.js is loaded only here, not when the CLI starts.
        const { loadModel } = await import('../training/model.js');
        // A slow encoder's vectors are cached next to the input, as distill caches them next to its dataset.
        const model = await loadModel(located.modelDir, backend, {
          cacheDir: path.join(fromStdin ? process.cwd() : path.dirname(dataPath), EMBEDDING_CACHE_DIR_NAME),
          endpoint: flags.settings,
          apiKey: flags.apiKey,
          fetch: proxyAwareFetch(process.env),
        });
        for (const warning of model.warnings) err.line(`warning: ${warning}`);
        // Rows that carry labels, none of them the model's: most likely the model of another dataset (`latest` is the
        // newest run of any dataset in its runs folder). Its predictions would be of the wrong label set, silently.
        const dataLabels = [...new Set(rows.flatMap((row) => [row.teacher, row.human]).filter((label): label is string => typeof label === 'string' && label.length > 0))];
        if (dataLabels.length > 0 && !dataLabels.some((label) => model.labels.includes(label))) {
          const list = (labels: readonly string[]) => labels.slice(0, 5).map((label) => `'${printable(label)}'`).join(', ') + (labels.length > 5 ? ', …' : '');
          err.line(
            `warning: ${dataArg}: none of its labels (${list(dataLabels)}) is one of the model's (${list(model.labels)})${located.trainedOn ? `, trained on ${located.trainedOn}` : ''}: ` +
              `is ${modelArg} the run you meant? (a runs folder's latest is the newest run of any dataset in it)`,
          );
        }
        const lines: string[] = [];
        const idPath = splitFieldPath(fields.id);
        for (let start = 0; start < rows.length; start += BATCH_ROWS) {
          const batch = rows.slice(start, start + BATCH_ROWS);
          const predictions = await model.predict(batch.map((row) => row.text as string));
          batch.forEach((row, index) => {
            const { predicted, probs } = predictions[index];
            // `{"id":` and the id's own JSON text (a number beyond 2^53 has no JavaScript value that writes it), then the rest.
            lines.push(`{"id":${outputId(row, idPath)},${JSON.stringify({ predicted, probs }).slice(1)}`);
          });
        }
        // As distill logs them: the cache lines skipped (file:line), or the cache being off for the run.
        for (const problem of model.describeCacheProblems()) err.line(`warning: ${problem}`);
        const output = lines.length ? lines.join('\n') + '\n' : '';
        if (values.out !== undefined) {
          // The prediction took a while: a file that appeared at --out meanwhile (the user's, another predict's) is
          // never replaced (exclusive), and one that was there is checked again (it may have been written since).
          if (outExisted) await assertPredictionsReplaceable(values.out);
          await writeFileAtomic(path.resolve(values.out), output, { exclusive: !outExisted }).catch((error: unknown) => {
            if (error instanceof OutputAppearedError) {
              throw new Error(`${values.out} appeared while the rows were predicted, so it is not replaced; choose another output file, or remove it and predict again`);
            }
            throw error;
          });
        } else {
          out.data(output);
        }
        err.line(
          `Predicted ${rows.length} row(s)` +
            (skipped ? `, skipped ${skipped} without text` : '') +
            (invalid.length ? `, left out ${invalid.length} invalid line(s)` : '') +
            (values.out !== undefined ? ` → ${values.out}` : ''),
        );
        return 0;
      }),
  };
}

export const predictCommand = createPredictCommand();
