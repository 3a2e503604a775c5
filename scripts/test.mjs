// `npm test`: sets up whatever a fresh clone lacks (node_modules, Debian packages, code-server) and runs every check:
// type check, lint, build, unit tests, end-to-end tests in code-server. Ends with one line "N passed, N failed"
// (tests counted by node's test runner; type check, lint and build count as one each) and exits non-zero on failure.
// Before that line: why each failed test failed (the first lines of its error; CI shows only the end of the log), and
// the end-to-end flows that passed only on a second try (test/e2e/README.md "Retry").
import { spawn } from 'node:child_process';
import { ensureNodeModules, repoRoot } from './lib/setup.mjs';
import { digestLines, failedTests, findSecondTryLine } from './lib/testDigest.mjs';

/** Runs a stage, echoing its output live and keeping it for the counts. */
function runStage(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (stream, sink) =>
      stream.on('data', (chunk) => {
        output += chunk.toString();
        if (output.length > 4_000_000) output = output.slice(-2_000_000);
        sink.write(chunk);
      });
    keep(child.stdout, process.stdout);
    keep(child.stderr, process.stderr);
    child.on('error', (error) => resolve({ code: 1, output: String(error) }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

/** The last "# pass N" / "ℹ pass N" line of node's test runner (tap or spec reporter). */
function count(output, kind) {
  const matches = [...output.matchAll(new RegExp(`^(?:#|ℹ) ${kind} (\\d+)\\s*$`, 'gm'))];
  return matches.length ? Number(matches[matches.length - 1][1]) : undefined;
}

const stages = [
  { name: 'type check', args: ['node_modules/typescript/bin/tsc', '--noEmit'] },
  { name: 'type check (webview client)', args: ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'src/webview/client'] },
  { name: 'lint', args: ['node_modules/eslint/bin/eslint.js', '.'] },
  { name: 'build', args: ['esbuild.mjs'] },
  { name: 'unit tests', args: ['scripts/unit.mjs'], counted: true },
  { name: 'end-to-end tests', args: ['scripts/e2e.mjs'], counted: true, needs: 'build' },
];

/** The non-blank lines of a stage's output. */
function outputLines(output) {
  return output.split(/\r?\n/).filter((line) => line.trim() !== '');
}

async function main() {
  const started = Date.now();
  const results = [];
  const secondTries = [];
  try {
    await ensureNodeModules();
    console.log(`setup: node_modules ready after ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } catch (error) {
    console.error(`setup failed: ${error instanceof Error ? error.message : String(error)}`);
    console.log('\n0 passed, 1 failed');
    return 1;
  }
  for (const stage of stages) {
    const prerequisite = stage.needs && results.find((r) => r.name === stage.needs);
    if (prerequisite && prerequisite.failed > 0) {
      results.push({ name: stage.name, passed: 0, failed: 1, note: `skipped: ${stage.needs} failed`, seconds: 0 });
      continue;
    }
    console.log(`\n=== ${stage.name} ===`);
    const stageStart = Date.now();
    const { code, output } = await runStage(stage.args);
    const seconds = (Date.now() - stageStart) / 1000;
    if (!stage.counted) {
      const failures = code === 0 ? [] : [{ name: `exited with ${code}`, error: outputLines(output).slice(0, 2) }];
      results.push({ name: stage.name, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, seconds, failures });
      continue;
    }
    const passed = count(output, 'pass');
    const failed = count(output, 'fail');
    const failures = failedTests(output);
    const secondTry = findSecondTryLine(output);
    if (secondTry) secondTries.push(secondTry.line);
    const retried = secondTry ? `${secondTry.count} flow${secondTry.count === 1 ? '' : 's'} needed a second try` : undefined;
    if (passed === undefined || failed === undefined) {
      // The runner never reported (setup failed, or it crashed): that is one failure, not zero tests.
      if (failures.length === 0) failures.push({ name: `exited with ${code} before reporting`, error: outputLines(output).slice(-2) });
      results.push({ name: stage.name, passed: 0, failed: 1, note: `exited with ${code} before reporting`, seconds, failures });
    } else {
      const extra = code !== 0 && failed === 0 ? 1 : 0;
      if (extra && failures.length === 0) failures.push({ name: `exited with ${code}`, error: outputLines(output).slice(-2) });
      const note = [extra ? `exited with ${code}` : undefined, retried].filter(Boolean).join('; ') || undefined;
      results.push({ name: stage.name, passed, failed: failed + extra, note, seconds, failures });
    }
  }
  console.log('\n=== summary ===');
  for (const r of results) {
    const note = r.note ? ` (${r.note})` : '';
    console.log(`${r.failed > 0 ? 'FAIL' : 'ok  '} ${r.name}: ${r.passed} passed, ${r.failed} failed, ${r.seconds.toFixed(0)} s${note}`);
  }
  const passed = results.reduce((sum, r) => sum + r.passed, 0);
  const failed = results.reduce((sum, r) => sum + r.failed, 0);
  console.log(`total time ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const digest = digestLines(results.filter((r) => r.failures?.length).map((r) => ({ name: r.name, failures: r.failures })));
  if (digest.length) console.log(['why they failed (the first lines of each error; the whole of it is above):', ...digest].join('\n'));
  for (const line of secondTries) console.log(line);
  // The last line: .ci/run looks for it.
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

main().then((code) => process.exit(code));
