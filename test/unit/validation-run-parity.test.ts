// "PeerKD: Validate Dataset" and the editor's diagnostics say what a run would stop on or warn about, from the run's
// own checks (training/input.ts checkTrainingInput): each check shows at its line, an error as an error and a warning
// as a warning, with the run's words; and on hostile files the run and validation never disagree.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstInvalidUtf8LineOfFile, IncrementalDatasetValidator, parseDatasetText, readDatasetFile, readLineTexts, streamDataset, streamDatasetText } from '../../src/dataset/index';
import { DEFAULT_FIELDS, type Problem } from '../../src/dataset/types';
import {
  checkTrainingInput,
  INPUT_CHECKS,
  InputError,
  inputProblems,
  PARSER_SAID,
  prepareTrainingInput,
  readTrainingInput,
  validateDatasetStream,
  type InputCheckName,
  type InputSource,
} from '../../src/training/input';
import { jsonlText } from '../support/jsonl';
import { SeededRandom } from '../../src/training/random';

const FILE = '/data/set.jsonl';
const dir = mkdtempSync(join(tmpdir(), 'peerkd-parity-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function source(extra: Partial<InputSource> = {}): InputSource {
  return { file: FILE, fields: DEFAULT_FIELDS, labels: [], folds: 2, ...extra };
}

/** 31 rows of each label, each text its own: a file a run has nothing to say about. */
function base(labels = ['World', 'Sports']): Record<string, unknown>[] {
  return labels.flatMap((label) => Array.from({ length: 31 }, (_, i) => ({ id: `${label}-${i}`, text: `${label} story number ${i}`, teacher_label: label })));
}
const row = (id: string, extra: Record<string, unknown>) => ({ id, text: `extra row ${id}`, ...extra });
const BASE_LINES = 62;

/** Validation as the editor runs it: the incremental validator's lines, then the run's checks of the whole file. */
function editorProblems(text: string, src: InputSource): Problem[] {
  const lines = text.split(/\r\n|\r|\n/);
  const validator = new IncrementalDatasetValidator(src.fields, { labels: src.labels.filter((label) => label.length > 0) });
  const problems = validator.validate(lines.length, (index) => lines[index]);
  return [...problems, ...inputProblems(validator.lastParsed, src, (line) => lines[line - 1])];
}

/** Validation as the command runs it on a text (a file not on disk): the whole text parsed, then the run's checks. */
function commandProblems(text: string, src: InputSource): Problem[] {
  const parsed = parseDatasetText(text, src.fields, { labels: src.labels.filter((label) => label.length > 0) });
  return [...parsed.problems, ...inputProblems(parsed, src)];
}

/**
 * "PeerKD: Validate Dataset" as src/commands/validateDataset.ts runs it on the file `text` is written to: closed (the
 * file streamed, the lines the run's findings name read again), or open (the document's text streamed, its lines
 * from the document). Both as a saved file: bytes that are not UTF-8 are looked for on disk.
 */
let written = 0;
async function validateCommand(text: string | Buffer, src: InputSource): Promise<{ closed: Problem[]; open: Problem[] }> {
  const file = join(dir, `validate-${++written}.jsonl`);
  writeFileSync(file, text);
  const fileSource = { ...src, file };
  const options = { labels: src.labels.filter((label) => label.length > 0) };
  const invalidUtf8Line = () => firstInvalidUtf8LineOfFile(file);
  const closed = await validateDatasetStream(streamDataset(file, src.fields, options), fileSource, { invalidUtf8Line, lineTexts: (lines) => readLineTexts(file, lines) });
  // The document as the editor holds it: the file decoded (no BOM), its lines as document.lineAt gives them.
  const documentText = new TextDecoder('utf-8').decode(typeof text === 'string' ? Buffer.from(text) : text);
  const documentLines = documentText.split(/\r\n|\r|\n/);
  const open = await validateDatasetStream(streamDatasetText(documentText, src.fields, options), fileSource, {
    invalidUtf8Line,
    lineTexts: async (lines) => new Map(lines.map((line) => [line, documentLines[line - 1] ?? ''])),
  });
  assert.ok(closed && open);
  return { closed: closed.problems, open: open.problems };
}

/** What the run says: its InputError, or its warnings. */
function runOf(text: string, src: InputSource): { error?: InputError; warnings: string[] } {
  try {
    return { warnings: prepareTrainingInput(text, src).warnings };
  } catch (error) {
    assert.ok(error instanceof InputError, String(error));
    return { error, warnings: [] };
  }
}

interface Case {
  check: InputCheckName;
  rows: Record<string, unknown>[] | string;
  labels?: string[];
  folds?: number;
  /** Field settings other than the defaults. */
  fields?: Partial<typeof DEFAULT_FIELDS>;
  severity: 'error' | 'warning';
  /** The line validation shows it on (a finding about the whole file: the first row). */
  line: number;
  /** Part of the run's message. */
  says: RegExp;
}

const CASES: Case[] = [
  { check: 'label-list', rows: base(), labels: ['World', 'World'], severity: 'error', line: 1, says: /label "World" is listed twice/ },
  // Run Distillation and `peerkd distill` refuse it (review/writes.ts humanFieldProblem); validation said nothing.
  { check: 'human-field', rows: base(), fields: { human: 'teacher_label' }, severity: 'error', line: 1, says: /the human label field 'teacher_label' is also the teacher field/ },
  { check: 'text-field', rows: base(), fields: { text: 'teacher_label' }, severity: 'error', line: 1, says: /the text field 'teacher_label' is also the teacher label field \(peerkd\.fields\.teacher\)/ },
  { check: 'no-rows', rows: '\n  \n', severity: 'error', line: 1, says: /the file has no rows/ },
  { check: 'one-configured-label', rows: base(), labels: ['World'], severity: 'error', line: 1, says: /the configured label set has only one label/ },
  { check: 'human-outside-label-set', rows: [...base(), row('h', { teacher_label: 'World', human_label: 'Business' })], labels: ['World', 'Sports'], severity: 'error', line: 63, says: /human label 'Business' \(field human_label\) is not in the label set/ },
  { check: 'no-string-label', rows: [row('a', { teacher_label: 0 }), row('b', { teacher_label: 1 })], severity: 'error', line: 1, says: /no label in the dataset is a string/ },
  { check: 'no-label-field', rows: [row('a', {}), row('b', {})], severity: 'error', line: 1, says: /label/ },
  { check: 'one-label', rows: [row('a', { teacher_label: 'World' }), row('b', { teacher_label: 'World' })], severity: 'error', line: 1, says: /every label in the dataset is 'World'/ },
  // A label set of two over rows of one label: refused as without --labels (it ran to 'Teacher ≈ 100% right').
  { check: 'one-label', rows: [row('a', { teacher_label: 'World' }), row('b', { teacher_label: 'World' })], labels: ['World', 'Sports'], severity: 'error', line: 1, says: /every label on the rows is 'World' \(first on line 1\), though the label set .* names 2: the peers cannot learn/ },
  { check: 'number-beside-string-label', rows: [...base(['1', '2']), row('n', { teacher_label: 1 })], severity: 'error', line: 63, says: /teacher label 1 \(field teacher_label\) is a number, while line 1 writes the label '1' as a string/ },
  { check: 'no-string-teacher-label', rows: [row('a', { teacher_label: 0, human_label: 'World' }), row('b', { teacher_label: 1, human_label: 'Sports' })], severity: 'error', line: 1, says: /no teacher label \(field teacher_label\) is a string/ },
  { check: 'look-alike-labels', rows: [...base(['Café', 'Sports']), row('nfd', { teacher_label: 'Cafe\u0301' })], severity: 'error', line: 63, says: /look the same but are written with different Unicode characters/ },
  { check: 'look-alike-labels', rows: [...base(), row('zw', { teacher_label: 'Wor\u200bld' })], severity: 'error', line: 63, says: /differ only in invisible characters/ },
  { check: 'odd-labels', rows: [...base(), row('o', { teacher_label: 'Business\n' })], severity: 'warning', line: 63, says: /have white space around them, control characters or invisible characters/ },
  { check: 'number-labels', rows: [...base(['1', '2']), row('z', { teacher_label: '01' })], severity: 'warning', line: 63, says: /are the same number written differently/ },
  { check: 'case-labels', rows: [...base(), row('c', { teacher_label: 'sports' })], severity: 'warning', line: 63, says: /differ only by case/ },
  { check: 'unused-configured-labels', rows: base(), labels: ['World', 'Sports', 'Business'], severity: 'warning', line: 1, says: /are on no row: 'Business'/ },
  { check: 'human-labels-not-teacher-labels', rows: [...base(), row('h1', { teacher_label: 'World', human_label: 'world' }), row('h2', { teacher_label: 'Sports', human_label: 'sports' })], severity: 'error', line: 63, says: /no human label \(field human_label\) is a label the teacher uses .*'world' for 'World'\?/ },
  { check: 'human-only-labels', rows: [...base(), row('h1', { teacher_label: 'World', human_label: 'World' }), row('h2', { teacher_label: 'Sports', human_label: 'Sport' })], severity: 'warning', line: 64, says: /1 human label\(s\) \(field human_label\) are on no teacher label .*'Sport' \(1 row, line 64\) \('Sport' for 'Sports'\?\)/ },
  { check: 'no-teacher-labels', rows: base().map(({ teacher_label, ...rest }) => ({ ...rest, human_label: teacher_label })), severity: 'warning', line: 1, says: /no row has a teacher label \(field teacher_label\), so the run has no teacher label to judge and flags nothing: it trains a student on the 62 human label\(s\) alone/ },
  { check: 'human-field-elsewhere', rows: [...base(), row('g1', { teacher_label: 'World', gold: 'Sports' }), row('g2', { teacher_label: 'Sports', gold: 'Sports' })], severity: 'warning', line: 63, says: /no row has a human label \(field human_label\), while field 'gold' holds labels of the label set on 2 row\(s\) \(first on line 63\): if those are your human labels, set peerkd\.fields\.human \(--fields\.human gold\)/ },
  { check: 'fewer-labelled-rows-than-folds', rows: [row('a', { teacher_label: 'World' }), row('b', { teacher_label: 'Sports' }), row('c', {})], folds: 5, severity: 'error', line: 2, says: /only 2 row\(s\) have a teacher label .* fewer than the 5 folds/ },
  { check: 'thin-label-set', rows: base().filter((_, i) => i % 31 < 3), severity: 'warning', line: 1, says: /have a median of 3 labelled rows each/ },
  { check: 'rare-labels', rows: [...base(), row('r1', { teacher_label: 'Business' }), row('r2', { teacher_label: 'Business' })], severity: 'warning', line: 63, says: /are on too few rows for the peers to learn them: 'Business'/ },
  { check: 'single-row-labels', rows: [...base().filter((_, i) => i % 31 < 2), row('s', { teacher_label: 'Business' })], severity: 'warning', line: 5, says: /are on one row only: 'Business' \(line 5\)/ },
  { check: 'blank-labels', rows: [...base(), row('b', { teacher_label: '  ' })], severity: 'warning', line: 63, says: /1 teacher label\(s\) \(field teacher_label\) are empty or blank strings/ },
  { check: 'wordless-rows', rows: [...base(), { id: 'w', text: '!!! ???', teacher_label: 'World' }], severity: 'warning', line: 63, says: /1 row\(s\) have no word in their text/ },
  { check: 'conflicting-texts', rows: [...base(), { id: 'x1', text: 'same text', teacher_label: 'World' }, { id: 'x2', text: 'same text', teacher_label: 'Sports' }], severity: 'warning', line: 63, says: /line 63's text is also on line 64 \(labels 'World', 'Sports'\)/ },
];

for (const c of CASES) {
  test(`validation shows the run's '${c.check}' ${c.severity} at line ${c.line}, as the run says it`, () => {
    const text = typeof c.rows === 'string' ? c.rows : jsonlText(c.rows);
    const src = source({ labels: c.labels ?? [], folds: c.folds ?? 2, fields: { ...DEFAULT_FIELDS, ...c.fields } });
    const finding = checkTrainingInput(parseDatasetText(text, src.fields, { labels: src.labels.filter((l) => l !== '') }), src).findings.find((f) => f.check === c.check);
    assert.ok(finding, `the run's checks have no '${c.check}' finding`);
    assert.equal(finding.severity, c.severity);
    assert.match(finding.message, c.says);
    const ways: [string, Problem[]][] = [
      ['editor', editorProblems(text, src)],
      ['command', commandProblems(text, src)],
    ];
    for (const [how, problems] of ways) {
      const shown: Problem[] = problems.filter((problem) => problem.code === 'run-check' && problem.message === finding.message);
      assert.equal(shown.length, 1, `${how}: ${JSON.stringify(problems.map((p) => [p.line, p.code, p.message]))}`);
      assert.equal(shown[0].severity, c.severity, how);
      assert.equal(shown[0].line, c.line, how);
    }
    // The run: an error stops it as file:line: message (or file: message for the file as a whole), a warning is logged.
    const run = runOf(text, src);
    if (c.severity === 'error') {
      const first = checkTrainingInput(parseDatasetText(text, src.fields, { labels: src.labels.filter((l) => l !== '') }), src).findings.find((f) => f.severity === 'error')!;
      if (first === finding) {
        assert.ok(run.error, 'the run stops');
        assert.equal(run.error.message, `${FILE}${finding.namesLine ? `:${finding.line}` : ''}: ${finding.message}`);
      }
    } else {
      assert.equal(run.error, undefined, run.error?.message);
      assert.ok(run.warnings.includes(finding.message), JSON.stringify(run.warnings));
    }
  });
}

test("validation shows bytes that are not UTF-8 as the run does (Validate Dataset on a closed file), at the first such line", async () => {
  const file = join(dir, 'latin1.jsonl');
  const good = jsonlText(base());
  writeFileSync(file, Buffer.concat([Buffer.from(good), Buffer.from('{"id": "l", "text": "caf'), Buffer.from([0xe9]), Buffer.from(' prices", "teacher_label": "World"}\n')]));
  const src = source({ file });
  const run = await readTrainingInput(src);
  const parsed = await readDatasetFile(file, src.fields);
  const problems = inputProblems(parsed, src, undefined, await firstInvalidUtf8LineOfFile(file));
  const shown = problems.filter((problem) => /holds bytes that are not valid UTF-8/.test(problem.message));
  assert.deepEqual(shown.map((problem) => [problem.line, problem.severity]), [[BASE_LINES + 1, 'warning']]);
  assert.ok(run.warnings.includes(shown[0].message), JSON.stringify(run.warnings));
});

test('every check of a run is in the table above, or is said line by line by the parser (and shown as such)', () => {
  const covered = new Set<InputCheckName>([...CASES.map((c) => c.check), 'invalid-utf8']);
  assert.deepEqual(
    INPUT_CHECKS.filter((check) => !covered.has(check) && !PARSER_SAID.has(check)),
    [],
  );
  // Those the parser says: each run finding's line has a problem of the parser's own in validation.
  const text = jsonlText([
    ...base(),
    row('long', { teacher_label: 'x'.repeat(201) }),
    { id: 'nt', text: '', teacher_label: 'World' },
    row('num', { teacher_label: 7 }),
    row('conf', { teacher_label: 'World', teacher_confidence: 87 }),
    row('World-0', { teacher_label: 'World' }),
  ]);
  const src = source();
  const findings = checkTrainingInput(parseDatasetText(text, src.fields), src).findings.filter((finding) => PARSER_SAID.has(finding.check));
  assert.deepEqual(findings.map((finding) => finding.check).sort(), ['duplicate-ids', 'invalid-confidence', 'label-not-string', 'label-too-long', 'rows-without-text']);
  const problems = editorProblems(text, src);
  for (const finding of findings) {
    const own = problems.filter((problem) => problem.code !== 'run-check' && problem.line === finding.line);
    assert.ok(own.length > 0, `${finding.check}: no problem of the parser at line ${finding.line}`);
    // The run stops on a label too long and so does validation (an error); a row without text is an error of its
    // line in validation (the line is broken), which the run leaves out with a warning.
    if (finding.check === 'label-too-long') assert.ok(own.some((problem) => problem.severity === 'error' && problem.message === finding.message));
  }
});

// ---- the run and validation agree on hostile files ------------------------------------------------------------

const TEXTS = ['Stocks fall as oil rises', 'Team wins the final', '', '   ', '!!!', '😀', 'same text', 'same text', '株価が上昇', 42, null];
const LABELS: unknown[] = ['World', 'Sports', 'Business', ' World', 'World\n', 'Wor\u200bld', 'Café', 'Cafe\u0301', 'sports', '1', '01', 1, 0, true, {}, [], null, '', '  ', 'x'.repeat(201)];
const LABEL_SETS: string[][] = [[], [], ['World', 'Sports'], ['1', '2'], ['World'], ['World', 'World'], ['World', 'Sports', 'Business', 'Unused']];

function hostileFile(random: SeededRandom): { text: string; src: InputSource } {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random.next() * values.length)];
  const lines: string[] = [];
  const count = 1 + Math.floor(random.next() * 12);
  for (let i = 0; i < count; i++) {
    const roll = random.next();
    if (roll < 0.05) lines.push('{broken');
    else if (roll < 0.08) lines.push('[1, 2]');
    else if (roll < 0.1) lines.push('');
    else {
      const value: Record<string, unknown> = { id: random.next() < 0.1 ? 'dup' : `r${i}`, text: pick(TEXTS) };
      if (random.next() < 0.85) value.teacher_label = pick(LABELS);
      if (random.next() < 0.3) value.human_label = pick(LABELS);
      if (random.next() < 0.1) value.teacher_confidence = pick([0.5, 87, -1, '0.5']);
      lines.push(JSON.stringify(value));
    }
  }
  // A tail of ordinary rows now and then, so that some files pass the label-set checks and reach the later ones.
  if (random.next() < 0.5) for (let i = 0; i < 40; i++) lines.push(JSON.stringify({ id: `t${i}`, text: `ordinary row ${i}`, teacher_label: i % 2 ? 'World' : 'Sports' }));
  return { text: lines.join(random.next() < 0.2 ? '\r\n' : '\n') + '\n', src: source({ labels: pick(LABEL_SETS), folds: 2 + Math.floor(random.next() * 4) }) };
}

