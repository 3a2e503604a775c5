/**
 * Which dataset a command acts on, as a plain choice (no `vscode` import, so it is unit-tested directly):
 * the dataset the command was given (Explorer, editor title, a quick fix), else the Label Review panel's dataset when
 * the panel has focus (a focused webview leaves no active text editor, so without this every command said "open a
 * .jsonl dataset"), else the active editor's document. Nothing else is guessed: with another webview focused the
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
}

export function chooseDatasetTarget<T>(sources: TargetSources<T>): T | undefined {
  if (sources.argument !== undefined) return sources.argument;
  if (sources.panelFocused && sources.panelDataset !== undefined) return sources.panelDataset;
  return sources.activeEditor;
}
