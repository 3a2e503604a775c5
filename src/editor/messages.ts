import * as vscode from 'vscode';
import { printable } from '../dataset/jsonScan';
import { showBidiControls, showInvisible } from '../review/prettyRow';

/**
 * VS Code draws `[text](command:…)`, `[text](https://…)` and `[text](file:…)` in a notification's message, in a quick
 * input's prompt and validation message as a link, and a click runs the command (it opens them with
 * `allowCommands`). The messages of this extension quote data: labels, ids, field names and file names of a dataset
 * that may come from anyone, and errors that quote them. So every notification goes through these functions (an
 * ESLint rule keeps it so), which break a link's `](` with a space: the text reads the same and is never a link.
 */
const LINK_OPENING = /\]\((?=https?:\/\/|command:|file:)/gi;

export function inertLinks(text: string): string {
  return text.replace(LINK_OPENING, '] (');
}

/** A notification's text as shown: links broken (inertLinks), bidirectional controls as their escapes. */
function notificationText(text: string): string {
  return inertLinks(showBidiControls(text));
}

/** A quick pick's item label draws `$(name)` as an icon; `\$(` is VS Code's escape for the text `$(`. */
export function iconsAsText(text: string): string {
  return text.replace(/\$\(/g, '\\$(');
}

/**
 * A label as plain text in the editor shows it (the Problems panel, quick fix titles): control characters and
 * bidirectional controls as \uXXXX escapes, so a label cannot break the line or reorder the words around it; a
 * label of invisible characters only as the escapes of all of them, so it does not look empty.
 */
export function shownLabel(label: string): string {
  return printable(showInvisible(label));
}

/**
 * A label as a quick pick item shows it (the label picker, key n): as shownLabel does (bidirectional controls and
 * invisible labels as escapes: a right-to-left override reversed the rest of the item, a zero-width label looked
 * empty), with `$(` as text (iconsAsText).
 */
export function pickLabel(label: string): string {
  return iconsAsText(shownLabel(label));
}

type MessageArgument<T> = T | vscode.MessageOptions;
type Show = <T>(message: string, ...rest: MessageArgument<T>[]) => Thenable<T | undefined>;

function isModal(rest: readonly unknown[]): boolean {
  const first = rest[0];
  return typeof first === 'object' && first !== null && (first as vscode.MessageOptions).modal === true;
}

/**
 * Bidirectional controls in the data show as their escapes (a right-to-left override in an id would reverse the rest
 * of the sentence), in a modal dialog's message and detail too. A modal dialog shows its text as plain text: only a
 * notification's needs its links broken.
 */
function show<T>(which: 'showInformationMessage' | 'showWarningMessage' | 'showErrorMessage', message: string, rest: MessageArgument<T>[]): Thenable<T | undefined> {
  const window = vscode.window as unknown as Record<typeof which, Show>;
  if (isModal(rest)) {
    const [options, ...items] = rest as [vscode.MessageOptions, ...T[]];
    const detail = options.detail === undefined ? {} : { detail: showBidiControls(options.detail) };
    return window[which]<T>(showBidiControls(message), { ...options, ...detail }, ...items);
  }
  return window[which]<T>(notificationText(message), ...rest);
}

export function showInformationMessage<T extends string | vscode.MessageItem>(message: string, ...items: T[]): Thenable<T | undefined>;
export function showInformationMessage<T extends string | vscode.MessageItem>(message: string, options: vscode.MessageOptions, ...items: T[]): Thenable<T | undefined>;
export function showInformationMessage<T>(message: string, ...rest: MessageArgument<T>[]): Thenable<T | undefined> {
  return show('showInformationMessage', message, rest);
}

export function showWarningMessage<T extends string | vscode.MessageItem>(message: string, ...items: T[]): Thenable<T | undefined>;
export function showWarningMessage<T extends string | vscode.MessageItem>(message: string, options: vscode.MessageOptions, ...items: T[]): Thenable<T | undefined>;
export function showWarningMessage<T>(message: string, ...rest: MessageArgument<T>[]): Thenable<T | undefined> {
  return show('showWarningMessage', message, rest);
}

export function showErrorMessage<T extends string | vscode.MessageItem>(message: string, ...items: T[]): Thenable<T | undefined>;
export function showErrorMessage<T extends string | vscode.MessageItem>(message: string, options: vscode.MessageOptions, ...items: T[]): Thenable<T | undefined>;
export function showErrorMessage<T>(message: string, ...rest: MessageArgument<T>[]): Thenable<T | undefined> {
  return show('showErrorMessage', message, rest);
}

type ProgressStep = { message?: string; increment?: number };

/**
 * vscode.window.withProgress in a notification. Its title and each message it reports are a notification's message
 * (VS Code draws their links and bidirectional controls too), and they quote data: the dataset's file name, the
 * encoder a setting names (static:<folder>, the endpoint's model). So both take the same guard as the messages above.
 */
export function withNotificationProgress<R>(
  options: { title: string; cancellable?: boolean },
  task: (progress: vscode.Progress<ProgressStep>, token: vscode.CancellationToken) => Thenable<R>,
): Thenable<R> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: notificationText(options.title), cancellable: options.cancellable },
    (progress, token) => task({ report: (step) => progress.report(step.message === undefined ? step : { ...step, message: notificationText(step.message) }) }, token),
  );
}
