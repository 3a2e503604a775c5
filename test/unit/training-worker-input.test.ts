import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { InputError, prepareTrainingInput, readTrainingInput, type InputSource } from '../../src/training/input';
import { inputError } from '../support/inputError';
import { sha256 } from '../../src/training/artifacts';
import { DEFAULT_DISTILL_OPTIONS, parseHostMessage, parseWorkerMessage } from '../../src/training/protocol';
import { sanitizeProgress } from '../../src/training/workerRuntime';

const FILE = '/data/set.jsonl';

function source(extra: Partial<InputSource> = {}): InputSource {
  return { file: FILE, fields: DEFAULT_FIELDS, labels: [], folds: 2, ...extra };
}

function lines(...rows: (Record<string, unknown> | string)[]): string {
  return rows.map((row) => (typeof row === 'string' ? row : JSON.stringify(row))).join('\n') + '\n';
}

test('rows with text become training rows; invalid lines and rows without text are counted and left out', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: 'X', teacher_confidence: 0.9 },
    '{"id": "broken", ',
    { id: 'b', text: 'two', teacher_label: 'Y', human_label: 'X' },
    '',
    { id: 'c', teacher_label: 'X' },
    { id: 'd', text: '   ', teacher_label: 'X' },
    '[1, 2]',
    { id: 'e', text: 'five' },
  );
  const input = prepareTrainingInput(text, source());
  assert.deepEqual(
    input.rows.map((row) => [row.id, row.line, row.teacher, row.human, row.teacherConfidence]),
    [
      ['a', 1, 'X', null, 0.9],
      ['b', 3, 'Y', 'X', null],
      ['e', 8, null, null, null],
    ],
  );
  assert.deepEqual(input.labels, ['X', 'Y']);
  assert.equal(input.labelsSource, 'inferred');
  assert.deepEqual(input.counts, {
    lines: 7,
    rows: 3,
    invalidLines: 2,
    skippedNoText: 2,
    teacherLabelled: 2,
    humanLabelled: 1,
    unlabelled: 1,
    teacherOutsideLabelSet: 0,
  });
  assert.deepEqual(input.invalidLines.map((invalid) => invalid.line), [2, 7]);
  assert.equal(input.datasetSha256, sha256(text));
});

test('a configured label set is used as given; teacher labels outside it count as missing', () => {
  const text = lines(
    { text: 'a', teacher_label: 'X' },
    { text: 'b', teacher_label: 'Other' },
    { text: 'c', teacher_label: 'Y' },
  );
  const input = prepareTrainingInput(text, source({ labels: ['Y', 'X', 'Z'] }));
  assert.deepEqual(input.labels, ['Y', 'X', 'Z']);
  assert.equal(input.labelsSource, 'configured');
  assert.equal(input.rows[1].teacher, null);
  assert.equal(input.counts.teacherOutsideLabelSet, 1);
  assert.match(input.warnings.join('\n'), /1 teacher label\(s\) outside the label set were treated as missing \(lines 2\)/);
});

test('a label set of one label is an error naming the file and line', () => {
  const inferred = inputError(() =>
    prepareTrainingInput(lines({ text: 'no label' }, { text: 'a', teacher_label: 'X' }, { text: 'b', teacher_label: 'X' }), source()),
  );
  assert.equal(inferred.file, FILE);
  assert.equal(inferred.line, 2);
  assert.match(inferred.message, /^\/data\/set\.jsonl:2: every label in the dataset is 'X'/);

  const configured = inputError(() => prepareTrainingInput(lines({ text: 'a', teacher_label: 'X' }), source({ labels: ['X'] })));
  assert.match(configured.message, /^\/data\/set\.jsonl: the configured label set has only one label \('X'\)/);
  // `peerkd distill --labels X` reaches the same check: the message names the flag as well as the setting, as every
  // other message about the configured label set does.
  assert.match(configured.message, /\(setting peerkd\.labels or --labels\)$/);

  const none = inputError(() => prepareTrainingInput(lines({ text: 'a' }), source()));
  assert.match(none.message, /no row with text has a teacher label/);
});

test('a human label outside the configured label set is an error naming the file and line', () => {
  const error = inputError(() =>
    prepareTrainingInput(
      lines({ text: 'a', teacher_label: 'X' }, { text: 'b', teacher_label: 'Y', human_label: 'Q' }, { text: 'c', human_label: 'R' }),
      source({ labels: ['X', 'Y'] }),
    ),
  );
  assert.equal(error.line, 2);
  assert.match(error.message, /^\/data\/set\.jsonl:2: human label 'Q' \(field human_label\) is not in the label set: X, Y \(also on line 3\)$/);
});

