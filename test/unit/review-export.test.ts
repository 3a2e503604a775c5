import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FIELDS } from '../../src/dataset/types';
import { adviceAt, adviceAtText, adviceOutlook, assertExportTarget, describeExport, exportReviewedText, finalLabelOf, parseAdviceThreshold, reviewedFileName, type ExportOptions } from '../../src/review/export';
import { rowTextDigest } from '../../src/dataset/rowTextsDigest';
import type { Prediction } from '../../src/training/types';

function prediction(id: string, suggested: string, p: number, teacher: string | null = 'World'): Prediction {
  return {
    id,
    line: 0,
    teacher,
    human: null,
    suggested,
    p_teacher_wrong: p,
    flagged: p > 0.5,
    // The advice's own probability: the row's p, as when the teacher's label has the rest.
    probs: { [suggested]: p },
    peer_probs: {},
    vanilla_probs: {},
  };
}

const predictionsByKey = new Map([
  ['a', prediction('a', 'Sports', 0.9)],
  ['b', prediction('b', 'World', 0.1)],
  ['c', prediction('c', 'Business', 0.8)],
]);

const dataset = [
  '{"id":"a","text":"match","teacher_label":"World"}',
  '{"id": "b", "text": "vote", "teacher_label": "World", "extra": [1, 2]}',
  '{"id":"c","text":"oil","teacher_label":"World","human_label":"Sci/Tech"}',
  '{"id":"d","text":"unscored","teacher_label":"Sports"}',
  '{"id":"e","text":"no label at all"}',
  '{"id":"f", broken',
  '',
].join('\r\n');

function options(useAdvised: boolean, minProbability = 0.5): ExportOptions {
  return { fields: DEFAULT_FIELDS, predictionsByKey, runId: 'run-1', advice: useAdvised ? { minProbability } : null };
}

test('final label: human first, then the teacher (or, when chosen, an advised label that differs)', () => {
  const o = options(false);
  assert.deepEqual(finalLabelOf({ key: 'c', teacher: 'World', human: 'Sci/Tech' }, o), {
    label: 'Sci/Tech',
    provenance: { source: 'human', run: 'run-1', p_teacher_wrong: 0.8 },
  });
  assert.deepEqual(finalLabelOf({ key: 'a', teacher: 'World', human: null }, o).label, 'World');
  assert.deepEqual(finalLabelOf({ key: 'a', teacher: 'World', human: null }, options(true)), {
    label: 'Sports',
    provenance: { source: 'advised', run: 'run-1', p_teacher_wrong: 0.9, p_advised: 0.9, advice_threshold: 0.5 },
  });
  // Advice that agrees with the teacher keeps the teacher as the source.
  assert.equal(finalLabelOf({ key: 'b', teacher: 'World', human: null }, options(true)).provenance.source, 'teacher');
  assert.deepEqual(finalLabelOf({ key: 'z', teacher: null, human: null }, { predictionsByKey: null, runId: null, advice: { minProbability: 0.5 } }), {
    label: null,
    provenance: { source: 'none', run: null },
  });
});

test('export keeps every original byte of each row and adds only the two fields; broken lines are copied as they are', () => {
  const { text, counts } = exportReviewedText(dataset, options(false));
  const lines = text.split('\r\n');
  assert.equal(lines.length, 7);
  assert.equal(
    lines[0],
    '{"id":"a","text":"match","teacher_label":"World","final_label":"World","label_provenance":{"source":"teacher","run":"run-1","p_teacher_wrong":0.9}}',
  );
  assert.equal(
    lines[1],
    '{"id": "b", "text": "vote", "teacher_label": "World", "extra": [1, 2], "final_label": "World", "label_provenance": {"source": "teacher", "run": "run-1", "p_teacher_wrong": 0.1}}',
  );
  assert.ok(lines[2].startsWith('{"id":"c","text":"oil","teacher_label":"World","human_label":"Sci/Tech","final_label":"Sci/Tech",'));
  assert.ok(lines[3].endsWith('"final_label":"Sports","label_provenance":{"source":"teacher","run":"run-1"}}'));
  assert.ok(lines[4].endsWith('"final_label":null,"label_provenance":{"source":"none","run":"run-1"}}'));
  assert.equal(lines[5], '{"id":"f", broken');
  assert.equal(lines[6], '');
  assert.deepEqual(counts, { rows: 5, human: 1, teacher: 3, advised: 0, none: 1, adviceBelowThreshold: 0, invalidLines: 1, invalidLineNumbers: [6], changedSinceRun: 0, textChangedLines: [], textChangedAdvice: 0, notInRun: 2, humanNotLabelLines: [], teacherNotLabelLines: [], replacedExisting: 0, sharedIdUncertainLines: [], sharedIdsWhy: null });
  for (const [index, original] of dataset.split('\r\n').entries()) {
    const exported = lines[index];
    if (index < 5) {
      const parsed = JSON.parse(exported) as Record<string, unknown>;
      const { final_label: _f, label_provenance: _p, ...rest } = parsed;
      assert.deepEqual(rest, JSON.parse(original));
    }
  }
});

