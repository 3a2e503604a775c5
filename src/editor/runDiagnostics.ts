import * as vscode from 'vscode';
import { diagnosticMessage, formatProbability, isDoubtfulPrediction, queueOf, queueSuggestion } from '../review/model';
import { rowChangedSinceRun, textChangedSinceRun } from '../review/reviewRows';
import { shownLabel } from './messages';
import { fieldValueRange } from '../review/locate';
import { prettyRowMarkdown } from '../review/prettyRow';
import { escapeMarkdown, explanationMarkdown } from '../review/explanation';
import { labelProbabilities } from '../review/view';
import type { Prediction } from '../training/types';
import { isDatasetUri, type RunState } from './runState';
import { readSettings } from './settings';

/** Shared by the diagnostics and their code actions: a flagged row of the latest run. */
export const FLAGGED_ROW_CODE = 'peerkd-flagged-label';
const SOURCE = 'PeerKD';
const UPDATE_DELAY_MS = 200;

const SEVERITIES: Record<string, vscode.DiagnosticSeverity> = {
  Error: vscode.DiagnosticSeverity.Error,
  Warning: vscode.DiagnosticSeverity.Warning,
  Information: vscode.DiagnosticSeverity.Information,
  Hint: vscode.DiagnosticSeverity.Hint,
};

function labelRange(document: vscode.TextDocument, line: number, field: string): vscode.Range {
  const textLine = document.lineAt(line - 1);
  const range = fieldValueRange(textLine.text, field);
  if (range) {
    return new vscode.Range(line - 1, range.start, line - 1, range.end);
  }
  return new vscode.Range(line - 1, textLine.firstNonWhitespaceCharacterIndex, line - 1, textLine.text.length);
}

/**
 * Diagnostics on the teacher labels the latest run flags, following each row by identity as lines move, and gone
 * once the row has a human label. Recomputed (debounced) when the document, the run or the settings change.
 */
export class RunDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('peerkd-review');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly disposables: vscode.Disposable[] = [this.collection];

  constructor(private readonly runState: RunState) {
    this.disposables.push(
      runState.onDidChangeRun((uri) => {
        const document = vscode.workspace.textDocuments.find((candidate) => candidate.uri.toString() === uri.toString());
        if (document) {
          this.update(document);
        }
      }),
      vscode.workspace.onDidOpenTextDocument((document) => void this.load(document)),
      vscode.workspace.onDidChangeTextDocument((event) => this.schedule(event.document)),
      vscode.workspace.onDidCloseTextDocument((document) => {
        this.collection.delete(document.uri);
        this.cancel(document.uri);
      }),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('peerkd')) {
          for (const document of vscode.workspace.textDocuments) {
            this.schedule(document);
          }
        }
      }),
    );
    for (const document of vscode.workspace.textDocuments) {
      void this.load(document);
    }
  }

  private async load(document: vscode.TextDocument): Promise<void> {
    if (!isDatasetUri(document.uri)) {
      return;
    }
    await this.runState.ensureRun(document.uri);
    this.update(document);
  }

  private cancel(uri: vscode.Uri): void {
    const timer = this.timers.get(uri.toString());
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(uri.toString());
    }
  }

  private schedule(document: vscode.TextDocument): void {
    if (!isDatasetUri(document.uri) || !this.runState.getRun(document.uri)) {
      return;
    }
    this.cancel(document.uri);
    this.timers.set(
      document.uri.toString(),
      setTimeout(() => {
        this.timers.delete(document.uri.toString());
        if (!document.isClosed) {
          this.update(document);
        }
      }, UPDATE_DELAY_MS),
    );
  }

  update(document: vscode.TextDocument): void {
    const run = this.runState.getRun(document.uri);
    if (!run) {
      this.collection.delete(document.uri);
      return;
    }
    const settings = readSettings(document.uri);
    const severity = SEVERITIES[settings.diagnostics.severity] ?? vscode.DiagnosticSeverity.Warning;
    const index = this.runState.indexOf(document);
    const diagnostics: vscode.Diagnostic[] = [];
    for (const [key, prediction] of run.byKey) {
      if (!prediction.flagged || prediction.p_teacher_wrong < settings.diagnostics.minProbability) {
        continue;
      }
      // By key: of two rows sharing an id each gets its own prediction, and none when that no longer matches.
      const row = index.byKey.get(key);
      // Gone from the file, decided by a human, or the teacher label is no longer the one the run judged: changed to
      // the suggestion, or to another label (edited during or after the run, the file replaced), whose chance of being
      // wrong the run never estimated; or the row's text is not the one the run read (its advice is about the old text).
      if (!row || row.human !== null || rowChangedSinceRun(prediction, row) !== null || row.line > document.lineCount) {
        continue;
      }
      const diagnostic = new vscode.Diagnostic(
        labelRange(document, row.line, settings.fields.teacher),
        diagnosticMessage(row.teacher === null ? null : shownLabel(row.teacher), shownLabel(prediction.suggested), prediction.p_teacher_wrong),
        severity,
      );
      diagnostic.code = FLAGGED_ROW_CODE;
      diagnostic.source = SOURCE;
      diagnostics.push(diagnostic);
    }
    this.collection.set(document.uri, diagnostics);
  }

  dispose(): void {
    for (const timer of this.timers.values()) {
      clearTimeout(timer);
    }
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}

