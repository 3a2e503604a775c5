/**
 * Progress of a distillation run on a terminal: one redrawn bar line on a TTY, plain lines otherwise (CI logs,
 * pipes), where a line is printed when the phase, stage or fold changes or every tenth of the run.
 */
import type { DistillProgress } from '../training/types';
import { timeLeft } from '../review/format';
import { Terminal, type TextOutput } from './terminal';

/** Where progress goes: a Terminal, or a raw output that is wrapped in one (so every line is escaped). */
export type ProgressOutput = TextOutput;

export interface ProgressRenderer {
  update(progress: DistillProgress): void;
  /** Prints a line above the bar (warnings, verbose logs) without breaking it. */
  line(text: string): void;
  /** Removes the bar; call before printing the final result. */
  finish(): void;
}

/** `m:ss` (or `h:mm:ss`) for a duration in milliseconds. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** One line describing where the run is, e.g. `peer · stage 1/2 · fold 2/2 · epoch 3/5 · ~0:12 left · 1,234 rows/s · …`. */
export function describeProgress(progress: DistillProgress): string {
  const parts: string[] = [progress.phase];
  // While an encoder runs (phase featurize): its own count, as the editor shows it.
  if (progress.encoder !== undefined && progress.encoded !== undefined && progress.toEncode !== undefined) {
    parts[0] = `encode ${progress.encoder} ${progress.encoded.toLocaleString('en-US')}/${progress.toEncode.toLocaleString('en-US')}`;
  }
  if (progress.stage !== undefined) parts.push(`stage ${progress.stage}${progress.stages ? `/${progress.stages}` : ''}`);
  if (progress.fold !== undefined) parts.push(`fold ${progress.fold}${progress.folds ? `/${progress.folds}` : ''}`);
  if (progress.epoch !== undefined) parts.push(`epoch ${progress.epoch}${progress.epochs ? `/${progress.epochs}` : ''}`);
  // Most useful first: a narrow terminal cuts the end of the line.
  if (progress.remainingMs !== undefined) parts.push(`~${timeLeft(progress.remainingMs, progress.remainingMsLow, formatDuration, '–')} left`);
  if (progress.rowsPerSecond !== undefined) parts.push(`${Math.round(progress.rowsPerSecond).toLocaleString('en-US')} rows/s`);
  parts.push(`${formatDuration(progress.elapsedMs)} elapsed`);
  if (progress.loss !== undefined) parts.push(`loss ${progress.loss.toFixed(3)}`);
  return parts.join(' · ');
}

const BAR_WIDTH = 24;
const REDRAW_INTERVAL_MS = 80;

function bar(fraction: number): string {
  const clamped = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(clamped * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(clamped * 100)).padStart(3)}%`;
}

export function createProgressRenderer(output: Terminal | ProgressOutput, now: () => number = Date.now): ProgressRenderer {
  const terminal = output instanceof Terminal ? output : new Terminal(output);
  return terminal.isTTY ? new BarRenderer(terminal, now) : new LineRenderer(terminal);
}

/** Redraws one line in place (`\r` + erase line); throttled so a fast engine does not flood the terminal. */
class BarRenderer implements ProgressRenderer {
  private current = '';
  private lastDraw = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly output: Terminal,
    private readonly now: () => number,
  ) {}

  update(progress: DistillProgress): void {
    const width = Math.max(20, (this.output.columns || 80) - 1);
    const text = `${bar(progress.fraction)} ${describeProgress(progress)}`;
    this.current = text.length > width ? text.slice(0, width - 1) + '…' : text;
    const time = this.now();
    if (time - this.lastDraw < REDRAW_INTERVAL_MS && progress.fraction < 1) return;
    this.lastDraw = time;
    this.output.redraw(this.current);
  }

  line(text: string): void {
    this.output.clearLine();
    this.output.line(text);
    if (this.current) this.output.redraw(this.current);
  }

  finish(): void {
    if (this.current) this.output.clearLine();
    this.current = '';
  }
}

class LineRenderer implements ProgressRenderer {
  private lastKey = '';
  private lastTenth = -1;

  constructor(private readonly output: Terminal) {}

  update(progress: DistillProgress): void {
    const key = `${progress.phase}/${progress.stage ?? ''}/${progress.fold ?? ''}`;
    const tenth = Math.floor(progress.fraction * 10);
    if (key === this.lastKey && tenth === this.lastTenth) return;
    this.lastKey = key;
    this.lastTenth = tenth;
    this.output.line(`${String(Math.floor(progress.fraction * 100)).padStart(3)}% ${describeProgress(progress)}`);
  }

  line(text: string): void {
    this.output.line(text);
  }

  finish(): void {}
}