test('export with advised labels relabels only rows the run advises differently, never human-labelled rows', () => {
  const { text, counts } = exportReviewedText(dataset, options(true));
  const rows = text
    .split('\r\n')
    .slice(0, 5)
    .map((line) => JSON.parse(line) as { id: string; final_label: string | null; label_provenance: { source: string } });
  assert.deepEqual(
    rows.map((r) => [r.id, r.final_label, r.label_provenance.source]),
    [
      ['a', 'Sports', 'advised'],
      ['b', 'World', 'teacher'],
      ['c', 'Sci/Tech', 'human'],
      ['d', 'Sports', 'teacher'],
      ['e', null, 'none'],
    ],
  );
  assert.equal(counts.advised, 1);
});

test('the summary of an export (editor message and peerkd export) counts rows by source and names the first invalid line', () => {
  const { counts } = exportReviewedText(dataset, options(true, 0.85));
  assert.deepEqual(counts.invalidLineNumbers, [6]);
  assert.deepEqual(describeExport(counts, options(true, 0.85)), {
    // Rows d and e are not in the run: counted, not passed over in silence (a renumbered id loses the run's advice).
    details: '1 human, 2 teacher, 1 advised with p ≥ 0.85, 1 without a label, 2 not in run run-1 (added since, or their id changed, or how many rows share it) exported without its probability or advice',
    notes: ' 1 invalid line (line 6) was copied unchanged.',
  });
  const twice = exportReviewedText(`${dataset}\r\n[1]\r\n`, options(false));
  assert.equal(describeExport(twice.counts, options(false)).notes, ' 2 invalid lines (line 6 first) were copied unchanged.');
});

test('the summary of an export writes its counts as the total beside them (1,946) and advice below the threshold as rows', () => {
  const counts = { rows: 2000, human: 50, teacher: 1946, advised: 4, none: 0, adviceBelowThreshold: 198, invalidLines: 0, invalidLineNumbers: [], changedSinceRun: 0, notInRun: 0, humanNotLabelLines: [], teacherNotLabelLines: [], replacedExisting: 0, sharedIdUncertainLines: [], sharedIdsWhy: null, textChangedLines: [], textChangedAdvice: 0 };
  // Before: '50 human, 1946 teacher, 4 advised with p ≥ 0.9, 198 advices below it not taken' after "Wrote 2,000 rows".
  assert.equal(describeExport(counts, options(true, 0.9)).details, '50 human, 1,946 teacher, 4 advised with p ≥ 0.9, 198 with advice below it, not taken');
  assert.equal(describeExport({ ...counts, adviceBelowThreshold: 1 }, options(true, 0.9)).details, '50 human, 1,946 teacher, 4 advised with p ≥ 0.9, 1 with advice below it, not taken');
});

test('a BOM and a missing final newline survive the export', () => {
  const { text } = exportReviewedText('\ufeff{"text":"x","teacher_label":"A"}\n{"text":"y","teacher_label":"B"}', {
    ...options(false),
    predictionsByKey: null,
    runId: null,
  });
  assert.ok(text.startsWith('\ufeff{"text":"x","teacher_label":"A","final_label":"A"'));
  assert.ok(text.endsWith('"final_label":"B","label_provenance":{"source":"teacher","run":null}}'));
  assert.equal(text.split('\n').length, 2);
});

test('the copy is named after the dataset', () => {
  assert.equal(reviewedFileName('train.jsonl'), 'train.reviewed.jsonl');
  assert.equal(reviewedFileName('data.v2.JSONL'), 'data.v2.reviewed.JSONL');
  assert.equal(reviewedFileName('rows'), 'rows.reviewed.jsonl');
  // A line break in the name (possible on Linux and macOS) gave 'a\nb.jsonl.reviewed.jsonl'.
  assert.equal(reviewedFileName('a\nb.ndjson'), 'a\nb.reviewed.ndjson');
  assert.equal(reviewedFileName('a\r\u2028b.jsonl'), 'a\r\u2028b.reviewed.jsonl');
});

