import * as vscode from 'vscode';
import { showErrorMessage } from '../editor/messages';
import { datasetDocument, isDatasetUri } from '../editor/runState';
import { chooseDatasetTarget, datasetUriProblem } from './targetChoice';

/** The Label Review panel's view type and what tells its dataset: set at activation (setLabelReviewDatasetSource). */
let panelViewType: string | undefined;
let panelDataset: () => vscode.Uri | undefined = () => undefined;

/** Set once at activation, so this resolver (used by Validate Dataset too) does not load the webview module. */
export function setLabelReviewDatasetSource(viewType: string, source: () => vscode.Uri | undefined): void {
  panelViewType = viewType;
  panelDataset = source;
}

/** The panel's tab is the active one (a focused webview leaves `activeTextEditor` undefined). */
function labelReviewFocused(): boolean {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  // Webview tabs report the view type with a prefix VS Code adds (e.g. `mainThreadWebview-peerkd.labelReview`).
  return panelViewType !== undefined && input instanceof vscode.TabInputWebview && input.viewType.endsWith(panelViewType);
}

/**
 * The file of the active tab when it is a text file with a dataset's name. A dataset over the editor's limit for
 * extensions (50 MB: "not displayed in the text editor because it is very large") has an active tab and no active
 * text editor, so "Run Peer-Advised Distillation" from the palette said "open a .jsonl dataset" with the dataset open;
 * so did a command run while a tab just opened was still loading its text.
 */
function activeDatasetTab(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputText && isDatasetUri(input.uri) ? input.uri : undefined;
}

function argumentUri(argument: unknown): vscode.Uri | undefined {
  if (argument instanceof vscode.Uri) return argument;
  if (typeof argument === 'string' && argument.length > 0) {
    try {
      return vscode.Uri.parse(argument, true);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The dataset a command acts on (see chooseDatasetTarget): its argument, else the Label Review panel's dataset when
 * the panel has focus, else the active editor's document (when `accepts` takes it).
 * Shared by every command that needs a dataset.
 */
/** The dataset the Label Review panel shows, focused or not (Open Label Review reveals it). */
export function labelReviewDataset(): vscode.Uri | undefined {
  return panelDataset();
}

export function datasetTarget(argument: unknown, accepts: (document: vscode.TextDocument) => boolean = () => true): vscode.Uri | undefined {
  const given = argumentUri(argument);
  if (given) return given;
  const document = vscode.window.activeTextEditor?.document;
  return chooseDatasetTarget({
    argument: undefined,
    panelFocused: labelReviewFocused(),
    panelDataset: panelDataset(),
    activeEditor: document && accepts(document) ? document.uri : undefined,
    activeTab: document ? undefined : activeDatasetTab(),
  });
}

/**
 * Why a command cannot write into `uri` as a dataset (datasetUriProblem): a read-only view (git:, output:), a file that
 * is no dataset, or an unsaved editor where `untitled` is false. Undefined when it can.
 */
export function datasetProblem(uri: vscode.Uri, options: { untitled: boolean; needsDatasetName: boolean }): string | undefined {
  return datasetUriProblem(
    { scheme: uri.scheme, path: uri.path, shown: uri.toString(true), writable: uri.scheme === 'untitled' || uri.scheme === 'file' || vscode.workspace.fs.isWritableFileSystem(uri.scheme) },
    options,
  );
}

/**
 * The dataset's document (datasetDocument), or undefined after saying why it could not be opened, naming the file:
 * the editor refuses files over its size limit for extensions ("Files above 50MB cannot be synchronized with
 * extensions"), and a deleted or unreadable file fails too. The command stopped with VS Code's "Running the
 * contributed command … failed", which names neither the file nor PeerKD.
 */
/**
 * The dataset a command was given (`uri`: datasetTarget's), or undefined after saying why the command stops: `missing`
 * (the whole message: what to open) when there is none, `PeerKD: <refused>: <problem>.` when it is no dataset the
 * command can use (datasetProblem). `refused` says what does not happen ('no Label Review'), as in openedDataset.
 */
export function usableDataset(uri: vscode.Uri | undefined, missing: string, refused: string, options: { untitled: boolean; needsDatasetName: boolean }): vscode.Uri | undefined {
  if (!uri) {
    void showErrorMessage(missing);
    return undefined;
  }
  const problem = datasetProblem(uri, options);
  if (problem) {
    void showErrorMessage(`PeerKD: ${refused}: ${problem}.`);
    return undefined;
  }
  return uri;
}

export async function openedDataset(uri: vscode.Uri, refused: string): Promise<vscode.TextDocument | undefined> {
  try {
    return await datasetDocument(uri);
  } catch (error) {
    const name = uri.path.slice(uri.path.lastIndexOf('/') + 1);
    void showErrorMessage(`PeerKD: ${refused}: ${name} could not be opened in the editor (${error instanceof Error ? error.message : String(error)}).`);
    return undefined;
  }
}