test('on 400 hostile files the run and validation agree: the run stops on an error validation shows at its line, and logs only warnings validation shows', () => {
  const random = new SeededRandom(7);
  let stopped = 0;
  for (let i = 0; i < 400; i++) {
    const { text, src } = hostileFile(random);
    const run = runOf(text, src);
    for (const problems of [editorProblems(text, src), commandProblems(text, src)]) {
      const context = `file ${i}: ${JSON.stringify(text.slice(0, 300))} labels ${JSON.stringify(src.labels)} folds ${src.folds}\nrun: ${run.error?.message ?? JSON.stringify(run.warnings)}\nvalidation: ${JSON.stringify(problems.map((p) => [p.line, p.severity, p.code, p.message.slice(0, 80)]))}`;
      const runErrors = problems.filter((problem) => problem.code === 'run-check' && problem.severity === 'error');
      if (run.error) {
        // The error the run stops with is an error of validation at the line the run names (its own words), or the
        // parser's error there (a label too long), or, for a file without text, the parser's errors of its rows.
        const at = run.error.line;
        const shown = problems.some(
          (problem) =>
            problem.severity === 'error' &&
            (run.error!.message === `${FILE}:${problem.line}: ${problem.message}` || run.error!.message === `${FILE}: ${problem.message}` || (problem.code !== 'run-check' && (at === undefined || problem.line === at))),
        );
        assert.ok(shown, context);
      } else {
        // A run that goes on: validation shows no error of the run, and every warning of the run's own (not one
        // summing up the parser's problems) with the run's words.
        assert.deepEqual(runErrors, [], context);
        const runWarnings = problems.filter((problem) => problem.code === 'run-check').map((problem) => problem.message);
        for (const message of runWarnings) assert.ok(run.warnings.includes(message), `${context}\nnot said by the run: ${message}`);
      }
    }
    if (run.error) stopped++;
  }
  // The generator reaches both outcomes.
  assert.ok(stopped > 50 && stopped < 350, `${stopped} of 400 runs stopped`);
});

