/**
 * The look-up of a dataset's latest run (artifacts.ts latestRunAmong: its pointer in each runs folder, else a scan of
 * the run folders' settings.json) against files that are not what PeerKD wrote: a FIFO in place of the pointer or of a
 * run's settings.json blocked the read for good (`peerkd export` hung, and so did a thread of the editor's extension
 * host on every look-up), a link to /dev/zero read without end. They are passed over; the run is still found.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { datasetKey, LATEST_BY_DATASET_DIR, latestRunAmong, runsInProgress, TEMP_PREFIX } from '../../src/training/artifacts';
import { tempFolder } from '../fixtures/training/build';
import { writeRun } from '../support/runFolder';

const fifos: string[] = [];
let folder: string | undefined;

after(async () => {
  // The code before the fix is still blocked reading them: a writer that opens and closes lets its read end.
  for (const fifo of fifos) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // No reader is waiting (ENXIO): nothing to release.
    }
  }
  if (folder) await rm(folder, { recursive: true, force: true });
});

function mkfifo(file: string): void {
  execFileSync('mkfifo', [file]);
  fifos.push(file);
}

test('a FIFO or /dev/zero in place of a pointer, a run settings.json or a running run owner is passed over: the run is found', { skip: process.platform === 'win32', timeout: 60_000 }, async () => {
  folder = await tempFolder('run-lookup-hostile');
  const dataset = join(folder, 'news.jsonl');
  const runs = join(folder, '.peerkd', 'runs');
  const run = await writeRun(runs, '20261201-000000-news-aaaaaa', dataset);
  await mkdir(join(runs, LATEST_BY_DATASET_DIR), { recursive: true });
  mkfifo(join(runs, LATEST_BY_DATASET_DIR, datasetKey(dataset)));
  // Run folders that sort after the real one, so the scan reads them first.
  await mkdir(join(runs, '20261202-000000-news-bbbbbb'));
  mkfifo(join(runs, '20261202-000000-news-bbbbbb', 'settings.json'));
  await mkdir(join(runs, '20261203-000000-news-cccccc'));
  await symlink('/dev/zero', join(runs, '20261203-000000-news-cccccc', 'settings.json'));
  // Another runs folder whose pointer links to /dev/zero.
  const other = join(folder, 'other-runs');
  await mkdir(join(other, LATEST_BY_DATASET_DIR), { recursive: true });
  await symlink('/dev/zero', join(other, LATEST_BY_DATASET_DIR, datasetKey(dataset)));

  assert.deepEqual(await latestRunAmong(dataset, [runs, other]), { runId: '20261201-000000-news-aaaaaa', runsDir: runs, runDir: run });

  // A run being written whose owner file is a FIFO: no run in progress is said, and nothing hangs.
  const temp = join(runs, `${TEMP_PREFIX}20261204-000000-news-dddddd`);
  await mkdir(temp);
  mkfifo(join(temp, '.owner.json'));
  assert.deepEqual(await runsInProgress(dataset, [runs]), []);
});
