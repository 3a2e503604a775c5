import * as vscode from 'vscode';
import { describeProgress } from '../review/format';
import { escapeMarkdown } from '../review/explanation';
import { iconsAsText } from './messages';
import type { DistillProgress } from '../training/types';

export { describeProgress };

/**
 * One status-bar item while any distillation runs: it shows the phase and completion of the newest run and opens the
 * log when clicked. Hidden when nothing runs.
 */
export class DistillationStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('peerkd.distillation', vscode.StatusBarAlignment.Left, 50);
  private readonly runs = new Map<string, { name: string; progress?: DistillProgress }>();

  constructor() {
    this.item.name = 'PeerKD Distillation';
    this.item.command = 'peerkd.showLog';
  }

  start(key: string, datasetName: string): void {
    this.runs.set(key, { name: datasetName });
    this.render();
  }

  update(key: string, progress: DistillProgress): void {
    const run = this.runs.get(key);
    if (run) {
      run.progress = progress;
      this.render();
    }
  }

  finish(key: string): void {
    this.runs.delete(key);
    this.render();
  }

  private render(): void {
    const entries = [...this.runs.values()];
    const newest = entries[entries.length - 1];
    if (!newest) {
      this.item.hide();
      return;
    }
    const percent = newest.progress ? ` ${Math.round(newest.progress.fraction * 100)}%` : '';
    const others = entries.length > 1 ? ` (+${entries.length - 1})` : '';
    // The status bar draws $(name) as an icon: a file name's own `$(` shows as text.
    this.item.text = `$(sync~spin) PeerKD: ${iconsAsText(newest.name)}${percent}${others}`;
    this.item.tooltip = new vscode.MarkdownString(
      entries
        .map((entry) => `**${escapeMarkdown(entry.name)}**: ${entry.progress ? escapeMarkdown(describeProgress(entry.progress)) : 'starting…'}`)
        .join('\n\n') + '\n\nClick to open the PeerKD log.',
    );
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
