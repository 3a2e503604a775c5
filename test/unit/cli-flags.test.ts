/**
 * The four commands' flags as a hostile or careless user writes them: each command's --help names exactly the flags
 * its parser accepts (one table per command, read by both), and the exit codes; a flag given twice, an empty path,
 * a number in another notation ('', '0x2', '1e4'), a flag of another command are usage errors (exit 2) said before
 * any file is read; a file that cannot be used is exit 1, a command named in the message; SIGTERM during a run cancels
 * it as Ctrl-C does, with exit code 143 and nothing half-written.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_HELP, BENCH_OPTIONS, createBenchCommand } from '../../src/cli/bench';
import { EXIT_CODES_HELP } from '../../src/cli/command';
import { createDistillCommand, DISTILL_HELP, DISTILL_OPTIONS } from '../../src/cli/distill';
import { createLabelCommand, LABEL_HELP, LABEL_OPTIONS } from '../../src/cli/label';
import { createPredictCommand, PREDICT_HELP, PREDICT_OPTIONS } from '../../src/cli/predict';
import { createExportCommand, EXPORT_HELP, EXPORT_OPTIONS } from '../../src/cli/export';
import { MOVE_HELP, MOVE_OPTIONS } from '../../src/cli/move';
import { captureIo } from '../support/captureIo';
import { embeddingsHandler, startFakeOpenAi, type FakeOpenAiServer } from '../support/fakeOpenAiServer';
import { repoRoot, runCli as runCliProcess, tempFolder } from '../fixtures/training/build';

/** A command run in this process, as main.ts runs it: its exit code and what it wrote. */
async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo();
  const [name, ...rest] = argv;
  const command = name === 'label' ? createLabelCommand({ ...io, env: {} }) : name === 'bench' ? createBenchCommand(io) : name === 'predict' ? createPredictCommand(io) : name === 'export' ? createExportCommand(io) : createDistillCommand(io);
  const code = await command.run(rest);
  return { code, stdout: io.out(), stderr: io.err() };
}

let folder: string;
let benchDir: string;
let dataset: string;

before(async () => {
  folder = await tempFolder('cli-flags');
  dataset = join(folder, 'agnews-200.jsonl');
  await copyFile(join(repoRoot, 'test/fixtures/training/agnews-200.jsonl'), dataset);
  // A bench data folder small enough that a bench the old code let through ends in a few seconds.
  benchDir = join(folder, 'bench');
  await mkdir(benchDir);
  const row = (k: number) => {
    const label = ['Sports', 'World'][k % 2];
    return JSON.stringify({ text: `${label === 'Sports' ? 'match' : 'summit'} ${k} ends`, teacher_label: k % 7 === 0 ? 'Sports' : label, gold_label: label });
  };
  await writeFile(join(benchDir, 'train.jsonl'), Array.from({ length: 40 }, (_, k) => row(k)).join('\n') + '\n');
  await writeFile(join(benchDir, 'test.jsonl'), Array.from({ length: 10 }, (_, k) => row(100 + k)).join('\n') + '\n');
});

after(async () => {
  await rm(folder, { recursive: true, force: true });
});

const COMMANDS = [
  ['label', LABEL_HELP, LABEL_OPTIONS],
  ['distill', DISTILL_HELP, DISTILL_OPTIONS],
  ['predict', PREDICT_HELP, PREDICT_OPTIONS],
  ['export', EXPORT_HELP, EXPORT_OPTIONS],
  ['move', MOVE_HELP, MOVE_OPTIONS],
  ['bench', BENCH_HELP, BENCH_OPTIONS],
] as const;