test('fewer labelled rows than folds is an error naming the file and the lines', () => {
  const error = inputError(() =>
    prepareTrainingInput(lines({ text: 'a', teacher_label: 'X' }, { text: 'b' }, { text: 'c', human_label: 'Y' }), source({ folds: 3 })),
  );
  assert.equal(error.line, 3);
  assert.match(
    error.message,
    /^\/data\/set\.jsonl: only 2 row\(s\) have a teacher label \(field teacher_label\) or a human label \(field human_label\) \(lines 1, 3\), fewer than the 3 folds/,
  );
  // The folds come from a setting (a huge peerkd.training.folds): the message says which, as the label set's does.
  assert.match(error.message, /; label more rows or use fewer folds \(setting peerkd\.training\.folds or --folds\)$/);
  // Enough labelled rows: human labels count too.
  assert.equal(prepareTrainingInput(lines({ text: 'a', teacher_label: 'X' }, { text: 'b', human_label: 'Y' }), source()).counts.teacherLabelled, 1);
});

test('mapped (dotted) fields are read; duplicate ids are reported as a warning', () => {
  const fields = { ...DEFAULT_FIELDS, text: 'input.body', teacher: 'llm.label', id: 'key' };
  const text = lines(
    { key: 'k1', input: { body: 'a' }, llm: { label: 'X' } },
    { key: 'k1', input: { body: 'b' }, llm: { label: 'Y' } },
  );
  const input = prepareTrainingInput(text, source({ fields }));
  assert.deepEqual(input.rows.map((row) => [row.id, row.text, row.teacher]), [
    ['k1', 'a', 'X'],
    ['k1', 'b', 'Y'],
  ]);
  assert.match(input.warnings.join('\n'), /1 row\(s\) repeat an earlier row's id, .*\(lines 2\)/);
});

test('a missing dataset file is an InputError naming it', async () => {
  await assert.rejects(readTrainingInput(source({ file: '/nonexistent/x.jsonl' })), (error: unknown) => {
    assert.ok(error instanceof InputError);
    assert.equal(error.message, '/nonexistent/x.jsonl: file not found');
    return true;
  });
});

test('a dataset file that is a symbolic link to nothing is an InputError saying so, with where it leads', { skip: process.platform === 'win32' }, async () => {
  const { mkdtempSync, rmSync, symlinkSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'peerkd-dangling-'));
  try {
    const file = join(dir, 'data.jsonl');
    symlinkSync('gone.jsonl', file);
    await assert.rejects(readTrainingInput(source({ file })), (error: unknown) => {
      assert.ok(error instanceof InputError);
      // assertReadableFile's words (the CLI's), not "file not found" for a name `ls` shows.
      assert.equal(error.message, `${file}: a symbolic link to ${join(dir, 'gone.jsonl')}, which does not exist`);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a dataset that is a FIFO (or another non-regular file) is an InputError naming it, not a hang', { skip: process.platform === 'win32', timeout: 10_000 }, async () => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const folder = mkdtempSync(join(tmpdir(), 'peerkd-fifo-'));
  const fifo = join(folder, 'data.jsonl');
  execFileSync('mkfifo', [fifo]);
  try {
    // The file is read twice (rows and hash): from a FIFO that would wait for a writer, or split its data, forever.
    await assert.rejects(readTrainingInput(source({ file: fifo })), (error: unknown) => {
      assert.ok(error instanceof InputError, String(error));
      assert.equal(error.message, `${fifo}: not a regular file (a FIFO, socket or device), so it cannot be read as a dataset`);
      return true;
    });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('a teacher confidence outside [0, 1] is ignored with a warning naming its lines; the run goes on', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: 'X', teacher_confidence: 0.9 },
    { id: 'b', text: 'two', teacher_label: 'Y', teacher_confidence: -5 },
    { id: 'c', text: 'three', teacher_label: 'X', teacher_confidence: 87 },
    '{"id": "d", "text": "four", "teacher_label": "Y", "teacher_confidence": 1e999}',
    { id: 'e', text: 'five', teacher_label: 'Y', teacher_confidence: '0.5', human_label: 'Y' },
    { id: 'f', text: 'six', teacher_label: 'X', teacher_confidence: null },
  );
  const input = prepareTrainingInput(text, source());
  assert.deepEqual(input.rows.map((row) => row.teacherConfidence), [0.9, null, null, null, null, null]);
  assert.ok(
    input.warnings.some((warning) => /^4 teacher confidence\(s\) .*not a probability between 0 and 1.* \(lines 2, 3, 4, 5\)$/.test(warning)),
    JSON.stringify(input.warnings),
  );
});

test('labels that are not strings are treated as missing with a warning naming their lines; the run goes on', () => {
  const text = lines(
    { id: 'a', text: 'one', teacher_label: 'X' },
    { id: 'b', text: 'two', teacher_label: 7 },
    { id: 'c', text: 'three', teacher_label: { model: 'gpt', value: 'Y' } },
    { id: 'd', text: 'four', teacher_label: 'Y', human_label: ['Y'] },
    { id: 'e', text: 'five', teacher_label: 'Y' },
  );
  const input = prepareTrainingInput(text, source());
  assert.deepEqual(input.rows.map((row) => [row.teacher, row.human]), [['X', null], [null, null], [null, null], ['Y', null], ['Y', null]]);
  assert.ok(
    input.warnings.some((warning) => /^3 label\(s\) are not strings .*treated as missing \(lines 2, 3, 4\)$/.test(warning)),
    JSON.stringify(input.warnings),
  );
});

test("the method's progress is made safe for the protocol before it is sent", () => {
  const clean = sanitizeProgress({ phase: 'peer', epoch: 2, loss: Number.NaN, rowsPerSecond: Infinity, elapsedMs: 10, fraction: 1.0000001 });
  assert.deepEqual(clean, { phase: 'peer', epoch: 2, elapsedMs: 10, fraction: 1 });
  const parsed = parseWorkerMessage({ type: 'progress', progress: clean });
  assert.ok(parsed.ok);
  assert.equal(parseWorkerMessage({ type: 'progress', progress: { phase: 'peer', loss: Number.NaN, elapsedMs: 1, fraction: 0 } }).ok, false);
});

test('progress: the time left as a range only where both ends make one; an encoder\'s count reaches the editor', () => {
  // A range passes as it is; a lower end above the higher, or without one, is dropped before sending and refused on receipt.
  const range = { phase: 'peer' as const, elapsedMs: 10, fraction: 0.3, remainingMs: 125_000, remainingMsLow: 65_000 };
  assert.deepEqual(sanitizeProgress(range), range);
  assert.deepEqual(sanitizeProgress({ ...range, remainingMsLow: 130_000 }), { phase: 'peer', elapsedMs: 10, fraction: 0.3, remainingMs: 125_000 });
  assert.deepEqual(sanitizeProgress({ ...range, remainingMs: Number.NaN }), { phase: 'peer', elapsedMs: 10, fraction: 0.3 });
  assert.deepEqual(sanitizeProgress({ ...range, remainingMsLow: -5 }), { phase: 'peer', elapsedMs: 10, fraction: 0.3, remainingMs: 125_000 });
  assert.ok(parseWorkerMessage({ type: 'progress', progress: range }).ok);
  for (const junk of [{ ...range, remainingMsLow: 130_000 }, { phase: 'peer', elapsedMs: 1, fraction: 0, remainingMsLow: 5 }, { ...range, remainingMsLow: -1 }]) {
    const parsed = parseWorkerMessage({ type: 'progress', progress: junk });
    assert.equal(parsed.ok, false, JSON.stringify(junk));
    assert.match(parsed.ok ? '' : parsed.error, /remainingMsLow/);
  }
  // "Encoding rows with use-lite · 2,560/10,000" in the editor needs the encoder and its count through the worker.
  const encoding = { phase: 'featurize' as const, encoder: 'use-lite', encoded: 2560, toEncode: 10_000, elapsedMs: 30_000, fraction: 0.1, remainingMs: 95_000 };
  assert.deepEqual(sanitizeProgress(encoding), encoding);
  assert.ok(parseWorkerMessage({ type: 'progress', progress: encoding }).ok);
  assert.equal(parseWorkerMessage({ type: 'progress', progress: { ...encoding, encoded: Number.NaN } }).ok, false);
  assert.equal(parseWorkerMessage({ type: 'progress', progress: { ...encoding, encoder: 5 } }).ok, false);
});

test('protocol validation accepts the documented messages and rejects malformed ones with the reason', () => {
  assert.ok(parseHostMessage({ type: 'cancel' }).ok);
  assert.ok(
    parseHostMessage({
      type: 'start',
      request: { datasetPath: '/d.jsonl', datasetText: '', fields: DEFAULT_FIELDS, labels: [], options: DEFAULT_DISTILL_OPTIONS, outputDir: '' },
    }).ok,
  );
  const cases: [unknown, RegExp][] = [
    [null, /must be an object with a string 'type'/],
    [{ type: 'exec' }, /unknown host→worker message type 'exec'/],
    [{ type: 'start', request: { datasetPath: '', fields: DEFAULT_FIELDS, labels: [], options: DEFAULT_DISTILL_OPTIONS } }, /start\.request\.datasetPath must be a non-empty string/],
    [{ type: 'start', request: { datasetPath: '/d', fields: { ...DEFAULT_FIELDS, text: 3 }, labels: [], options: DEFAULT_DISTILL_OPTIONS } }, /start\.request\.fields\.text/],
    [{ type: 'start', request: { datasetPath: '/d', fields: DEFAULT_FIELDS, labels: [''], options: DEFAULT_DISTILL_OPTIONS } }, /start\.request\.labels\[0\]/],
    [{ type: 'start', request: { datasetPath: '/d', fields: DEFAULT_FIELDS, labels: [], options: { ...DEFAULT_DISTILL_OPTIONS, backend: 'gpu' } } }, /options\.backend must be one of/],
  ];
  for (const [message, expected] of cases) {
    const parsed = parseHostMessage(message);
    assert.equal(parsed.ok, false);
    if (!parsed.ok) assert.match(parsed.error, expected);
  }
  for (const message of [{ type: 'toString' }, { type: 'started', runId: 'r' }, { type: 'error', kind: 'weird', message: 'x', logTail: [] }, { type: 'log', line: { level: 'loud', message: 'x', time: 't' } }]) {
    assert.equal(parseWorkerMessage(message).ok, false, JSON.stringify(message));
  }
  assert.ok(parseWorkerMessage({ type: 'error', kind: 'input', message: 'x', logTail: ['a'] }).ok);
  assert.ok(parseWorkerMessage({ type: 'cancelled' }).ok);
});

test('the worker streams the dataset file instead of reading it as one string (files over V8\'s string limit train)', async () => {
  const { promises: fsp } = await import('node:fs');
  const { mkdtemp, rm, writeFile } = fsp;
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const folder = await mkdtemp(join(tmpdir(), 'peerkd-stream-'));
  const file = join(folder, 'big.jsonl');
  // Over 3 MiB (parse.ts reads 1 MiB chunks), with a BOM, CRLF line ends, blank and broken lines, and multi-byte
  // characters that fall across chunk boundaries.
  const rows: string[] = [];
  for (let index = 0, length = 0; length < 3.2 * (1 << 20); index++, length += rows[rows.length - 1].length + 2) {
    if (index % 997 === 5) rows.push('{"broken": ');
    else if (index % 1009 === 7) rows.push('');
    else rows.push(JSON.stringify({ id: `r${index}`, text: `ligne ${index} — données é日本 ${'x'.repeat(index % 300)}`, teacher_label: index % 3 ? 'A' : 'B' }));
  }
  const text = '\ufeff' + rows.join('\r\n') + '\r\n';
  await writeFile(file, text);
  const originalReadFile = fsp.readFile;
  // What fs.readFile(file, 'utf8') does for a file over V8's largest string (about 512 MiB).
  fsp.readFile = (async (...args: Parameters<typeof originalReadFile>) => {
    if (String(args[0]) === file) throw new RangeError('Invalid string length');
    return originalReadFile(...args);
  }) as typeof originalReadFile;
  try {
    const streamed = await readTrainingInput(source({ file }));
    const expected = prepareTrainingInput(text, source({ file }));
    assert.deepEqual(streamed, expected);
    assert.equal(streamed.datasetSha256, sha256(text));
    assert.ok(streamed.rows.length > 3000);
    // The editor's text (unsaved edits) is used as given, never the file.
    const edited = lines({ id: 'e1', text: 'edited', teacher_label: 'A' }, { id: 'e2', text: 'unsaved', teacher_label: 'B' });
    const fromEditor = await readTrainingInput(source({ file, text: edited }));
    assert.deepEqual(fromEditor.rows.map((row) => row.id), ['e1', 'e2']);
    assert.equal(fromEditor.datasetSha256, sha256(edited));
  } finally {
    fsp.readFile = originalReadFile;
    await rm(folder, { recursive: true, force: true });
  }
});
