/**
 * `peerkd export DATA.jsonl (--teacher-labels | --advice-min-p P)`: writes the reviewed copy of a dataset, the one
 * "PeerKD: Export Reviewed Dataset" writes in the editor (src/review/export.ts): every row with `final_label` and
 * `label_provenance`, from the dataset's latest run in its runs folder (src/review/keyedRun.ts, as the editor finds
 * it). The dataset itself is never written.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { assertReadableDatasetFile, assertReplaceable, fileError, notFoundReason, OutputAppearedError, pathTaken, splitFieldPath } from '../dataset';
import { datasetNameProblem, DEFAULT_FIELDS, FIELD_KEYS, shellWord, type FieldMapping } from '../dataset/types';
import { assertExportTarget, describeExport, ExportInterrupted, exportedPrediction, exportFieldsProblem, exportReviewedFile, exportRunsDirs, FINAL_LABEL_FIELD, parseAdviceThreshold, PROVENANCE_FIELD, reviewedFileName, textsSinceRun, type AdviceChoice } from '../review/export';
import { readLatestKeyedRun, type KeyedRun } from '../review/keyedRun';
import { LATEST_BY_DATASET_DIR, LATEST_FILE, peerkdFolderAsRunsProblem, readKnownRunsDirs, REVIEW_LOG_DIR, runsInProgress, SETTINGS_FILE } from '../training/artifacts';
import { orphanedHistoriesOf, orphanedHistoryMessage } from '../training/datasetMove';
import { EXIT, EXIT_CODES_HELP, expectPositionals, FIELD_OPTIONS, parseCommandArgs, UsageError, type CliCommand } from './command';
import { cancelOnSignals } from './signals';
import { fieldsFrom, runCommand, type CliIo } from './distill';

export const EXPORT_HELP = `Usage: peerkd export DATA.jsonl (--teacher-labels | --advice-min-p P) [options]

Writes a copy of DATA.jsonl (.jsonl or .ndjson) in which every row also holds '${FINAL_LABEL_FIELD}' (its human label where
present, else as chosen below) and '${PROVENANCE_FIELD}' (where that label came from, the run, the run's probability
that the teacher label is wrong), from the dataset's latest run: the copy Label Review's "Export Reviewed Dataset"
writes. Every other byte of each line is kept; lines that are not rows are copied unchanged. DATA.jsonl is never
written. Rows without a human label take, as you choose (there is no default):
  --teacher-labels        the teacher's label (none where it has none); works without a run too
  --advice-min-p P        the label the run advises where its probability reaches P (0 < P <= 1, e.g. 0.9 or 90%),
                          else the teacher's; each advised row records p_advised and this threshold

Options:
  --out FILE              the copy (default: DATA.reviewed.jsonl beside DATA.jsonl); never DATA.jsonl itself (under
                          any name), nor a file in .peerkd or the runs folder
  --force                 replace FILE when it exists (a copy exported before, or any other file)
  --runs DIR              the runs folder to take the latest run from: the --out of peerkd distill (default:
                          the newest run in .peerkd/runs next to DATA.jsonl or any runs folder its runs used)
  --fields.text F         field of the text (also --fields.teacher, --fields.human, --fields.id,
                          --fields.teacherConfidence; default: the run's mapping, else text, teacher_label, ...)
  -h, --help              this help

${EXIT_CODES_HELP}`;

export const EXPORT_OPTIONS = {
  'teacher-labels': { type: 'boolean' },
  'advice-min-p': { type: 'string' },
  out: { type: 'string' },
  force: { type: 'boolean' },
  runs: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...FIELD_OPTIONS,
} satisfies ParseArgsConfig['options'];

/** What rows without a human label take: the user's explicit choice, never a default (issue 10 §3.12). */
function adviceChoice(values: { 'teacher-labels'?: boolean; 'advice-min-p'?: string }): AdviceChoice | null {
  const raw = values['advice-min-p'];
  if (values['teacher-labels'] && raw !== undefined) {
    throw new UsageError('give either --teacher-labels or --advice-min-p P, not both');
  }
  if (!values['teacher-labels'] && raw === undefined) {
    throw new UsageError(
      'say what rows without a human label take: --teacher-labels (the teacher label), or --advice-min-p P (the label the run advises where its probability is at least P, e.g. 0.9; there is no default)',
    );
  }
  if (raw === undefined) return null;
  const parsed = parseAdviceThreshold(raw);
  if (typeof parsed === 'string') throw new UsageError(`--advice-min-p '${raw}': ${parsed}`);
  return { minProbability: parsed };
}