test('every command\'s --help names exactly the flags its parser accepts, and the exit codes', () => {
  for (const [name, help, options] of COMMANDS) {
    // `--flag` where it is written, as a flag (not inside a word such as `peerkd.training.outputDir`, nor another
    // command's flag named with its command: `peerkd distill --out` in move's help).
    const named = new Set([...help.matchAll(/(?<![\w-]|peerkd [a-z]+ )--([a-z][a-z0-9-]*(?:\.[a-zA-Z]+)?)/g)].map((match) => match[1]));
    const accepted = Object.keys(options);
    assert.deepEqual(accepted.filter((flag) => !named.has(flag)), [], `${name}: flags the parser accepts that --help does not name`);
    assert.deepEqual([...named].filter((flag) => !accepted.includes(flag)), [], `${name}: flags --help names that the parser refuses`);
    for (const [flag, option] of Object.entries(options)) {
      const short = (option as { short?: string }).short;
      if (short) assert.ok(help.includes(`-${short}, --${flag}`), `${name}: -${short} is named in --help`);
    }
    assert.ok(help.includes(EXIT_CODES_HELP), `${name}: --help says the exit codes`);
    // The usage line shows that options follow (move's read `peerkd move OLD NEW`, as if it took none).
    const usage = help.split('\n')[0];
    const flags = accepted.filter((flag) => flag !== 'help');
    assert.ok(flags.length === 0 || usage.includes('[options]') || flags.every((flag) => usage.includes(`--${flag}`)), `${name}: its usage line shows its options: ${usage}`);
  }
});

test('distill and predict: a flag given twice, an empty path, a flag of another command are usage errors before any file is read', async () => {
  const missing = join(folder, 'no-such.jsonl');
  const cases: [string[], RegExp][] = [
    // The second value used to win silently: seed 2 was run where the user read seed 1 in their history.
    [['distill', missing, '--seed', '1', '--seed', '2'], /^peerkd distill: --seed is given twice \('1' and '2'\): give it once$/m],
    // An empty --out was the current folder: a runs folder where nobody asked for one.
    [['distill', dataset, '--out', ''], /^peerkd distill: --out is empty: give a path$/m],
    [['distill', ''], /^peerkd distill: DATA\.jsonl is empty: give a path$/m],
    // A malformed flag was reported as the missing file (exit 1): the flag is said first.
    [['distill', missing, '--folds', '0x2'], /^peerkd distill: --folds must be an integer ≥ 2, got '0x2'$/m],
    [['distill', missing, '--memory', '1e4'], /^peerkd distill: --memory must be an integer from 256 to 1048576, got '1e4'$/m],
    // Any stage count was taken: --stages 100000 trained peers for days.
    [['distill', missing, '--stages', '100000'], /^peerkd distill: --stages must be an integer from 1 to 10, got '100000'$/m],
    // A human field that is the teacher's read every teacher label as a human one: "0 rows flagged", nothing judged.
    [['distill', dataset, '--fields.human', 'teacher_label'], /^peerkd distill: the human label field 'teacher_label' is also the teacher field \(--fields\.teacher\), so a label written there would overwrite it; set --fields\.human to a field of its own$/m],
    [['distill', dataset, '--fields.human', 'meta', '--fields.text', 'meta.text'], /^peerkd distill: the human label field 'meta' holds the text field 'meta\.text' \(--fields\.text\)/m],
    [['distill', missing, '--human', '3'], /^peerkd distill: unknown option '--human'$/m],
    // Unbounded where --concurrency and peerkd.teacher.maxConcurrency (the editor's endpoint encoder) stop at 256.
    [['distill', missing, '--encoder-concurrency', '257'], /^peerkd distill: --encoder-concurrency must be an integer from 1 to 256, got '257'$/m],
    [['predict', missing, missing, '--encoder-concurrency', '1000000000'], /^peerkd predict: --encoder-concurrency must be an integer from 1 to 256, got '1000000000'$/m],
    [['predict', missing, missing, '--out', 'a.jsonl', '--out', 'b.jsonl'], /^peerkd predict: --out is given twice \('a\.jsonl' and 'b\.jsonl'\): give it once$/m],
    // A field path with an empty segment failed in the worker after the run had started (exit 1).
    [['distill', dataset, '--fields.text', 'a..b'], /^peerkd distill: --fields\.text: Invalid field path 'a\.\.b': empty segment \(a dotted path such as meta\.text\)$/m],
    [['predict', missing, missing, '--fields.id', '.'], /^peerkd predict: --fields\.id: Invalid field path '\.': empty segment/m],
    // predict reads the text and the id only: the other --fields.* of distill were accepted and did nothing.
    [['predict', missing, missing, '--fields.human', 'gold'], /^peerkd predict: unknown option '--fields\.human'$/m],
  ];
  for (const [argv, message] of cases) {
    const { code, stderr } = await runCli(argv);
    assert.equal(code, 2, `${argv.join(' ')}: ${stderr}`);
    assert.match(stderr, message, argv.join(' '));
    assert.match(stderr, new RegExp(`\\n\\nUsage: peerkd ${argv[0]} `), 'the help follows');
  }
  // --out is the runs folder: the dataset named there was a failed mkdir inside the worker.
  const onFile = await runCli(['distill', dataset, '--out', dataset]);
  assert.equal(onFile.code, 1, onFile.stderr);
  assert.equal(onFile.stderr, `peerkd distill: --out ${dataset}: a file, not a folder; --out names the folder the runs are written into (default .peerkd/runs next to the dataset)\n`);
  // A JSON Lines file named otherwise (.txt, .json): refused as export refuses it (the editor could not review the run),
  // with the name to give it; before anything is read.
  for (const name of ['rows.txt', 'rows.json']) {
    const other = join(folder, name);
    await writeFile(other, await readFile(dataset));
    const named = await runCli(['distill', other]);
    assert.equal(named.code, 1, named.stderr);
    assert.equal(named.stderr, `peerkd distill: ${other}: not a JSON Lines dataset (.jsonl or .ndjson), the files the editor reviews runs of: rename it (peerkd move ${other} ${join(folder, 'rows.jsonl')}, which carries any runs made of it)\n`);
  }
  // --help answers, whatever else the line holds.
  const help = await runCli(['distill', '--seed', '1', '--seed', '2', '--out', '', '--help']);
  assert.equal(help.code, 0);
  assert.equal(help.stdout, DISTILL_HELP + '\n');
  // Node's own multi-line parse messages are lines, not one line with \n written out.
  const negative = await runCli(['distill', dataset, '--seed', '-1']);
  assert.equal(negative.code, 2);
  assert.doesNotMatch(negative.stderr, /\\n/, negative.stderr);
  assert.equal(await readdir(folder).then((names) => names.includes('.peerkd')), false, 'no run was started');
});