export function codeOf(diagnostic: vscode.Diagnostic): string | undefined {
  const code = diagnostic.code;
  if (typeof code === 'string') {
    return code;
  }
  if (typeof code === 'object' && code !== null) {
    return String(code.value);
  }
  return code === undefined ? undefined : String(code);
}

/** "Accept 'Y'", "Keep 'X'", "Open in Label Review" on each flagged-row diagnostic. */
export class FlaggedRowCodeActions implements vscode.CodeActionProvider {
  static readonly providedCodeActionKinds = [vscode.CodeActionKind.QuickFix];

  constructor(private readonly runState: RunState) {}

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const run = this.runState.getRun(document.uri);
    if (!run) {
      return [];
    }
    const index = this.runState.indexOf(document);
    const actions: vscode.CodeAction[] = [];
    for (const diagnostic of context.diagnostics) {
      if (codeOf(diagnostic) !== FLAGGED_ROW_CODE) {
        continue;
      }
      const rowId = index.keyByLine.get(diagnostic.range.start.line + 1);
      const prediction = rowId === undefined ? undefined : run.byKey.get(rowId);
      const row = rowId === undefined ? undefined : index.byKey.get(rowId);
      if (!rowId || !prediction || !row) {
        continue;
      }
      const accept = new vscode.CodeAction(`Accept '${shownLabel(prediction.suggested)}'`, vscode.CodeActionKind.QuickFix);
      accept.command = { title: accept.title, command: 'peerkd.acceptSuggestion', arguments: [document.uri, rowId] };
      accept.diagnostics = [diagnostic];
      accept.isPreferred = true;
      actions.push(accept);
      if (row.teacher !== null) {
        const keep = new vscode.CodeAction(`Keep '${shownLabel(row.teacher)}'`, vscode.CodeActionKind.QuickFix);
        keep.command = { title: keep.title, command: 'peerkd.keepTeacherLabel', arguments: [document.uri, rowId] };
        keep.diagnostics = [diagnostic];
        actions.push(keep);
      }
      const open = new vscode.CodeAction('Open in Label Review', vscode.CodeActionKind.QuickFix);
      open.command = { title: open.title, command: 'peerkd.openLabelReview', arguments: [document.uri, rowId] };
      open.diagnostics = [diagnostic];
      actions.push(open);
    }
    return actions;
  }
}

/**
 * Markdown table of every label's probability: calibrated advice, peers (out-of-fold), vanilla student. `predictions`:
 * the run's, to tell a row of its doubtful queue, which the header names and whose suggestion is the queue's (the
 * most likely label other than the teacher's, queueSuggestion), as Label Review shows it.
 */
