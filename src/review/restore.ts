/**
 * Which dataset a restored Label Review panel may open. The saved state comes from the webview (setState, the
 * `ready` message), which is untrusted: it could name any file. The host opens only a dataset it could have chosen
 * itself — a .jsonl/.ndjson file that exists inside one of the workspace folders and has a completed run. Plain
 * TypeScript (no `vscode`): the panel passes the workspace folders' paths and a run lookup.
 */
import { promises as fs } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { isWithinFolder } from '../dataset/files';
import { DATASET_FILE_NAME as DATASET_EXTENSION, DATASET_KIND } from '../dataset/types';

async function realpathOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fs.realpath(file);
  } catch {
    return undefined;
  }
}

/**
 * The file path of the saved dataset URI when the panel may open it, else undefined (the panel then shows its
 * empty state and says why in the log).
 */
export async function restorableDataset(
  savedUri: string,
  workspaceFolders: readonly string[],
  hasRun: (datasetPath: string) => Promise<boolean>,
): Promise<{ path: string } | { rejected: string }> {
  let file: string;
  try {
    const url = new URL(savedUri);
    if (url.protocol !== 'file:' || (url.host !== '' && url.host !== 'localhost') || url.search || url.hash) {
      return { rejected: 'not a local file' };
    }
    file = fileURLToPath(url);
  } catch {
    return { rejected: 'not a file URI' };
  }
  if (!DATASET_EXTENSION.test(file)) {
    return { rejected: `not a ${DATASET_KIND}` };
  }
  const real = await realpathOrUndefined(file);
  if (!real || !(await fs.stat(real)).isFile()) {
    return { rejected: 'no such file' };
  }
  const folders = (await Promise.all(workspaceFolders.map(realpathOrUndefined))).filter((folder): folder is string => folder !== undefined);
  // Both the path as saved and its target must lie inside a workspace folder (no symlink out of it).
  if (!folders.some((folder) => isWithinFolder(real, folder)) || !workspaceFolders.some((folder) => isWithinFolder(file, folder))) {
    return { rejected: 'not inside a workspace folder' };
  }
  if (!(await hasRun(file))) {
    return { rejected: 'the dataset has no completed run' };
  }
  return { path: file };
}