test('a path that starts with \'-\' is named whole in the usage error, with the two ways to give it, by every command', async () => {
  // Node named the first letter only ("Unknown option '-d'") and suggested `-- "-d"`, a file the user never named.
  const cases: [string[], string][] = [
    [['distill', '-dash.jsonl'], 'peerkd distill: unknown option \'-d\' (in \'-dash.jsonl\'): a path that starts with \'-\' goes after -- (-- -dash.jsonl) or as ./-dash.jsonl'],
    [['predict', 'run', '-my rows.jsonl'], 'peerkd predict: unknown option \'-m\' (in \'-my rows.jsonl\'): a path that starts with \'-\' goes after -- (-- "-my rows.jsonl") or as "./-my rows.jsonl"'],
    [['export', '--teacher-labels', '-h.jsonl'], 'peerkd export: unknown option \'-.\' (in \'-h.jsonl\'): a path that starts with \'-\' goes after -- (-- -h.jsonl) or as ./-h.jsonl'],
    [['label', '--model', 'm', '-rows.jsonl'], 'peerkd label: unknown option \'-r\' (in \'-rows.jsonl\'): a path that starts with \'-\' goes after -- (-- -rows.jsonl) or as ./-rows.jsonl'],
    // A flag's value is no option, however it is spelt; the unknown flag after it is the one named.
    [['distill', '--seed', '1', '--sede', '2', 'a.jsonl'], 'peerkd distill: unknown option \'--sede\''],
  ];
  for (const [argv, message] of cases) {
    const { code, stderr } = await runCli(argv);
    assert.equal(code, 2, `${argv.join(' ')}: ${stderr}`);
    assert.equal(stderr.split('\n')[0], message, argv.join(' '));
    assert.match(stderr, new RegExp(`\\n\\nUsage: peerkd ${argv[0]} `), 'the help follows');
  }
  // A file of that name there: a long "option" is a path too.
  await writeFile(join(folder, '--rows.jsonl'), '');
  const cwd = process.cwd();
  process.chdir(folder);
  try {
    const { code, stderr } = await runCli(['distill', '--rows.jsonl']);
    assert.equal(code, 2, stderr);
    assert.equal(stderr.split('\n')[0], 'peerkd distill: unknown option \'--rows.jsonl\': a path that starts with \'-\' goes after -- (-- --rows.jsonl) or as ./--rows.jsonl');
  } finally {
    process.chdir(cwd);
  }
  assert.equal(await readdir(folder).then((names) => names.includes('.peerkd')), false, 'no run was started');
});

