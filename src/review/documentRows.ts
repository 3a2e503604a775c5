/**
 * The rows of a dataset's text as the review reads them (line, identity, text, teacher and human label), read again
 * after every change of the document: each decision, each keystroke in the editor. Parsing every line each time cost
 * a 10,000-row file a quarter of a second per decision on a 2-core machine, so keys held down queued up in the
 * extension host. A line's row depends on its text alone (and the field mapping), so each read keeps the rows of the
 * lines it parsed by their text, and the next read parses only the lines whose text is new. Plain TypeScript.
 */
import { DatasetParser } from '../dataset/parse';
import { forEachLine } from '../dataset/lines';
import type { FieldMapping } from '../dataset/types';
import type { DocumentRowState } from './model';
import { keyRows, type KeyedRows } from './rowKeys';

/** What a line says when it is a row (its line number apart), null when it is none (blank, invalid, not an object). */
type LineRow = { id: string; text: string | null; teacher: string | null; human: string | null } | null;

export class DocumentRowReader {
  private readonly parser: DatasetParser;
  /** The rows of the last text read, by line text. */
  private byText = new Map<string, LineRow>();
  /** Lines the last read parsed (the others were known by their text): observable so tests can check edits stay cheap. */
  lastParsedLineCount = 0;

  constructor(readonly fields: FieldMapping) {
    this.parser = new DatasetParser(fields);
  }

  /** The rows of `text` by row key, numbered as the editor numbers lines (as parseDatasetText reads them). */
  read(text: string): KeyedRows<DocumentRowState> {
    const known = this.byText;
    const seen = new Map<string, LineRow>();
    const rows: { id: string; line: number; row: DocumentRowState }[] = [];
    let line = 0;
    let parsed = 0;
    forEachLine(
      text,
      (start, end) => {
        line += 1;
        const lineText = text.slice(start, end);
        let entry = seen.has(lineText) ? seen.get(lineText) : known.get(lineText);
        if (entry === undefined) {
          parsed += 1;
          const row = this.parser.parseLine(lineText, line).row;
          entry = row ? { id: row.id, text: row.text, teacher: row.teacher, human: row.human } : null;
        }
        seen.set(lineText, entry);
        if (entry) rows.push({ id: entry.id, line, row: { line, text: entry.text, teacher: entry.teacher, human: entry.human } });
      },
      text.charCodeAt(0) === 0xfeff ? 1 : 0,
    );
    this.byText = seen;
    this.lastParsedLineCount = parsed;
    return keyRows(rows, (row) => row.row);
  }
}