test('advice is exported only above the threshold the user chose, always with its probability (issue 10 §3.12)', () => {
  const byKey = new Map([
    ['sure', prediction('sure', 'Sports', 0.95)],
    ['unsure', prediction('unsure', 'Sports', 0.6)],
    // The teacher abstained: the run's p_teacher_wrong is 0 there and means nothing, so it is not written.
    ['abstained-sure', { ...prediction('abstained-sure', 'Business', 0, null), probs: { Business: 0.93, World: 0.07 } }],
    ['abstained-unsure', { ...prediction('abstained-unsure', 'Business', 0, null), probs: { Business: 0.577, World: 0.423 } }],
  ]);
  const text = [
    '{"id":"sure","text":"a","teacher_label":"World"}',
    '{"id":"unsure","text":"b","teacher_label":"World"}',
    '{"id":"abstained-sure","text":"c"}',
    '{"id":"abstained-unsure","text":"d"}',
  ].join('\n');
  const { text: out, counts } = exportReviewedText(text, { fields: DEFAULT_FIELDS, predictionsByKey: byKey, runId: 'r', advice: { minProbability: 0.9 } });
  const rows = out.split('\n').map((line) => JSON.parse(line) as { final_label: string | null; label_provenance: Record<string, unknown> });
  assert.deepEqual(rows.map((row) => [row.final_label, row.label_provenance]), [
    ['Sports', { source: 'advised', run: 'r', p_teacher_wrong: 0.95, p_advised: 0.95, advice_threshold: 0.9 }],
    ['World', { source: 'teacher', run: 'r', p_teacher_wrong: 0.6 }],
    ['Business', { source: 'advised', run: 'r', p_advised: 0.93, advice_threshold: 0.9 }],
    // Before, "Advised label" wrote this 57.7 % guess as the row's final label with nothing saying how sure it was.
    [null, { source: 'none', run: 'r' }],
  ]);
  assert.deepEqual(counts, { rows: 4, human: 0, teacher: 1, advised: 2, none: 1, adviceBelowThreshold: 2, invalidLines: 0, invalidLineNumbers: [], changedSinceRun: 0, textChangedLines: [], textChangedAdvice: 0, notInRun: 0, humanNotLabelLines: [], teacherNotLabelLines: [], replacedExisting: 0, sharedIdUncertainLines: [], sharedIdsWhy: null });
  // Every advised row carries its probability and the threshold: no advice without them.
  for (const row of rows.filter((r) => r.label_provenance.source === 'advised')) {
    assert.equal(typeof row.label_provenance.p_advised, 'number');
    assert.equal(row.label_provenance.advice_threshold, 0.9);
  }
  // What the threshold prompt says while the user types.
  const outlook = adviceOutlook(text, { fields: DEFAULT_FIELDS, predictionsByKey: byKey, runId: 'r' });
  assert.deepEqual(adviceAt(outlook, 0.9), { rows: 2, withoutTeacher: 1, refused: { teacher: 0, text: 0, sharedId: 0 } });
  assert.deepEqual(adviceAt(outlook, 0.5), { rows: 4, withoutTeacher: 2, refused: { teacher: 0, text: 0, sharedId: 0 } });
});