test('peerkd label: errors name the command, a malformed flag is exit 2 before the file is read, a bad --out before any request', async () => {
  const base = ['--base-url', 'http://127.0.0.1:9/v1', '--model', 'm'];
  const missing = join(folder, 'no-such.jsonl');
  const run = await runCli(['label', missing, ...base]);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stderr, `peerkd label: ${missing}: file not found\n`, 'one line naming the command, as distill, predict and bench do');
  const usage: [string[], RegExp][] = [
    // Number() read '' as 0, '0x2' as 2 and '1e4' as 10000: each ran with a value nobody wrote.
    [['--max-retries', ''], /--max-retries must be an integer from 0 to 20, got ''/],
    // Any count was taken: a row that can never succeed retried for as long as the run was left open.
    [['--max-retries', '1000000000'], /--max-retries must be an integer from 0 to 20, got '1000000000'/],
    [['--few-shot', ' '], /--few-shot must be an integer from 0 to 64, got ' '/],
    [['--concurrency', '0x2'], /--concurrency must be an integer from 1 to 256, got '0x2'/],
    [['--timeout-ms', '1e4'], /--timeout-ms must be an integer from 1000 to 2147483647, got '1e4'/],
    [['--temperature', ''], /--temperature must be a number from 0 to 2, got ''/],
    // The setting's maximum (OpenAI refuses more with HTTP 400): 2.5 was sent with every request and failed each one.
    [['--temperature', '2.5'], /--temperature must be a number from 0 to 2, got '2\.5'/],
    [['--model', 'other'], /--model is given twice \('m' and 'other'\): give it once/],
    [['--cache-dir', ''], /--cache-dir is empty: give a path/],
    // A blank model or instruction was sent as it was; a field path with an empty segment failed as a plain error.
    [['--prompt-template', ' '], /--prompt-template is blank: give the instruction/],
    [['--text-field', 'a..b'], /--text-field: Invalid field path 'a\.\.b': empty segment/],
  ];
  for (const [flags, message] of usage) {
    const result = await runCli(['label', missing, ...base, ...flags]);
    assert.equal(result.code, 2, `${flags.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`^peerkd label: ${message.source}`), result.stderr);
  }
  const blankModel = await runCli(['label', missing, '--base-url', 'http://127.0.0.1:9/v1', '--model', ' ']);
  assert.equal(blankModel.code, 2, blankModel.stderr);
  assert.match(blankModel.stderr, /^peerkd label: --model is required/);
  // A base URL that is no URL is a usage error too, as --encoder-base-url is.
  const url = await runCli(['label', dataset, '--base-url', 'ftp://x', '--model', 'm']);
  assert.equal(url.code, 2, url.stderr);
  // --out in a folder that does not exist: said before the estimate and any request, not after the answers are paid.
  const unlabelled = join(folder, 'unlabelled.jsonl');
  await writeFile(unlabelled, '{"text":"a match ends"}\n{"text":"a summit ends"}\n');
  const out = await runCli(['label', unlabelled, ...base, '--labels', 'Sports,World', '--max-retries', '0', '--out', join(folder, 'gone', 'out.jsonl')]);
  assert.equal(out.code, 1, out.stderr);
  assert.match(out.stderr, /^peerkd label: .*gone[/\\]out\.jsonl: the folder .*gone does not exist$/m);
  assert.doesNotMatch(out.stderr, /need a teacher label/, 'refused before the run started');
  // --out naming a folder was 'exists, so it is not replaced: … run peerkd label on it itself … or add --force'.
  const onFolder = await runCli(['label', unlabelled, ...base, '--out', folder]);
  assert.equal(onFolder.code, 1, onFolder.stderr);
  assert.equal(onFolder.stderr, `peerkd label: ${folder}: a folder, not a file; give the path of the file to write\n`);
});

test('peerkd bench: seeds, settings and numbers are checked strictly, before the data is read', async () => {
  const base = ['bench', benchDir, '--main-only', '--encoder', 'none', '--human', '5'];
  const cases: [string[], RegExp][] = [
    // A repeated seed counted twice in every mean; '' and ' ' were seed 0; '0x1' seed 1.
    [['--seeds', '4,4'], /--seeds lists seed 4 twice, got '4,4': each seed once/],
    [['--seeds', ''], /--seeds must be an integer ≥ 0, got ''/],
    [['--seeds', '0,,1'], /--seeds must be an integer ≥ 0, got ''/],
    [['--seeds', '0x1'], /--seeds must be an integer ≥ 0, got '0x1'/],
    [['--seeds', '0..4'], /--seeds must be an integer ≥ 0, got '0\.\.4'/],
    [['--seeds', '0', '--seeds', '1'], /--seeds is given twice \('0' and '1'\): give it once/],
    [['--seeds', '0', '--limit', '1e9'], /--limit must be an integer ≥ 10, got '1e9'/],
    [['--seeds', '0', '--test-limit', ''], /--test-limit must be an integer ≥ 1, got ''/],
    [['--seeds', '0', '--stages', '11'], /--stages must be an integer from 1 to 10, got '11'/],
    // Two tables of the same setting; --teacher-accuracy silently dropped next to --settings; '0x1' read as 1.
    [['--seeds', '0', '--settings', 'data,data'], /--settings lists 'data' twice: each setting once/],
    [['--seeds', '0', '--settings', 'data', '--teacher-accuracy', '0.9'], /--teacher-accuracy 0\.9 is the same as --settings hardest:0\.9: give one of them/],
    [['--seeds', '0', '--settings', 'hardest:0x1'], /--settings: 'hardest:0x1' is not data, hardest:A, llm:A or confuse:A with A in \(0, 1\]/],
    [['--seeds', '0', '--label-smoothing', '0x0'], /--label-smoothing must be a number in \[0, 1\), got '0x0'/],
    // An unknown backend was handed to the engine as it was.
    [['--seeds', '0', '--backend', 'gpu'], /--backend must be one of auto, tensorflow-gpu, tensorflow, wasm, cpu, got 'gpu'/],
    [['--seeds', '0', '--json', ''], /--json is empty: give a path/],
  ];
  for (const [flags, message] of cases) {
    const { code, stderr } = await runCli([...base, ...flags]);
    assert.equal(code, 2, `${flags.join(' ')}: ${stderr}`);
    assert.match(stderr, new RegExp(`^peerkd bench: ${message.source}`), stderr);
    assert.doesNotMatch(stderr, /bench data:/, `${flags.join(' ')}: refused before the first setting ran`);
  }
  // Before the data is read, as the README says: these were checked after train.jsonl was loaded, so a folder without
  // it (or a row without gold_label) was exit 1 and the typo in the flag went unsaid.
  const noData = join(folder, 'no-such-bench-dir');
  const early: [string[], RegExp][] = [
    [['--label-smoothing', '1'], /--label-smoothing must be a number in \[0, 1\), got '1'/],
    [['--final-weighting=-1'], /--final-weighting must be a finite number ≥ 0, got '-1'/],
    [['--encoder-keep', 'sometimes'], /--encoder-keep must be if-better or always, got 'sometimes'/],
    [['--encoder', 'glov'], /--encoder must be one of /],
    [['--encoder-concurrency', '0'], /--encoder-concurrency must be an integer from 1 to 256, got '0'/],
  ];
  for (const [flags, message] of early) {
    const { code, stderr } = await runCli(['bench', noData, '--seeds', '0', ...flags]);
    assert.equal(code, 2, `${flags.join(' ')}: ${stderr}`);
    assert.match(stderr, new RegExp(`^peerkd bench: ${message.source}`), stderr);
  }
});

test('peerkd bench: --json and --docs are checked before the first seed, never replace an input or a file of the user\'s, and are written whole', async () => {
  const base = ['bench', benchDir, '--main-only', '--encoder', 'none', '--human', '5', '--seeds', '0'];
  const train = join(benchDir, 'train.jsonl');
  const before = await readFile(train);
  await writeFile(join(folder, 'notes.json'), '{"mine": true}\n');
  await symlink(train, join(folder, 'train-link.json'));
  await writeFile(join(folder, 'plain.md'), '# no markers here\n');
  const cases: [string[], RegExp][] = [
    // --json train.jsonl (for train.json) wrote the figures over the dataset, after the whole bench.
    [['--json', train], /--json .*train\.jsonl is the input file .*train\.jsonl: refusing to write over the input/],
    [['--json', join(folder, 'train-link.json')], /--json .*train-link\.json is the input file .*train\.jsonl: refusing to write over the input/],
    [['--docs', join(folder, 'train-link.json')], /--docs .*train-link\.json is the input file .*train\.jsonl: refusing to write over the input/],
    [['--json', join(folder, 'notes.json')], /--json .*notes\.json exists and is not an output of peerkd bench --json, so it is not replaced/],
    [['--json', benchDir], /--json .*bench: a folder, not a file; give the path of the file to write$/m],
    [['--json', join(train, 'x.json')], /--json .*: .*train\.jsonl is not a folder/],
    [['--json', join(benchDir, '.peerkd', 'figures.json')], /--json .*figures\.json: inside PeerKD's own \.peerkd folder/],
    // --docs without the markers (or missing) failed only after every seed had run.
    [['--docs', join(folder, 'plain.md')], /--docs .*plain\.md has no <!-- bench:start --> … <!-- bench:end --> block/],
    [['--docs', join(folder, 'missing.md')], /--docs .*missing\.md: file not found/],
  ];
  for (const [flags, message] of cases) {
    const { code, stderr } = await runCli([...base, ...flags]);
    assert.equal(code, 1, `${flags.join(' ')}: ${stderr}`);
    assert.match(stderr, new RegExp(`^peerkd bench: ${message.source}`, 'm'), stderr);
    assert.doesNotMatch(stderr, /bench data:/, `${flags.join(' ')}: refused before the first setting ran`);
  }
  assert.deepEqual(await readFile(train), before, 'the dataset is as it was');
  // DATA_DIR named as its train file, and a data folder without gold labels (one to review): each said as such.
  const asFile = await runCli([...base.slice(0, 1), train, ...base.slice(2)]);
  assert.equal(asFile.stderr, `peerkd bench: ${train}: a file, not a folder; DATA_DIR is the folder holding train.jsonl and test.jsonl\n`);
  const noGold = join(folder, 'no-gold');
  await mkdir(noGold);
  await writeFile(join(noGold, 'train.jsonl'), '{"text":"a match ends","teacher_label":"Sports"}\n');
  await writeFile(join(noGold, 'test.jsonl'), '{"text":"a summit ends","gold_label":"World"}\n');
  const review = await runCli([...base.slice(0, 1), noGold, ...base.slice(2)]);
  assert.equal(review.code, 1);
  assert.match(review.stderr, /train\.jsonl:1: needs string fields text and gold_label: this row has no gold_label, .*run peerkd distill\)\n$/);
  assert.equal(await readFile(join(folder, 'notes.json'), 'utf8'), '{"mine": true}\n');
  // A --json in a folder that does not exist yet is made; an earlier --json output is replaced.
  const json = join(folder, 'results', 'deeper', 'bench.json');
  for (let round = 0; round < 2; round++) {
    const { code, stderr } = await runCli([...base, '--json', json]);
    assert.equal(code, 0, stderr);
    assert.equal((JSON.parse(await readFile(json, 'utf8')) as { settings: unknown[] }).settings.length, 1);
  }
  assert.deepEqual((await readdir(join(folder, 'results', 'deeper'))).sort(), ['bench.json'], 'no temporary file left beside it');
});

test('peerkd distill: SIGTERM cancels the run as Ctrl-C does: exit code 143, no run folder, no .tmp- folder', async () => {
  let server: FakeOpenAiServer | undefined;
  let arrived = 0;
  server = await startFakeOpenAi(() => ({ status: 500 }));
  try {
    server.setEmbeddingsHandler((request) => {
      if (request.inputs.length === 1) return embeddingsHandler()(request); // the probe
      arrived++;
      return { hang: true };
    });
    const tsx = pathToFileURL(require.resolve('tsx')).href;
    const child = spawn(
      process.execPath,
      ['--import', tsx, join(repoRoot, 'src/cli/main.ts'), 'distill', 'agnews-200.jsonl', '--backend', 'cpu', '--encoder', 'endpoint', '--encoder-base-url', server.baseUrl, '--encoder-model', 'sigterm-model'],
      { cwd: folder, env: { ...process.env, OPENAI_API_KEY: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    // The run is under way (its folder is being written) once the worker has asked for the first vectors.
    const deadline = Date.now() + 60_000;
    while (arrived < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(arrived >= 1, stderr);
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    assert.deepEqual({ code, signal }, { code: 143, signal: null }, stderr);
    assert.match(stderr, /peerkd distill: cancelled; no artefacts were written/);
    const runs = await readdir(join(folder, '.peerkd', 'runs')).catch(() => [] as string[]);
    assert.deepEqual(runs.filter((name) => name !== 'latest-by-dataset'), [], `nothing a later command would read as a run: ${runs.join(', ')}`);
  } finally {
    await server.close();
    server = undefined;
  }
});

test('peerkd without a command is a usage error on stderr (exit 2), as every command\'s usage error is; --help is exit 0', async () => {
  const none = await runCliProcess([], folder);
  assert.equal(none.code, 2);
  assert.equal(none.stdout, '', 'nothing on stdout: `peerkd > out` leaves no usage text in out');
  assert.match(none.stderr, /^peerkd: missing command\n\nUsage: peerkd <command> \[options\]/);
  assert.ok(none.stderr.includes(EXIT_CODES_HELP));
  const help = await runCliProcess(['--help'], folder);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: peerkd <command> \[options\]/);
  assert.match(help.stdout, /^ {2}export +Write the reviewed copy of a dataset \(final_label, label_provenance\) from its latest run$/m);
});

test('peerkd help <command> is that command\'s help, --version the version, a mistyped command is named with the one meant', async () => {
  // `peerkd help distill` printed the list of commands; `peerkd --version` was "unknown command '--version'".
  const help = await runCliProcess(['help', 'distill'], folder);
  assert.equal(help.code, 0, help.stderr);
  assert.equal(help.stdout, DISTILL_HELP + '\n');
  const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const shown = await runCliProcess(['--version'], folder);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdout, `peerkd ${version}\n`);
  const typo = await runCliProcess(['distil', 'data.jsonl'], folder);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /^peerkd: unknown command 'distil' \(did you mean distill\?\)\n\nUsage: peerkd <command>/);
  const unknown = await runCliProcess(['help', 'nope'], folder);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^peerkd: unknown command 'nope'\n\nUsage: peerkd <command>/);
});

test("PeerKD's own .peerkd folder given as the runs folder (distill --out, export --runs) is a usage error naming .peerkd/runs, before anything is read or written", async () => {
  // distill --out .peerkd wrote its runs among .peerkd's caches, silently; export --runs .peerkd said "no run of this
  // dataset in .peerkd" (the runs are in .peerkd/runs) and wrote a copy without the run.
  const work = join(folder, 'peerkd-as-runs');
  await mkdir(work);
  const data = join(work, 'data.jsonl');
  await copyFile(dataset, data);
  const peerkd = join(work, '.peerkd');
  const distill = await runCli(['distill', data, '--out', peerkd]);
  assert.equal(distill.code, 2, distill.stderr);
  assert.equal(
    distill.stderr.split('\n')[0],
    `peerkd distill: --out ${peerkd}: PeerKD's own .peerkd folder (its caches), not a runs folder: the runs go into ${join(peerkd, 'runs')} inside it; leave out --out, or give --out ${join(peerkd, 'runs')}`,
  );
  await mkdir(peerkd);
  for (const advice of [['--teacher-labels'], ['--advice-min-p', '0.9']]) {
    const exported = await runCli(['export', data, ...advice, '--runs', `${peerkd}/`]);
    assert.equal(exported.code, 2, exported.stderr);
    assert.equal(
      exported.stderr.split('\n')[0],
      `peerkd export: --runs ${peerkd}/: PeerKD's own .peerkd folder (its caches), not a runs folder: the runs go into ${join(peerkd, 'runs')} inside it; give --runs ${join(peerkd, 'runs')}, or leave out --runs to take the newest run from every runs folder the dataset used`,
    );
  }
  assert.deepEqual(await readdir(peerkd), [], 'no run was started');
  assert.deepEqual((await readdir(work)).sort(), ['.peerkd', 'data.jsonl'], 'no copy was written');
});
