/** A run folder as the worker leaves it, for the tests of the code that finds and reads runs (src/training/artifacts.ts). */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDatasetText, rowTextsSha256 } from '../../src/dataset/index';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { datasetKey, LATEST_BY_DATASET_DIR } from '../../src/training/artifacts';

/**
 * A complete run of `dataset` (one row, flagged) in `runsDir`, without its pointer (writeLatestPointer); made from the
 * dataset as it is now (its digests, as the worker records them: `peerkd export` warns when a text changed since).
 */
export async function writeRun(runsDir: string, runId: string, dataset: string): Promise<string> {
  const runDir = join(runsDir, runId);
  await mkdir(runDir, { recursive: true });
  const fields = { text: 'text', teacher: 'teacher_label', human: 'human_label', id: 'id' };
  const bytes = await readFile(dataset).catch(() => undefined);
  const datasetSha256 = bytes === undefined ? 'x' : createHash('sha256').update(bytes).digest('hex');
  const rowTexts = bytes === undefined ? {} : { rowTextsSha256: rowTextsSha256(parseDatasetText(bytes.toString('utf8'), { ...DEFAULT_FIELDS, ...fields }).rows) };
  await writeFile(join(runDir, 'settings.json'), JSON.stringify({ runId, datasetPath: dataset, datasetSha256, ...rowTexts, labels: ['World', 'Sports'], fields, options: {} }));
  await writeFile(join(runDir, 'metrics.json'), '{}');
  const prediction = { id: 'a', line: 1, teacher: 'World', human: null, suggested: 'Sports', p_teacher_wrong: 0.9, flagged: true, probs: { World: 0.1, Sports: 0.9 }, peer_probs: {}, vanilla_probs: {} };
  await writeFile(join(runDir, 'predictions.jsonl'), `${JSON.stringify(prediction)}\n`);
  return runDir;
}

/** `dataset`'s latest pointer in `runsDir`, naming `runId` (as RunWriter.commit writes it); its path. */
export async function writeLatestPointer(runsDir: string, runId: string, dataset: string): Promise<string> {
  const pointer = join(runsDir, LATEST_BY_DATASET_DIR, datasetKey(dataset));
  await mkdir(join(runsDir, LATEST_BY_DATASET_DIR), { recursive: true });
  await writeFile(pointer, `${runId}\n`);
  return pointer;
}
