import { DATASET_FILE_NAME, DATASET_KIND, DATASET_SUFFIXES } from '../dataset/types';

/**
 * Which dataset a command acts on, as a plain choice (no `vscode` import, so it is unit-tested directly):
 * the dataset the command was given (Explorer, editor title, a quick fix), else the Label Review panel's dataset when
 * the panel has focus (a focused webview leaves no active text editor, so without this every command said "open a
 * .jsonl dataset"), else the active editor's document, else (no text editor active) the active tab's dataset file.
 * Nothing else is guessed: with another webview focused the
 * command asks (Open Label Review alone falls back to the open panel's dataset, to reveal it).
 */
export interface TargetSources<T> {
  /** What the command was invoked with, already turned into a resource (undefined when none). */
  argument: T | undefined;
  /** The Label Review panel has focus (its tab is the active one). */
  panelFocused: boolean;
  /** The dataset the Label Review panel shows, if a panel is open. */
  panelDataset: T | undefined;
  /** The active text editor's document, when it is one the command accepts. */
  activeEditor: T | undefined;
  /**
   * The file of the active tab when no text editor is active at all and the file has a dataset's name: a dataset
   * over the editor's size limit for extensions (50 MB) has a tab but never a text editor extensions see, and a tab
   * just opened has none until its text is loaded. Undefined otherwise.
   */
  activeTab?: T | undefined;
}

export function chooseDatasetTarget<T>(sources: TargetSources<T>): T | undefined {
  if (sources.argument !== undefined) return sources.argument;
  if (sources.panelFocused && sources.panelDataset !== undefined) return sources.panelDataset;
  return sources.activeEditor ?? sources.activeTab;
}

/** What datasetUriProblem reads of a resource. */
export interface DatasetResource {
  scheme: string;
  /** The URI's path (its last segment is the file name). */
  path: string;
  /** The URI as a message shows one that is not a file. */
  shown: string;
  /** Whether the editor can write to the resource's scheme (`workspace.fs.isWritableFileSystem`; undefined: no file system). */
  writable: boolean | undefined;
}

/**
 * Why a command that writes into a dataset (labels, review decisions) or reads its runs cannot act on `resource`, or
 * undefined. From the palette a command takes the active editor, whatever it shows: a git diff's older side, an output
 * channel, settings.json. Those were reviewed, labelled (the teacher paid for, then the edit refused) or exported as if
 * they were datasets. An unsaved editor (untitled) is one where `untitled` says it can be; a file must have a dataset's
 * name where `needsDatasetName` says so (a command that also takes a file shown as JSON Lines does not).
 */
export function datasetUriProblem(resource: DatasetResource, options: { untitled: boolean; needsDatasetName: boolean }): string | undefined {
  if (resource.scheme === 'untitled') return options.untitled ? undefined : `${resource.shown} is not saved; save it as a ${DATASET_SUFFIXES} file first`;
  if (resource.writable !== true) return `${resource.shown} is not a file the editor can write (${resource.scheme}: a view such as a diff or an output channel); open the dataset file itself`;
  const name = resource.path.slice(resource.path.lastIndexOf('/') + 1);
  if (options.needsDatasetName && !DATASET_FILE_NAME.test(name)) return `${name} is not a ${DATASET_KIND}`;
  return undefined;
}
