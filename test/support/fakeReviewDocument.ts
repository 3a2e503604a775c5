/** The review session's document interface (src/review/session.ts ReviewDocument), in memory, for unit tests. */
import { parseDatasetText } from '../../src/dataset/parse';
import { DEFAULT_FIELDS, type FieldMapping } from '../../src/dataset/types';
import type { DocumentRowState } from '../../src/review/model';
import { keyRows } from '../../src/review/rowKeys';
import type { ReviewDocument } from '../../src/review/session';

/**
 * A dataset document in memory. Like the editor, an edit fires a change event, and the change event is what refreshes
 * the session (the panel wires onDidChangeTextDocument to documentChanged the same way).
 */
export class FakeReviewDocument implements ReviewDocument {
  lines: string[];
  edits = 0;
  refuse: string | null = null;
  onChange: () => void = () => undefined;
  /** The field mapping the rows are read with (the settings; a test may remap a field). */
  fields: FieldMapping = DEFAULT_FIELDS;

  constructor(text: string) {
    this.lines = text.split('\n');
  }

  async open(): Promise<void> {}

  rows(): { byKey: Map<string, DocumentRowState>; linesById: Map<string, number[]> } {
    const parsed = parseDatasetText(this.lines.join('\n'), this.fields);
    return keyRows(parsed.rows, (row): DocumentRowState => ({ line: row.line, text: row.text, teacher: row.teacher, human: row.human }));
  }

  lineText(line: number): string {
    return this.lines[line - 1];
  }

  async writeRefusal(): Promise<string | null> {
    return this.refuse;
  }

  async replaceLines(writes: readonly { line: number; text: string }[]): Promise<boolean> {
    for (const write of writes) {
      this.lines[write.line - 1] = write.text;
    }
    this.edits += 1;
    this.onChange();
    return true;
  }

  /** A user's own edit in the editor. */
  type(line: number, text: string): void {
    this.lines[line - 1] = text;
    this.onChange();
  }
}
