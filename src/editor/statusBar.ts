import * as vscode from 'vscode';
import type { DistillProgress } from '../training/types';

const PHASE_NAMES: Record<DistillProgress['phase'], string> = {
  featurize: 'Featurizing',
  vanilla: 'Vanilla student',
  peer: 'Peer students',
  calibrate: 'Calibrating',
  final: 'Final student',
  write: 'Writing results',
};

function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) {
    return `${seconds} s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${seconds % 60} s`;
}

/** "Peer students · fold 1/2 · epoch 3/5 · 1,234 rows/s · about 20 s left" */
export function describeProgress(progress: DistillProgress): string {
  const parts = [PHASE_NAMES[progress.phase]];
  if (progress.stage !== undefined && progress.stages !== undefined && progress.stages > 1) {
    parts.push(`stage ${progress.stage}/${progress.stages}`);
  }
  if (progress.fold !== undefined && progress.folds !== undefined) {
    parts.push(`fold ${progress.fold}/${progress.folds}`);
  }
  if (progress.epoch !== undefined && progress.epochs !== undefined) {
    parts.push(`epoch ${progress.epoch}/${progress.epochs}`);
  }
  if (progress.rowsPerSecond !== undefined && progress.rowsPerSecond > 0) {
    parts.push(`${Math.round(progress.rowsPerSecond).toLocaleString('en-US')} rows/s`);
  }
  if (progress.remainingMs !== undefined) {
    parts.push(`about ${formatDuration(progress.remainingMs)} left`);
  }
  return parts.join(' · ');
}

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
    this.item.text = `$(sync~spin) PeerKD: ${newest.name}${percent}${others}`;
    this.item.tooltip = new vscode.MarkdownString(
      entries
        .map((entry) => `**${entry.name}**: ${entry.progress ? describeProgress(entry.progress) : 'starting…'}`)
        .join('\n\n') + '\n\nClick to open the PeerKD log.',
    );
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