/**
 * The field mapping of the export: the flags, else the mapping the run read the dataset with (so its rows read as the
 * run saw them), else the default. An entry of the run's settings.json that is no field path (a hand-edited file) is
 * an error naming it, unless its flag gives the field.
 */
function exportFields(values: Record<string, unknown>, run: KeyedRun | undefined): FieldMapping {
  const base: FieldMapping = { ...DEFAULT_FIELDS };
  if (run) {
    const settingsFile = path.join(run.runDir, SETTINGS_FILE);
    for (const key of FIELD_KEYS) {
      const value: unknown = (run.fields as unknown as Record<string, unknown>)[key];
      if (value === undefined || values[`fields.${key}`] !== undefined) continue;
      let usable = typeof value === 'string' && value.trim().length > 0;
      if (usable) {
        try {
          splitFieldPath(value as string);
        } catch {
          usable = false;
        }
      }
      if (!usable) {
        throw new Error(`${settingsFile}: the run's field mapping 'fields.${key}' is ${JSON.stringify(value) ?? String(value)}, not a field name; correct it there, or give --fields.${key}`);
      }
      base[key] = value as string;
    }
  }
  return fieldsFrom(values, base);
}

/**
 * The fields that identify a row and its teacher label (id, text, teacher) mapped otherwise than the run read them:
 * the rows then no longer read as the run saw them, so they take no probability or advice from it (the review says
 * the same, src/review/session.ts fieldRemapped).
 */
function remappedWarnings(fields: FieldMapping, run: KeyedRun): string[] {
  return (['id', 'text', 'teacher'] as const).flatMap((key) =>
    typeof run.fields[key] === 'string' && run.fields[key] !== fields[key]
      ? [
          `--fields.${key} is '${fields[key]}', but run ${run.runId} read the ${key} field '${run.fields[key]}': rows that no longer read as the run saw them take no probability or advice from it`,
        ]
      : [],
  );
}

/** The folder above `file`, as the user would type it here (relative to the working folder). */
function parentShown(file: string): string {
  return path.relative(process.cwd(), path.dirname(file)) || '.';
}

export function createExportCommand(io: CliIo & { signal?: AbortSignal } = { stdout: process.stdout, stderr: process.stderr }): CliCommand {
  return {
    name: 'export',
    summary: 'Write the reviewed copy of a dataset (final_label, label_provenance) from its latest run',
    async run(argv) {
      // Ctrl-C and SIGTERM while the copy is written stop it between two chunks: the temporary copy is removed and
      // nothing is left under the copy's name (130, 143); a second one quits at once. Before that nothing is written,
      // so they quit at once, as without a handler (a runs folder on a share that hangs must not keep it alive).
      const controller = new AbortController();
      if (io.signal?.aborted) controller.abort();
      else io.signal?.addEventListener('abort', () => controller.abort(), { once: true });
      let exporting = false;
      const signals = cancelOnSignals(() => {
        if (!exporting) return false;
        controller.abort();
        return true;
      });
      try {
        return signals.exitCode(await runExport(argv, io, controller.signal, () => (exporting = true)));
      } finally {
        signals.dispose();
      }
    },
  };
}