test('the threshold prompt counts the rows that really take the advice: rows whose text or teacher label changed since the run are left out, and said', () => {
  // The run recorded each row's text digest; it advised Sports (p 0.95) for a, b and c and (p 0.6) for d.
  const scored = (id: string, text: string, p: number) => ({ ...prediction(id, 'Sports', p), text_digest: rowTextDigest(text) });
  const byKey = new Map([
    ['a', scored('a', 'stocks fall', 0.95)],
    ['b', scored('b', 'rates rise', 0.95)],
    ['c', scored('c', 'oil up', 0.95)],
    ['d', scored('d', 'gold steady', 0.6)],
  ]);
  const text = [
    '{"id":"a","text":"stocks fall","teacher_label":"World"}', // as the run read it: advised
    '{"id":"b","text":"the team wins the cup","teacher_label":"World"}', // its text rewritten since
    '{"id":"c","text":"oil up","teacher_label":"Business"}', // its teacher label changed since
    '{"id":"d","text":"gold steady today","teacher_label":"World"}', // rewritten, advice below 0.9
  ].join('\n');
  const options = { fields: DEFAULT_FIELDS, predictionsByKey: byKey, runId: 'r' };
  const outlook = adviceOutlook(text, options);
  // Before, the prompt counted the run's predictions: 3 rows at 0.9, 4 at 0.5, of which the copy advised 1.
  assert.deepEqual(adviceAt(outlook, 0.9), { rows: 1, withoutTeacher: 0, refused: { teacher: 1, text: 1, sharedId: 0 } });
  assert.deepEqual(adviceAt(outlook, 0.5), { rows: 1, withoutTeacher: 0, refused: { teacher: 1, text: 2, sharedId: 0 } });
  for (const minProbability of [0.9, 0.5]) {
    const { counts } = exportReviewedText(text, { ...options, advice: { minProbability } });
    assert.equal(counts.advised, adviceAt(outlook, minProbability).rows, 'the prompt says as many as the copy advises');
    assert.equal(counts.textChangedAdvice, adviceAt(outlook, minProbability).refused.text);
    assert.deepEqual(counts.textChangedLines, [2, 4]);
  }
  assert.equal(
    adviceAtText(adviceAt(outlook, 0.9), 'r'),
    '1 row without a human label would take the label run r advises (0 of them without a teacher label). Left out, although their advice reaches it: 1 row whose text changed since the run (its advice is about the old text); 1 row whose teacher label changed since the run.',
  );
  assert.equal(adviceAtText({ rows: 2, withoutTeacher: 1, refused: { teacher: 0, text: 0, sharedId: 0 } }, 'r'), '2 rows without a human label would take the label run r advises (1 of them without a teacher label).');
  // The copy's message (the editor's and peerkd export's) says how many of the rewritten rows it gave no advice.
  const { counts } = exportReviewedText(text, { ...options, advice: { minProbability: 0.5 } });
  assert.ok(
    describeExport(counts, { ...options, advice: { minProbability: 0.5 } }, 'data.jsonl').details.includes(
      "2 rows whose text changed since run r kept their labels, without the run's probability or advice (about the old text; 2 of them advised with p ≥ 0.5, not taken): data.jsonl:2, data.jsonl:4",
    ),
  );
});

test('the advice threshold is the user\'s: a probability or a percentage, never a default', () => {
  assert.equal(parseAdviceThreshold('0.9'), 0.9);
  assert.equal(parseAdviceThreshold(' .75 '), 0.75);
  assert.equal(parseAdviceThreshold('90%'), 0.9);
  assert.equal(parseAdviceThreshold('1'), 1);
  // A percentage is the number written, not a division's rounding (0.9 / 100 = 0.009000000000000001, which the
  // summary printed and each advised row's advice_threshold recorded).
  for (const [percent, value] of [['0.9%', 0.009], ['57%', 0.57], ['99.9%', 0.999], ['100%', 1], ['1.1%', 0.011], ['.5%', 0.005]] as const) {
    assert.equal(parseAdviceThreshold(percent), value, percent);
  }
  for (const bad of ['', '  ', '0', '1.5', '150%', '-0.2', 'abc', '0.9x', 'NaN']) {
    assert.equal(typeof parseAdviceThreshold(bad), 'string', `'${bad}' is refused`);
  }
});

test('the copy never goes over the dataset (under any name) nor into PeerKD\'s own folder or the runs folder', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-export-target-'));
  try {
    const data = path.join(dir, 'data.jsonl');
    fs.writeFileSync(data, '{"id":"a","text":"t"}\n');
    fs.symlinkSync(data, path.join(dir, 'link.jsonl'));
    const runs = path.join(dir, 'my-runs');
    await assert.rejects(assertExportTarget(data, data, runs), /data\.jsonl is the input file/);
    await assert.rejects(assertExportTarget(data, path.join(dir, 'link.jsonl'), runs), /link\.jsonl is the input file/);
    await assert.rejects(assertExportTarget(data, path.join(dir, '.peerkd', 'runs', 'r', 'predictions.jsonl'), runs), /inside PeerKD's own \.peerkd folder/);
    await assert.rejects(assertExportTarget(data, path.join(dir, '.peerkd', 'data.reviewed.jsonl'), runs), /inside PeerKD's own \.peerkd folder/);
    await assert.rejects(assertExportTarget(data, path.join(runs, 'run-1', 'predictions.jsonl'), runs), /inside the runs folder .*my-runs/);
    // Elsewhere, an existing file included (the save dialog asked before replacing it), is fine.
    fs.writeFileSync(path.join(dir, 'data.reviewed.jsonl'), 'old\n');
    await assertExportTarget(data, path.join(dir, 'data.reviewed.jsonl'), runs);
    await assertExportTarget(data, path.join(dir, 'my-runs.jsonl'), runs);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