export function probabilityHover(prediction: Prediction, teacher: string | null, teacherConfidence: number | null, predictions?: readonly Prediction[]): vscode.MarkdownString {
  const rows = labelProbabilities({ probs: prediction.probs, peerProbs: prediction.peer_probs, vanillaProbs: prediction.vanilla_probs });
  const cell = (value: number | null): string => (value === null ? '–' : formatProbability(value));
  const queue = queueOf(prediction, predictions !== undefined && isDoubtfulPrediction(predictions, prediction));
  const suggested = queueSuggestion(prediction, queue);
  const markdown = new vscode.MarkdownString();
  const where = prediction.flagged ? ' · flagged' : queue === 'doubtful' ? " · doubtful (not flagged; Label Review's doubtful queue)" : '';
  markdown.appendMarkdown(`**PeerKD** · p(teacher wrong) = ${formatProbability(prediction.p_teacher_wrong)}${where}\n\n`);
  markdown.appendMarkdown('| label | teacher | peers | advised | vanilla |\n| --- | --- | --- | --- | --- |\n');
  for (const { label, advised, peer, vanilla } of rows) {
    const escaped = escapeMarkdown(label);
    const isTeacher = label === teacher;
    const teacherCell = isTeacher ? (teacherConfidence === null ? '✓' : formatProbability(teacherConfidence)) : '';
    const name = label === suggested ? `**${escaped}** (suggested)` : escaped;
    markdown.appendMarkdown(
      `| ${name} | ${teacherCell} | ${cell(peer)} | ${cell(advised)} | ${cell(vanilla)} |\n`,
    );
  }
  markdown.appendMarkdown('\n\n_teacher_: the LLM label (its confidence when the row has one); _peers_: students that never saw the row; _advised_: calibrated combination.');
  return markdown;
}

/** Hover on a row's teacher or human label: every label's probability from the teacher and the peers. */
export class LabelProbabilityHover implements vscode.HoverProvider {
  constructor(private readonly runState: RunState) {}

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const run = this.runState.getRun(document.uri);
    if (!run) {
      return undefined;
    }
    const index = this.runState.indexOf(document);
    const rowId = index.keyByLine.get(position.line + 1);
    const prediction = rowId === undefined ? undefined : run.byKey.get(rowId);
    if (!rowId || !prediction) {
      return undefined;
    }
    const fields = readSettings(document.uri).fields;
    const lineText = document.lineAt(position.line).text;
    for (const field of [fields.teacher, fields.human]) {
      const range = fieldValueRange(lineText, field);
      if (range && position.character >= range.start && position.character <= range.end) {
        const row = index.byKey.get(rowId);
        const confidence = this.teacherConfidence(lineText, fields.teacherConfidence);
        const markdown = probabilityHover(prediction, row?.teacher ?? prediction.teacher, confidence, run.predictions);
        const textChanged = textChangedSinceRun(prediction, row);
        if (textChanged) {
          // The figures above are the run's for the row's old text, not advice on the text it holds now.
          markdown.appendMarkdown(`\n\n_This row's text changed since run ${escapeMarkdown(run.runId)}: these figures and its suggestion are about its old text; run again for advice on the text as it is._`);
        }
        const explanation = run.explanations.get(rowId);
        // Why the old text was flagged (its words) says nothing of the text the row holds now.
        if (explanation && prediction.flagged && row?.human == null && !textChanged) {
          markdown.appendMarkdown(`\n\n${explanationMarkdown(explanation)}`);
        }
        markdown.appendMarkdown('\n\n');
        markdown.appendText(`Run ${run.runId}: ${run.trustSentence}`);
        // The whole row, readable: after a jump the row's start is in view and the rest of a long line is not.
        markdown.appendMarkdown(`\n\n**Row ${position.line + 1}**\n\n${prettyRowMarkdown(lineText)}`);
        return new vscode.Hover(
          markdown,
          new vscode.Range(position.line, range.start, position.line, range.end),
        );
      }
    }
    return undefined;
  }

  private teacherConfidence(lineText: string, field: string): number | null {
    const range = fieldValueRange(lineText, field);
    if (!range) {
      return null;
    }
    const value = Number(lineText.slice(range.start, range.end));
    return Number.isFinite(value) ? value : null;
  }
}
