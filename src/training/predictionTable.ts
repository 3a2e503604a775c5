/**
 * A run's predictions, one per row, kept as the engine computed them: typed arrays (probabilities rows × labels,
 * P(teacher wrong), flags, suggested label indices) beside the rows themselves. A million `Prediction` objects with
 * their three label records cost about 1 KB each, 1 GB at the end of a million-row run; the table costs the arrays
 * the run holds anyway. `get(i)` (and iteration) materialises one Prediction on demand; `line(i)` writes row i's
 * predictions.jsonl line straight from the arrays, through the one line writer (artifacts.ts predictionLine).
 */
import { predictionLine, recordLayout, recordText, round6, type RecordLayout } from './artifacts';
import { rowTextDigest } from '../dataset/rowTextsDigest';
import { labelRecord } from './labelRecord';
import type { Prediction, TrainingRow } from './types';

export interface PredictionColumns {
  /** The rows, in the table's order (their id, line, text, teacher and human labels). */
  rows: readonly Pick<TrainingRow, 'id' | 'numericId' | 'line' | 'text' | 'teacher' | 'human'>[];
  /** The labels of the columns of the probability arrays (and of `suggested`). */
  labels: readonly string[];
  /** Per stored row: the suggested label's index in `labels`. */
  suggested: Int32Array;
  /** Per stored row. */
  pTeacherWrong: Float32Array;
  /** Per stored row: 1 = flagged. */
  flagged: Uint8Array;
  /** Stored rows × labels. */
  probs: Float32Array;
  peerProbs: Float32Array;
  vanillaProbs: Float32Array;
}

export class PredictionTable implements Iterable<Prediction> {
  private readonly layout: RecordLayout;
  private readonly classes: number;
  /** The column of each record label. */
  private readonly recordColumn: Int32Array;

  /**
   * @param recordLabels the keys of each Prediction's records, in the order written (default: `columns.labels`);
   *   the same set as `columns.labels`, maybe in another order (the caller's label order, pipeline.ts).
   * @param stored where row i of the table is in the arrays (default: row i); `rows` is in the table's order.
   */
  constructor(
    private readonly columns: PredictionColumns,
    private readonly recordLabels: readonly string[] = columns.labels,
    private readonly stored?: Int32Array,
  ) {
    this.classes = columns.labels.length;
    const position = new Map(columns.labels.map((label, index) => [label, index]));
    this.recordColumn = Int32Array.from(recordLabels, (label) => position.get(label) ?? -1);
    if (recordLabels.length !== columns.labels.length || this.recordColumn.some((column) => column < 0)) {
      throw new Error(`the record labels ${JSON.stringify(recordLabels)} are not the table's labels ${JSON.stringify(columns.labels)}`);
    }
    const layout = recordLayout(recordLabels);
    this.layout = { keys: layout.keys, column: Int32Array.from(layout.column, (j) => this.recordColumn[j]) };
  }

  get length(): number {
    return this.columns.rows.length;
  }

  /** The same predictions in another row order and record label order: row i is this table's row `from[i]`. */
  reordered(rows: PredictionColumns['rows'], from: Int32Array, recordLabels: readonly string[]): PredictionTable {
    const stored = this.stored ? Int32Array.from(from, (i) => this.stored![i]) : from;
    return new PredictionTable({ ...this.columns, rows }, recordLabels, stored);
  }

  private at(index: number): number {
    if (!(index >= 0 && index < this.length)) throw new RangeError(`no prediction ${index} (the run has ${this.length})`);
    return this.stored ? this.stored[index] : index;
  }

  /** Row `index`'s labels, flag and score, without its probability records (a run summary reads only these). */
  scores(index: number): Pick<Prediction, 'teacher' | 'human' | 'flagged' | 'p_teacher_wrong'> {
    const k = this.at(index);
    const row = this.columns.rows[index];
    return { teacher: row.teacher, human: row.human, flagged: this.columns.flagged[k] === 1, p_teacher_wrong: round6(this.columns.pTeacherWrong[k]) };
  }

  private record(values: Float32Array, row: number): Record<string, number> {
    const record = labelRecord(); // keys in the record label order (as JSON.stringify will write them)
    for (let j = 0; j < this.recordLabels.length; j++) record[this.recordLabels[j]] = round6(values[row * this.classes + this.recordColumn[j]]);
    return record;
  }

  /** Row `index` as one Prediction object (a new one each call). */
  get(index: number): Prediction {
    const k = this.at(index);
    const row = this.columns.rows[index];
    return {
      id: row.id,
      ...(row.numericId ? { numericId: true as const } : {}),
      line: row.line,
      teacher: row.teacher,
      human: row.human,
      suggested: this.columns.labels[this.columns.suggested[k]],
      p_teacher_wrong: round6(this.columns.pTeacherWrong[k]),
      flagged: this.columns.flagged[k] === 1,
      probs: this.record(this.columns.probs, k),
      peer_probs: this.record(this.columns.peerProbs, k),
      vanilla_probs: this.record(this.columns.vanillaProbs, k),
      text_digest: rowTextDigest(row.text),
    };
  }

  /** Row `index`'s predictions.jsonl line (without the newline), from the arrays: formatPrediction(get(index)) byte for byte. */
  line(index: number): string {
    const k = this.at(index);
    const row = this.columns.rows[index];
    const offset = k * this.classes;
    return predictionLine({
      id: row.id,
      numericId: row.numericId,
      line: row.line,
      teacher: row.teacher,
      human: row.human,
      suggested: this.columns.labels[this.columns.suggested[k]],
      p_teacher_wrong: this.columns.pTeacherWrong[k],
      flagged: this.columns.flagged[k] === 1,
      probs: recordText(this.layout, this.columns.probs, offset),
      peer_probs: recordText(this.layout, this.columns.peerProbs, offset),
      vanilla_probs: recordText(this.layout, this.columns.vanillaProbs, offset),
      text_digest: rowTextDigest(row.text),
    });
  }

  *[Symbol.iterator](): Iterator<Prediction> {
    for (let index = 0; index < this.length; index++) yield this.get(index);
  }

  /** Every row as a Prediction object: for small runs (benchmarks, tests), never a million-row one. */
  toArray(): Prediction[] {
    return Array.from(this);
  }
}

/** An engine's predictions: a run's table, or Prediction objects (a scripted engine, a test). */
export type Predictions = readonly Prediction[] | PredictionTable;

/** Row `index`'s labels, flag and score, from either kind. */
export function scoresAt(predictions: Predictions, index: number): Pick<Prediction, 'teacher' | 'human' | 'flagged' | 'p_teacher_wrong'> {
  return predictions instanceof PredictionTable ? predictions.scores(index) : predictions[index];
}