function runExport(argv: string[], io: CliIo, signal: AbortSignal, writing: () => void): Promise<number> {
  return runCommand('export', EXPORT_HELP, io, async (out, err) => {
    const { values, positionals } = parseCommandArgs(argv, EXPORT_OPTIONS, { positionals: ['DATA.jsonl'], flags: ['out', 'runs'] });
    if (values.help) {
      out.lines(EXPORT_HELP.split('\n'));
      return 0;
    }
    expectPositionals(positionals, ['DATA.jsonl']);
    const advice = adviceChoice(values);
    // The field flags are checked now (a usage error, exit 2), before any file is read: their paths, and a flag that
    // names a field the copy writes over (the defaults never do; a run's mapping is checked once it is read).
    const flagProblem = exportFieldsProblem(fieldsFrom(values), (key) => `--fields.${key}`);
    if (flagProblem) throw new UsageError(flagProblem);
    // PeerKD's own .peerkd folder for --runs (the runs are in .peerkd/runs): "no run of this dataset in .peerkd" was
    // false, and a copy with teacher labels alone was written as if there were none.
    const runsFlag = values.runs;
    const peerkdFolder = runsFlag === undefined ? undefined : peerkdFolderAsRunsProblem(runsFlag);
    if (runsFlag !== undefined && peerkdFolder) {
      throw new UsageError(`--runs ${runsFlag}: ${peerkdFolder}; give --runs ${path.join(runsFlag, 'runs')}, or leave out --runs to take the newest run from every runs folder the dataset used`);
    }
    const given = positionals[0];
    const dataPath = path.resolve(given);
    // Read more than once (the run's key of the dataset, the copy): a FIFO waited for a writer for ever. The run's rule.
    // Said before the name: a file that is not there, or /dev/zero, is not one to rename.
    await assertReadableDatasetFile(dataPath, given);
    const nameProblem = datasetNameProblem(given, pathTaken);
    if (nameProblem) throw new Error(`${given}: ${nameProblem}`);
    // --runs: that runs folder alone (distill's --out); else every runs folder the dataset used, as the editor
    // looks (artifacts.ts latestKnownRun): .peerkd/runs beside it and those its runs recorded there.
    const givenRunsDir = values.runs === undefined ? undefined : path.resolve(values.runs);
    if (values.runs !== undefined && givenRunsDir !== undefined) {
      // A runs folder that is not there is a folder not found, as predict says of a run folder (it was "file not found").
      const stats = await fs.stat(givenRunsDir).catch(async (error: NodeJS.ErrnoException) => {
        throw error.code === 'ENOENT' ? new Error(`--runs ${values.runs}: ${await notFoundReason(givenRunsDir, 'folder not found')}`) : fileError(`--runs ${values.runs}`, error);
      });
      if (!stats.isDirectory()) throw new Error(`--runs ${values.runs}: a file, not a folder; --runs names the folder peerkd distill wrote its runs into (its --out)${path.basename(givenRunsDir) === LATEST_FILE ? `: give --runs ${shellWord(parentShown(givenRunsDir))}` : ''}`);
      // A folder inside the runs folder (one run's: it holds settings.json; the pointers'; the review logs'), not
      // the runs folder: "no run in it" would be false.
      const inside = (await fs.stat(path.join(givenRunsDir, SETTINGS_FILE)).then((settings) => settings.isFile(), () => false))
        ? 'the folder of one run'
        : [LATEST_BY_DATASET_DIR, REVIEW_LOG_DIR].includes(path.basename(givenRunsDir)) && (await fs.stat(path.join(path.dirname(givenRunsDir), LATEST_FILE)).catch(() => undefined))?.isFile()
          ? `the runs folder's ${path.basename(givenRunsDir)} folder`
          : undefined;
      if (inside) {
        throw new Error(`--runs ${values.runs}: ${inside}, not a runs folder; --runs names the folder peerkd distill wrote its runs into (its --out): give --runs ${shellWord(parentShown(givenRunsDir))}`);
      }
    }
    let searchedDirs = givenRunsDir === undefined ? undefined : [givenRunsDir];
    let knownDirs: string[] | undefined;
    if (searchedDirs === undefined) {
      const known = await readKnownRunsDirs(dataPath);
      for (const problem of known.problems) err.line(`warning: ${problem}`);
      searchedDirs = knownDirs = known.dirs;
    }
    const run = await readLatestKeyedRun(dataPath, searchedDirs, exportedPrediction);
    // The copy goes into no runs folder of the dataset (those it used before too: a later run reads their runs and
    // review logs), nor the one named, nor that of the run exported.
    const runsDirs = await exportRunsDirs(dataPath, { ...(knownDirs ? { known: knownDirs } : {}), also: [...searchedDirs, ...(run ? [path.dirname(run.runDir)] : [])] });
    const searched = searchedDirs.join(', ');
    // A distill of this dataset still running: its run is not there yet, which "no run" or the older run alone would hide.
    const running = await runsInProgress(dataPath, searchedDirs);
    // No run: the history of a dataset that is gone in the folders looked in (renamed or moved without it) is named.
    const orphaned = run || running.length > 0 ? undefined : orphanedHistoryMessage(dataPath, await orphanedHistoriesOf(dataPath, searchedDirs));
    if (advice && !run) {
      throw new Error(
        running.length > 0
          ? `${given}: no complete run of this dataset yet: a run is in progress (${running.join(', ')}); export again once peerkd distill has finished, or export with --teacher-labels`
          : `${given}: no run of this dataset in ${searched}, so there is no advice to export; ${orphaned ? `${orphaned}; else ` : ''}run peerkd distill ${given.startsWith('-') ? '-- ' : ''}${shellWord(given)} first${values.runs === undefined ? ' (or give --runs DIR, the folder it wrote its runs into)' : ''}, or export with --teacher-labels`,
      );
    }
    if (orphaned) err.line(`warning: ${orphaned}`);
    if (running.length > 0) {
      err.line(`warning: a run of ${given} is in progress (${running.join(', ')}): this copy is ${run ? `from the run before it, ${run.runId}` : 'without it'}; export again once it has finished for its labels`);
    }
    const fields = exportFields(values, run);
    // A mapped field that the copy writes over (final_label, label_provenance): said before anything is read.
    let named: keyof FieldMapping | undefined;
    const fieldsProblem = exportFieldsProblem(fields, (key) => {
      named = key;
      return values[`fields.${key}`] !== undefined ? `--fields.${key}` : `fields.${key} of run ${run?.runId ?? ''}; give --fields.${key}`;
    });
    // A flag's field is a usage error, as distill says a human field that is the teacher's; the run's, a file's.
    if (fieldsProblem) throw named !== undefined && values[`fields.${named}`] !== undefined ? new UsageError(fieldsProblem) : new Error(fieldsProblem);
    if (run) for (const warning of remappedWarnings(fields, run)) err.line(`warning: ${warning}`);
    const copyName = reviewedFileName(path.basename(dataPath));
    const outShown = values.out ?? path.join(path.dirname(given), copyName);
    // Never the dataset (under any name), nor PeerKD's own folder or the runs folder: the editor's rule.
    for (const runsDir of runsDirs) await assertExportTarget(given, outShown, runsDir, { input: given, output: outShown });
    // A folder, a read-only file, a missing folder: said as such first.
    const { stats } = await assertReplaceable(outShown, { fileName: copyName });
    // The editor's save dialog asks before it replaces a file; here --force is that answer. An empty file too: it may be
    // one the user made to hold the copy, or one being written by another program, and replacing it needs the same yes.
    const exists = () => new Error(`${outShown} exists, so it is not replaced: add --force to replace it (a copy exported before), or choose another --out`);
    if (stats !== undefined && !values.force) throw exists();
    // From the file's bytes, as the editor exports a saved dataset: bytes that are not valid UTF-8 are copied as they
    // are. Streamed (the whole file in memory took about nine times its size); Ctrl-C leaves no copy, not even a part.
    const options = { fields, predictionsByKey: run?.byKey ?? null, runId: run?.runId ?? null, advice, runDigests: run ?? null };
    let result: Awaited<ReturnType<typeof exportReviewedFile>>;
    try {
      writing();
      // Without --force a copy that another export wrote meanwhile is not replaced either (link, not rename).
      result = await exportReviewedFile(dataPath, outShown, options, { shown: given, signal, exclusive: stats === undefined && !values.force });
    } catch (error) {
      if (error instanceof OutputAppearedError) throw exists();
      if (!(error instanceof ExportInterrupted)) throw error;
      err.line(`Interrupted: ${outShown} was not written.`);
      return EXIT.interrupted;
    }
    const { counts, invalidUtf8Line, sha256, rowTextsSha256 } = result;
    // A dataset edited since the run: rows are matched by id, and a changed teacher label is caught (exported without
    // the run's figures). So is an edited text where the run recorded each row's text digest: those rows keep their
    // labels and describeExport names them file:line. A run made before those digests cannot tell which row's text
    // changed, which would take the advice given to its old text: it is said, compared on the rows' ids and texts (the
    // labels Label Review wrote say nothing), or for a run made before that digest too, on the file's bytes.
    if (run !== undefined && !run.rowTextDigests && textsSinceRun(run, { rowTextsSha256, sha256: () => sha256 }) === 'changed') {
      err.line(
        `warning: ${given} changed since run ${run.runId} read it: rows are matched to the run by id (without one, by text) and take the labels they hold now, but a row with an id of its own whose text you edited since takes the probability${advice ? ' and advice' : ''} the run gave its old text; run peerkd distill again for ${advice ? 'advice on' : 'figures of'} the file as it is`,
      );
    }
    if (invalidUtf8Line !== null) {
      err.line(`warning: ${given}:${invalidUtf8Line}: holds bytes that are not valid UTF-8 (later lines may too); they are copied byte for byte, and read as U+FFFD in labels and ids, as the run read them`);
    }
    const { details, notes } = describeExport(counts, options, given);
    out.line(
      run
        ? `Latest run of ${given}: ${run.runId} (${run.runDir})`
        : `No run of ${given} in ${searched}: rows keep their human or teacher label, without a probability`,
    );
    out.line(`Wrote ${counts.rows.toLocaleString('en-US')} rows to ${outShown} with '${FINAL_LABEL_FIELD}' and '${PROVENANCE_FIELD}' (${details}).${notes}`);
    return 0;
  });
}

export const exportCommand = createExportCommand();
