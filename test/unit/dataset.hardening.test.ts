/**
 * Issue 8 (hardening) for the dataset core and the commands that write files: nothing the user wrote is lost or
 * changed (invalid UTF-8, symbolic links, read-only files, output = input), lines are counted as the editor counts
 * them (lone CR), and no line, however deep or odd, stops the others.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { createDistillCommand } from '../../src/cli/distill';
import { createExportCommand } from '../../src/cli/export';
import { createLabelCommand, runLabelCommand } from '../../src/cli/label';
import { createPredictCommand } from '../../src/cli/predict';
import { captureIo } from '../support/captureIo';
import {
  applyRowEditsToFile,
  assertNotSameFile,
  assertReadableFile,
  DEFAULT_FIELDS,
  isWithinFolder,
  MAX_JSON_DEPTH,
  parseDatasetText,
  readDatasetFile,
  rowIdentity,
  setFieldInLine,
  setFieldInLineBytes,
  undecodableBytesReason,
  writeFileAtomic,
  OutputAppearedError,
} from '../../src/dataset/index';
import { fieldValueRange } from '../../src/review/locate';
import { exportReviewedText } from '../../src/review/export';
import { IncrementalDatasetValidator } from '../../src/dataset/incremental';
import { labelReply, withFakeOpenAi } from '../support/fakeOpenAiServer';
import { CapturedStream as Capture, labelIo } from '../support/captureIo';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerkd-harden-'));
  dirs.push(dir);
  return dir;
}


const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
const deepRow = (depth: number): string => `{"id":"deep","text":"t","extra":${nested(depth - 1)}}`;

describe('invalid UTF-8 on an edited line', () => {
  const bad = Buffer.concat([Buffer.from('{"id":"a","text":"caf'), Buffer.from([0xe9, 0xff]), Buffer.from('"}')]);

  it('setFieldInLineBytes changes no byte outside the value, invalid bytes and non-ASCII keys included', () => {
    const out = setFieldInLineBytes(bad, 'human_label', 'Sports');
    assert.deepEqual(out, Buffer.concat([bad.subarray(0, bad.length - 1), Buffer.from(',"human_label":"Sports"}')]));
    const keyed = Buffer.from('{"clé":{"x":1},"text":"\u00e9"}');
    assert.deepEqual(setFieldInLineBytes(keyed, 'clé.x', 'ü'), Buffer.from('{"clé":{"x":"ü"},"text":"\u00e9"}'));
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bad]);
    assert.deepEqual(setFieldInLineBytes(withBom, 'id', 'b').subarray(0, 12), Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from('{"id":"b"')]));
  });

  it('applyRowEditsToFile keeps the invalid bytes of the line it edits', async () => {
    const file = path.join(tempDir(), 'data.jsonl');
    fs.writeFileSync(file, Buffer.concat([Buffer.from('{"id":"0","text":"x"}\n'), bad, Buffer.from('\n')]));
    await applyRowEditsToFile(file, [{ line: 2, id: 'a', field: 'human_label', value: 'Sports' }], DEFAULT_FIELDS);
    const written = fs.readFileSync(file);
    assert.ok(written.includes(Buffer.from([0x66, 0xe9, 0xff, 0x22])), `invalid bytes kept: ${written.toString('hex')}`);
    assert.ok(!written.includes(Buffer.from([0xef, 0xbf, 0xbd])), 'no U+FFFD written');
    assert.match(written.toString('latin1'), /,"human_label":"Sports"\}\n$/);
  });

  it('peerkd label keeps the invalid bytes of the rows it labels', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'data.jsonl');
    const lines = [
      Buffer.from('{"id":"h1","text":"one","human_label":"World"}'),
      Buffer.from('{"id":"h2","text":"two","human_label":"Sports"}'),
      Buffer.concat([Buffer.from('{"id":"u","text":"bad '), Buffer.from([0xc3, 0x28, 0xa0]), Buffer.from('"}')]),
    ];
    fs.writeFileSync(file, Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')])));
    await withFakeOpenAi(() => labelReply('Sports'), async (server) => {
      const io = labelIo();
      const code = await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'm', '--labels', 'World,Sports', '--few-shot', '0', '--cache-dir', path.join(dir, 'cache')], io);
      assert.equal(code, 0, io.stderr.text);
    });
    const written = fs.readFileSync(file);
    assert.deepEqual(written.subarray(0, lines[0].length + lines[1].length + 2), Buffer.concat([lines[0], Buffer.from('\n'), lines[1], Buffer.from('\n')]));
    assert.ok(written.includes(Buffer.from([0xc3, 0x28, 0xa0])), written.toString('hex'));
    assert.match(written.toString('latin1'), /"teacher_label":"Sports"/);
  });

  it('the editor writes no label into a document whose file has invalid UTF-8 (a save would replace those bytes)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'data.jsonl');
    fs.writeFileSync(file, Buffer.concat([Buffer.from('{"id":"0","text":"x"}\r'), bad, Buffer.from('\n')]));
    const decoded = fs.readFileSync(file, 'utf8');
    assert.match((await undecodableBytesReason(decoded, file)) ?? '', /data\.jsonl:2 holds bytes that are not valid UTF-8/);
    // A real U+FFFD (valid UTF-8), a document without U+FFFD, or one without a file: nothing to lose.
    const real = path.join(dir, 'real.jsonl');
    fs.writeFileSync(real, '{"id":"0","text":"\ufffd"}\n');
    assert.equal(await undecodableBytesReason(fs.readFileSync(real, 'utf8'), real), null);
    assert.equal(await undecodableBytesReason('{"id":"0"}', file), null);
    assert.equal(await undecodableBytesReason(decoded, undefined), null);
  });
});

describe('lone CR line endings are line breaks, as in the editor', () => {
  const rows = ['{"id":"1","text":"a"}', '{"id":"2","text":"b"}', '{"id":"3","text":"c"}', 'oops', '{"id":"5","text":"e"}'];
  const text = rows.join('\r') + '\r';

  it('parseDatasetText and readDatasetFile see one row per line and number them as the editor does', async () => {
    const parsed = parseDatasetText(text, DEFAULT_FIELDS);
    assert.deepEqual(parsed.rows.map((row) => [row.line, row.id]), [[1, '1'], [2, '2'], [3, '3'], [5, '5']]);
    assert.deepEqual(parsed.problems.map((problem) => [problem.line, problem.code]), [[4, 'invalid-json']]);
    assert.equal(parsed.lineCount, 5);
    const file = path.join(tempDir(), 'cr.jsonl');
    fs.writeFileSync(file, '\ufeff' + rows.join('\r\n').replace('\r\n{"id":"2"', '\r{"id":"2"'));
    const read = await readDatasetFile(file, DEFAULT_FIELDS);
    assert.deepEqual(read.rows.map((row) => [row.line, row.id]), [[1, '1'], [2, '2'], [3, '3'], [5, '5']]);
  });

  it('a CRLF split across two read chunks is one line break, a CR at a chunk end followed by text another', async () => {
    const dir = tempDir();
    const filler = (length: number) => `{"id":"f","text":"${'x'.repeat(length - 21)}"}`;
    const chunk = 1 << 20;
    const crlf = path.join(dir, 'crlf.jsonl');
    fs.writeFileSync(crlf, filler(chunk - 1) + '\r\n{"id":"g","text":"y"}\n');
    assert.deepEqual((await readDatasetFile(crlf, DEFAULT_FIELDS)).rows.map((row) => [row.line, row.id]), [[1, 'f'], [2, 'g']]);
    const cr = path.join(dir, 'cr.jsonl');
    fs.writeFileSync(cr, filler(chunk - 1) + '\r{"id":"g","text":"y"}\r');
    const parsed = await readDatasetFile(cr, DEFAULT_FIELDS);
    assert.deepEqual(parsed.rows.map((row) => [row.line, row.id]), [[1, 'f'], [2, 'g']]);
    assert.deepEqual(parsed.problems, []);
  });

  it('applyRowEditsToFile and the export edit the line the editor calls that line, keeping each terminator', async () => {
    const file = path.join(tempDir(), 'cr.jsonl');
    fs.writeFileSync(file, text);
    await applyRowEditsToFile(file, [{ line: 3, id: '3', field: 'human_label', value: 'World' }], DEFAULT_FIELDS);
    assert.equal(fs.readFileSync(file, 'utf8'), text.replace('"c"}', '"c","human_label":"World"}'));
    const mixed = '{"id":"1","text":"a"}\r{"id":"2","text":"b"}\r\n{"id":"3","text":"c"}';
    const exported = exportReviewedText(mixed, { fields: DEFAULT_FIELDS, predictionsByKey: null, runId: null, advice: null });
    assert.equal(exported.counts.rows, 3);
    assert.deepEqual(exported.text.split(/\r\n|\r/).map((line) => (JSON.parse(line) as { id: string }).id), ['1', '2', '3']);
    assert.equal(exported.text.match(/\r\n/g)?.length, 1);
  });
});

describe('deep nesting', () => {
  it(`a line nested 100,000 levels deep is reported with its line and left out; the other rows are read`, async () => {
    const text = ['{"id":"1","text":"a"}', deepRow(100_000), '{"id":"3","text":"c"}', `[${nested(100_000)}`].join('\n');
    const parsed = parseDatasetText(text, DEFAULT_FIELDS);
    assert.deepEqual(parsed.rows.map((row) => row.id), ['1', '3']);
    assert.deepEqual(parsed.problems.map((problem) => [problem.line, problem.code]), [[2, 'invalid-json'], [4, 'invalid-json']]);
    assert.match(parsed.problems[0].message, new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
    const file = path.join(tempDir(), 'deep.jsonl');
    fs.writeFileSync(file, text);
    assert.deepEqual((await readDatasetFile(file, DEFAULT_FIELDS)).rows.map((row) => row.id), ['1', '3']);
    const validator = new IncrementalDatasetValidator(DEFAULT_FIELDS);
    const lines = text.split('\n');
    assert.deepEqual(validator.validate(lines.length, (index) => lines[index]).map((problem) => problem.line), [2, 4]);
  });

  it('the limit is exact: MAX_JSON_DEPTH levels are a row whose fields can be set, one more is not a row', () => {
    const ok = deepRow(MAX_JSON_DEPTH);
    assert.equal(parseDatasetText(ok, DEFAULT_FIELDS).rows.length, 1);
    assert.match(setFieldInLine(ok, 'human_label', 'x'), /"human_label":"x"\}$/);
    assert.ok(fieldValueRange(ok, 'text'));
    const tooDeep = deepRow(MAX_JSON_DEPTH + 1);
    assert.equal(parseDatasetText(tooDeep, DEFAULT_FIELDS).rows.length, 0);
    for (const depth of [2_001, 2_500, 3_000]) assert.equal(parseDatasetText(deepRow(depth), DEFAULT_FIELDS).rows.length, 0);
    // Without an id and text the identity hashes the whole value: that must not overflow either.
    assert.throws(() => rowIdentity(JSON.parse(`{"a":${nested(100_000)}}`) as Record<string, unknown>, DEFAULT_FIELDS), /nested too deeply/);
  });

  it('peerkd predict reports the deep line with file:line instead of dying (it fails later only for want of a model)', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data.jsonl');
    // With a row beside it: a file with no row at all is refused before the model, whatever its lines.
    fs.writeFileSync(data, deepRow(100_000) + '\n{"id": "ok", "text": "a row"}\n');
    fs.mkdirSync(path.join(dir, 'model'));
    fs.writeFileSync(path.join(dir, 'model', 'model.json'), '{}');
    const out = new Capture();
    const err = new Capture();
    await createPredictCommand({ stdout: out, stderr: err }).run([path.join(dir, 'model'), data]);
    assert.match(err.text, new RegExp(`data\\.jsonl:1: Nesting is deeper than ${MAX_JSON_DEPTH} levels`));
    assert.doesNotMatch(err.text, /call stack/);
  });
});

describe('odd values are reported, never echoed raw', () => {
  it('a non-string teacher or human label is a counted problem with its line', () => {
    const parsed = parseDatasetText(
      ['{"id":"1","text":"a","teacher_label":3}', '{"id":"2","text":"b","human_label":{"x":1}}', '{"id":"3","text":"c","teacher_label":"ok"}'].join('\n'),
      DEFAULT_FIELDS,
    );
    assert.deepEqual(parsed.problems.map((problem) => [problem.line, problem.code]), [[1, 'label-not-string'], [2, 'label-not-string']]);
  });

  it('peerkd label does not write over a teacher field that holds a non-string value (only --relabel replaces it)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'data.jsonl');
    const original = [
      '{"id":"h1","text":"one","human_label":"World"}',
      '{"id":"h2","text":"two","human_label":"Sports"}',
      '{"id":"n","text":"three","teacher_label":3}',
      '{"id":"o","text":"four","teacher_label":{"model":"gpt-4","value":"World"}}',
      '{"id":"u","text":"five"}',
      '{"id":"e","text":"six","teacher_label":"","teacher_confidence":null}',
    ];
    fs.writeFileSync(file, original.join('\n') + '\n');
    await withFakeOpenAi(() => labelReply('Sports'), async (server) => {
      const io = labelIo();
      const code = await runLabelCommand([file, '--base-url', server.baseUrl, '--model', 'm', '--labels', 'World,Sports', '--few-shot', '0', '--cache-dir', path.join(dir, 'cache')], io);
      assert.equal(code, 0, io.stderr.text);
      assert.match(io.stdout.text, /Wrote 2 rows/);
    });
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    assert.deepEqual(lines.slice(0, 4), original.slice(0, 4), 'the non-string values are the user\'s data');
    assert.equal(lines[4], '{"id":"u","text":"five","teacher_label":"Sports"}');
    assert.equal(lines[5], '{"id":"e","text":"six","teacher_label":"Sports","teacher_confidence":null}', 'an empty label is no label');
  });

  it('a refused edit quotes the expected row id escaped (it comes from the data)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'data.jsonl');
    fs.writeFileSync(file, '{"id":"b","text":"x"}\nnot json\n');
    for (const line of [1, 2]) {
      await assert.rejects(
        applyRowEditsToFile(file, [{ line, id: 'a\nforged\u001b[2J', field: 'teacher_label', value: 'A' }], DEFAULT_FIELDS),
        (error: Error) => {
          // eslint-disable-next-line no-control-regex
          assert.doesNotMatch(error.message, /[\u0000-\u001f]/, error.message);
          assert.match(error.message, /expected the row with id 'a\\u000aforged\\u001b\[2J'/);
          return true;
        },
      );
    }
  });

  it('control characters from the data are escaped in messages', () => {
    const parsed = parseDatasetText(['{"id":"1","text":"a","teacher_label":"bad\\u0000\\u001b[31m"}', '{"id":"2"\u0000}'].join('\n'), DEFAULT_FIELDS, { labels: ['A', 'B'] });
    assert.equal(parsed.problems.length, 2);
    // eslint-disable-next-line no-control-regex
    for (const problem of parsed.problems) assert.doesNotMatch(problem.message, /[\u0000-\u001f]/, problem.message);
    assert.match(parsed.problems[0].message, /'bad\\u0000\\u001b\[31m'/);
    assert.match(parsed.problems[1].message, /character '\\u0000'/);
  });
});

describe('files: links, loops, read-only files, output = input', () => {
  it('a symbolic link loop is reported as such, naming the file', async () => {
    const dir = tempDir();
    const loop = path.join(dir, 'loop.jsonl');
    fs.symlinkSync(loop, loop);
    await assert.rejects(assertReadableFile(loop, 'loop.jsonl'), /^Error: loop\.jsonl: symbolic link loop/);
    await assert.rejects(writeFileAtomic(loop, 'x'), /loop\.jsonl: symbolic link loop/);
    const out = new Capture();
    const err = new Capture();
    const code = await createPredictCommand({ stdout: out, stderr: err }).run([dir, loop]);
    assert.equal(code, 1);
  });

  it('a symbolic link that leads nowhere is said as such, with where it leads (it was "file not found" for a name ls shows)', async () => {
    const dir = tempDir();
    const link = path.join(dir, 'link.jsonl');
    fs.symlinkSync('gone.jsonl', link);
    // Through a second link too: the path that is missing is the last one's.
    fs.symlinkSync(link, path.join(dir, 'link2.jsonl'));
    const says = `a symbolic link to ${path.join(dir, 'gone.jsonl')}, which does not exist`;
    await assert.rejects(assertReadableFile(link, 'link.jsonl'), { message: `link.jsonl: ${says}`, code: 'ENOENT' });
    await assert.rejects(assertReadableFile(path.join(dir, 'link2.jsonl'), 'link2.jsonl'), { message: `link2.jsonl: ${says}` });
    // A link into a folder that is gone; a plain missing file stays "file not found".
    fs.symlinkSync(path.join(dir, 'no-folder', 'data.jsonl'), path.join(dir, 'into-gone.jsonl'));
    await assert.rejects(assertReadableFile(path.join(dir, 'into-gone.jsonl'), 'into-gone.jsonl'), { message: `into-gone.jsonl: a symbolic link to ${path.join(dir, 'no-folder', 'data.jsonl')}, which does not exist` });
    await assert.rejects(assertReadableFile(path.join(dir, 'none.jsonl'), 'none.jsonl'), { message: 'none.jsonl: file not found' });
    // The commands that take a dataset path say it.
    for (const [name, run] of [
      ['distill', (io: ReturnType<typeof captureIo>) => createDistillCommand(io).run([link])],
      ['export', (io: ReturnType<typeof captureIo>) => createExportCommand(io).run([link, '--teacher-labels'])],
      ['label', (io: ReturnType<typeof captureIo>) => createLabelCommand({ ...io, env: {} }).run([link, '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--labels', 'A,B'])],
    ] as const) {
      const io = captureIo();
      assert.equal(await run(io), 1, name);
      assert.equal(io.err(), `peerkd ${name}: ${link}: ${says}\n`, name);
    }
  });

  it('writeFileAtomic into a missing or unwritable folder names the output, not its temporary file', async () => {
    const dir = tempDir();
    const missing = path.join(dir, 'no-such-folder', 'out.jsonl');
    await assert.rejects(writeFileAtomic(missing, 'x\n'), (error: Error) => {
      assert.equal(error.message, `${missing}: the folder ${path.dirname(missing)} does not exist`);
      return true;
    });
    if (process.getuid?.() !== 0 && process.platform !== 'win32') {
      const locked = path.join(dir, 'locked');
      fs.mkdirSync(locked, 0o555);
      await assert.rejects(writeFileAtomic(path.join(locked, 'out.jsonl'), 'x\n'), /locked[\\/]out\.jsonl: permission denied$/);
    }
  });

  it('writeFileAtomic exclusive leaves a file that appeared while it wrote (a second export at once), and no temporary file', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'copy.jsonl');
    // Written between the check that found no file and the final step: rename would have replaced it.
    const write = async (chunk: (data: Uint8Array) => Promise<void>) => {
      fs.writeFileSync(out, 'the other export\n');
      await chunk(Buffer.from('this export\n'));
    };
    await assert.rejects(writeFileAtomic(out, write, { exclusive: true }), (error: Error) => {
      assert.ok(error instanceof OutputAppearedError);
      assert.equal(error.message, `${out} exists, so it is not replaced`);
      return true;
    });
    assert.equal(fs.readFileSync(out, 'utf8'), 'the other export\n');
    assert.deepEqual(fs.readdirSync(dir), ['copy.jsonl']);
    // With no file there it writes, leaving only the copy (one link, the temporary name removed).
    const fresh = path.join(dir, 'fresh.jsonl');
    await writeFileAtomic(fresh, 'this export\n', { exclusive: true });
    assert.equal(fs.readFileSync(fresh, 'utf8'), 'this export\n');
    assert.equal(fs.statSync(fresh).nlink, 1);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['copy.jsonl', 'fresh.jsonl']);
    // Without it the file is replaced, as callers that replace on purpose want.
    await writeFileAtomic(out, write);
    assert.equal(fs.readFileSync(out, 'utf8'), 'this export\n');
  });

  it("writeFileAtomic removes the temporary files a killed write of the same file left, never a live process's or anything else", async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data.jsonl');
    fs.writeFileSync(data, 'old\n');
    // A process that has exited: its id names no process now.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const kept = [
      'data.jsonl',
      `.data.jsonl.${process.pid}.0123456789ab.tmp`, // a write of this process at work
      `.data.jsonl.${process.ppid}.0123456789ab.tmp`, // a live process's (a concurrent writer)
      `.data.jsonl.${gone}.0123456789ab.tmp.bak`, // not the pattern
      `.data.jsonl.${gone}.0123456789AB.tmp`,
      `.data.jsonl.${gone}.tmp`,
      `data.jsonl.${gone}.0123456789ab.tmp`,
      `.other.jsonl.${gone}.0123456789ab.tmp`, // another file's
      `.dataXjsonl.${gone}.0123456789ab.tmp`, // the dot is not a wildcard
    ];
    const leftover = `.data.jsonl.${gone}.fedcba987654.tmp`;
    // Written in the last ten minutes: maybe another machine's write at work in a shared folder (its pid is not ours).
    const recent = `.data.jsonl.${gone}.abcdef012345.tmp`;
    kept.push(recent);
    const hourAgo = new Date(Date.now() - 60 * 60 * 1000);
    for (const name of [...kept.slice(1), leftover]) {
      fs.writeFileSync(path.join(dir, name), 'a copy of the data\n');
      if (name !== recent) fs.utimesSync(path.join(dir, name), hourAgo, hourAgo);
    }
    fs.mkdirSync(path.join(dir, `.data.jsonl.${gone}.aaaaaaaaaaaa.tmp`));
    kept.push(`.data.jsonl.${gone}.aaaaaaaaaaaa.tmp`); // a folder is nobody's temporary file
    await writeFileAtomic(data, 'new\n');
    assert.equal(fs.readFileSync(data, 'utf8'), 'new\n');
    assert.deepEqual(fs.readdirSync(dir).sort(), kept.sort());
  });

  it("writeFileAtomic lists a file's folder for dead writers' temporaries once per process, not at every write of it", async (t) => {
    const dir = tempDir();
    const pointer = path.join(dir, 'latest');
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const hourAgo = new Date(Date.now() - 60 * 60 * 1000);
    const leftover = (name: string) => {
      const file = path.join(dir, `.${name}.${gone}.0123456789ab.tmp`);
      fs.writeFileSync(file, 'a copy of the data\n');
      fs.utimesSync(file, hourAgo, hourAgo);
      return path.basename(file);
    };
    leftover('latest');
    const readdir = t.mock.method(fs.promises, 'readdir');
    const listings = () => readdir.mock.calls.filter((call) => call.arguments[0] === dir).length;
    await writeFileAtomic(pointer, 'run-1\n');
    assert.equal(listings(), 1, 'the first write sweeps');
    assert.deepEqual(fs.readdirSync(dir), ['latest'], "the dead writer's temporary is removed");
    // A pointer written again and again (every run, every settings change): the folder is not listed again.
    await writeFileAtomic(pointer, 'run-2\n');
    await writeFileAtomic(pointer, 'run-3\n');
    assert.equal(listings(), 1, 'later writes of the same file do not list its folder');
    assert.equal(fs.readFileSync(pointer, 'utf8'), 'run-3\n');
    // Another file of the same folder is swept at its own first write: its leftovers are still removed.
    const other = leftover('settings.json');
    assert.ok(fs.readdirSync(dir).includes(other));
    await writeFileAtomic(path.join(dir, 'settings.json'), '{}\n');
    assert.equal(listings(), 2);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['latest', 'settings.json']);
    // A dead writer's temporary too recent to remove (maybe another machine's write at work): the next write looks again.
    const recent = path.join(dir, `.notes.json.${gone}.abcdef012345.tmp`);
    fs.writeFileSync(recent, 'recent\n');
    await writeFileAtomic(path.join(dir, 'notes.json'), '1\n');
    await writeFileAtomic(path.join(dir, 'notes.json'), '2\n');
    assert.equal(listings(), 4, 'a sweep that left a recent temporary sweeps again');
    assert.ok(fs.existsSync(recent));
  });

  it('writeFileAtomic writes through a symbolic link (the link stays), keeps mode and owner, refuses a read-only file', async () => {
    const dir = tempDir();
    const real = path.join(dir, 'sub', 'real.jsonl');
    fs.mkdirSync(path.dirname(real));
    fs.writeFileSync(real, 'old\n');
    fs.chmodSync(real, 0o640);
    const link = path.join(dir, 'link.jsonl');
    fs.symlinkSync(path.join('sub', 'real.jsonl'), link);
    await writeFileAtomic(link, 'new\n');
    assert.ok(fs.lstatSync(link).isSymbolicLink());
    assert.equal(fs.readFileSync(real, 'utf8'), 'new\n');
    assert.equal(fs.statSync(real).mode & 0o777, 0o640);
    assert.deepEqual(fs.readdirSync(path.dirname(real)), ['real.jsonl']);
    if (process.getuid?.() === 0) {
      fs.chownSync(real, 1234, 2345);
      await writeFileAtomic(link, 'newer\n');
      assert.deepEqual([fs.statSync(real).uid, fs.statSync(real).gid], [1234, 2345]);
    }
    fs.chmodSync(real, 0o444);
    await assert.rejects(writeFileAtomic(link, 'lost\n'), /link\.jsonl: the file is read-only/);
    assert.notEqual(fs.readFileSync(real, 'utf8'), 'lost\n');
    assert.equal(fs.statSync(real).mode & 0o777, 0o444);
  });

  it("writeFileAtomic through a link '../x' inside a linked folder writes the file the system reads there, not the one beside the link's name", async () => {
    // dir/sub is a link to dir/elsewhere/inner, whose out.jsonl links to '../other.jsonl': the system reads
    // dir/elsewhere/other.jsonl there. The link was resolved by its name's folder (dir/sub/../other.jsonl =
    // dir/other.jsonl), so an output that assertNotSameFile rightly found to be no dataset replaced the dataset dir/other.jsonl.
    const dir = tempDir();
    const dataset = path.join(dir, 'other.jsonl');
    fs.writeFileSync(dataset, '{"text":"the dataset"}\n');
    fs.mkdirSync(path.join(dir, 'elsewhere', 'inner'), { recursive: true });
    const landing = path.join(dir, 'elsewhere', 'other.jsonl');
    fs.writeFileSync(landing, 'old copy\n');
    fs.symlinkSync(path.join(dir, 'elsewhere', 'inner'), path.join(dir, 'sub'));
    fs.symlinkSync(path.join('..', 'other.jsonl'), path.join(dir, 'elsewhere', 'inner', 'out.jsonl'));
    const output = path.join(dir, 'sub', 'out.jsonl');
    assert.equal(fs.readFileSync(output, 'utf8'), 'old copy\n');
    await assertNotSameFile(dataset, output);
    await writeFileAtomic(output, 'new copy\n');
    assert.equal(fs.readFileSync(dataset, 'utf8'), '{"text":"the dataset"}\n');
    assert.equal(fs.readFileSync(landing, 'utf8'), 'new copy\n');
    assert.ok(fs.lstatSync(path.join(dir, 'elsewhere', 'inner', 'out.jsonl')).isSymbolicLink());
  });

  it('peerkd label in place on a symbolic link labels the real file and keeps the link; a read-only file is refused before any request', async () => {
    const dir = tempDir();
    const real = path.join(dir, 'real.jsonl');
    fs.writeFileSync(real, '{"id":"h1","text":"one","human_label":"World"}\n{"id":"h2","text":"two","human_label":"Sports"}\n{"id":"u","text":"three"}\n');
    const link = path.join(dir, 'link.jsonl');
    fs.symlinkSync('real.jsonl', link);
    await withFakeOpenAi(() => labelReply('Sports'), async (server) => {
      const args = ['--base-url', server.baseUrl, '--model', 'm', '--labels', 'World,Sports', '--few-shot', '0', '--cache-dir', path.join(dir, 'cache')];
      const io = labelIo();
      assert.equal(await runLabelCommand([link, ...args], io), 0, io.stderr.text);
      assert.ok(fs.lstatSync(link).isSymbolicLink());
      assert.match(fs.readFileSync(real, 'utf8'), /"id":"u","text":"three","teacher_label":"Sports"/);
      fs.chmodSync(real, 0o444);
      const before = server.chatRequests().length;
      await assert.rejects(runLabelCommand([link, ...args, '--relabel'], labelIo()), /link\.jsonl: the file is read-only/);
      assert.equal(server.chatRequests().length, before);
    });
  });

  it('assertNotSameFile sees the same file through a link, `..`, a hard link; a new or other file is fine', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data.jsonl');
    fs.writeFileSync(data, '{}\n');
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.symlinkSync(data, path.join(dir, 'alias.jsonl'));
    fs.linkSync(data, path.join(dir, 'hard.jsonl'));
    for (const output of ['alias.jsonl', 'sub/../data.jsonl', 'hard.jsonl', 'data.jsonl']) {
      await assert.rejects(assertNotSameFile(data, path.join(dir, output)), /is the input file/, output);
    }
    await assertNotSameFile(data, path.join(dir, 'new.jsonl'));
    fs.writeFileSync(path.join(dir, 'other.jsonl'), '{}\n');
    await assertNotSameFile(data, path.join(dir, 'other.jsonl'));
  });

  it('peerkd predict --out DATA and peerkd label --out through a link refuse, exit 1, and leave the dataset as it was', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data.jsonl');
    const content = '{"id":"1","text":"a","teacher_label":"World"}\n';
    fs.writeFileSync(data, content);
    fs.symlinkSync(data, path.join(dir, 'alias.jsonl'));
    fs.mkdirSync(path.join(dir, 'model'));
    fs.writeFileSync(path.join(dir, 'model', 'model.json'), '{}');
    for (const out of [data, path.join(dir, 'alias.jsonl'), path.join(dir, 'model', '..', 'data.jsonl')]) {
      const err = new Capture();
      const code = await createPredictCommand({ stdout: new Capture(), stderr: err }).run([path.join(dir, 'model'), data, '--out', out]);
      assert.equal(code, 1);
      assert.match(err.text, /is the input file/);
    }
    await assert.rejects(
      runLabelCommand([data, '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--out', path.join(dir, 'alias.jsonl')], labelIo()),
      /alias\.jsonl is the input file/,
    );
    assert.equal(fs.readFileSync(data, 'utf8'), content);
    assert.ok(fs.lstatSync(path.join(dir, 'alias.jsonl')).isSymbolicLink());
  });
});

it('isWithinFolder: the folder itself and what lies below it, by path; a sibling whose name starts with two dots is inside, the parent and its other folders are not', () => {
  const root = path.resolve('/data/project');
  assert.equal(isWithinFolder(root, root), true);
  assert.equal(isWithinFolder(path.join(root, 'a', 'b.jsonl'), root), true);
  assert.equal(isWithinFolder(path.join(root, '..data.jsonl'), root), true);
  assert.equal(isWithinFolder(path.join(root, 'x', '..', '..', 'other', 'a.jsonl'), root), false);
  assert.equal(isWithinFolder(path.resolve('/data'), root), false);
  assert.equal(isWithinFolder(path.resolve('/data/project-2/a.jsonl'), root), false);
});
