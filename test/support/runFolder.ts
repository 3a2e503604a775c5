/** A run folder as the worker leaves it, for the tests of the code that finds and reads runs (src/training/artifacts.ts). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { datasetKey, LATEST_BY_DATASET_DIR } from '../../src/training/artifacts';

/** A complete run of `dataset` (one row, flagged) in `runsDir`, without its pointer (writeLatestPointer). */
export async function writeRun(runsDir: string, runId: string, dataset: string): Promise<string> {
  const runDir = join(runsDir, runId);
  await mkdir(runDir, { recursive: true });
  const fields = { text: 'text', teacher: 'teacher_label', human: 'human_label', id: 'id' };
  await writeFile(join(runDir, 'settings.json'), JSON.stringify({ runId, datasetPath: dataset, datasetSha256: 'x', labels: ['World', 'Sports'], fields, options: {} }));
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