test("no label field on any row while 'llm_label' looks like labels: one problem says so, the line's own with the quick fix, not the run's finding again", () => {
  const rows = base().map(({ teacher_label, ...rest }) => ({ ...rest, llm_label: teacher_label }));
  const text = jsonlText(rows);
  const src = source();
  // The run still stops on it, with its own words.
  assert.match(runOf(text, src).error?.message ?? '', /no row with text has a teacher label \(field 'teacher_label'\)/);
  for (const [how, problems] of [
    ['editor', editorProblems(text, src)],
    ['command', commandProblems(text, src)],
  ] as const) {
    const saying = problems.filter((problem) => /teacher label \(field 'teacher_label'\)/.test(problem.message));
    assert.deepEqual(
      saying.map((problem) => [problem.line, problem.code]),
      [[1, 'missing-label-fields']],
      `${how}: ${JSON.stringify(problems.map((p) => [p.line, p.code, p.message]))}`,
    );
    assert.match(saying[0].message, /'llm_label' looks like labels/);
  }
});

test('Validate Dataset of a closed file shows every problem as of the open file: the same lines, columns, severities and words (a run finding marks its line\'s text)', async () => {
  const texts: { text: string | Buffer; src: InputSource; name: string }[] = CASES.map((c) => ({
    name: c.check,
    text: typeof c.rows === 'string' ? c.rows : jsonlText(c.rows),
    src: source({ labels: c.labels ?? [], folds: c.folds ?? 2, fields: { ...DEFAULT_FIELDS, ...c.fields } }),
  }));
  // Indented lines, a BOM, CRLF and lone CRs, bytes that are not UTF-8: a run finding marks the text, not the white space.
  const indented = jsonlText([...base(), row('o', { teacher_label: 'Business\n' })]).split('\n').map((line) => (line === '' ? line : `  \t${line}  `)).join('\r\n');
  texts.push({ name: 'indented, CRLF, BOM', text: `\ufeff${indented}`, src: source() });
  texts.push({ name: 'lone CR', text: jsonlText([...base(), row('c', { teacher_label: 'sports' })]).replace(/\n/g, '\r'), src: source() });
  texts.push({ name: 'not UTF-8', text: Buffer.concat([Buffer.from(jsonlText(base())), Buffer.from('  {"id": "l", "text": "caf'), Buffer.from([0xe9]), Buffer.from(' prices", "teacher_label": "World"}  \n')]), src: source() });
  const random = new SeededRandom(11);
  for (let i = 0; i < 150; i++) texts.push({ name: `hostile ${i}`, ...hostileFile(random) });
  let marked = 0;
  for (const { text, src, name } of texts) {
    const { closed, open } = await validateCommand(text, src);
    assert.deepEqual(closed, open, name);
    // A finding on a line with text marks that text, as the editor's own diagnostics of the document do.
    marked += closed.filter((problem) => problem.code === 'run-check' && problem.endColumn > problem.column).length;
  }
  assert.ok(marked > 20, `${marked} run findings mark text`);
  // The indented file: its finding marks the row's JSON, between the white space around it.
  const [{ closed }] = await Promise.all([validateCommand(texts.find((t) => t.name === 'indented, CRLF, BOM')!.text, source())]);
  const odd = closed.find((problem) => problem.code === 'run-check' && /white space around them/.test(problem.message));
  assert.ok(odd);
  const line = indented.split('\r\n')[odd.line - 1];
  assert.equal(line.slice(odd.column - 1, odd.endColumn - 1), line.trim());
});
