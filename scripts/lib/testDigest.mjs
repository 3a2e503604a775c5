// Why tests failed, in the few lines the end of a log shows (CI keeps about 20): `npm test` (scripts/test.mjs) prints
// a digest of the failed tests, read from the output of node's spec reporter, right before its last line.
import { stripVTControlCharacters } from 'node:util';

const FAILING_SECTION = /^\u2716 failing tests:$/;
/** `✖ name (12.3ms)`; the duration is missing for a test cancelled before it ran. */
const FAILED_TEST = /^(\s*)\u2716 (.*?)(?: \([\d.]+m?s\))?$/;
const STACK_FRAME = /^\s*at \S/;
const TEST_LOCATION = /^test at \S/;
/** What node says of a test cancelled because its suite failed (a `before` hook, a timeout): the cause is elsewhere. */
const CANCELLED_WITH_PARENT = /^'test did not finish before its parent and was cancelled'$/;

/**
 * The failed tests in the output of node's test runner with the spec reporter: each test's name and the lines of its
 * error before the stack (trimmed, blank lines left out). Read from the "✖ failing tests:" list node prints at the end;
 * output without that list (a runner that did not get that far) is read where each test is reported, keeping the
 * failed tests that have an error of their own (not a suite whose tests failed).
 */
export function failedTests(output) {
  const lines = stripVTControlCharacters(output).split(/\r?\n/);
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (FAILING_SECTION.test(lines[i])) {
      start = i + 1;
      break;
    }
  }
  const failures = [];
  const from = start >= 0 ? start : 0;
  for (let i = from; i < lines.length; i++) {
    const heading = FAILED_TEST.exec(lines[i]);
    if (!heading || (start >= 0 && heading[1] !== '')) continue;
    const indent = heading[1].length;
    const error = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j];
      if (line.trim() === '') continue;
      const lineIndent = line.length - line.trimStart().length;
      // The message ends at the stack (what follows it, an assertion's fields, is skipped as any other line is).
      if (lineIndent <= indent || TEST_LOCATION.test(line) || STACK_FRAME.test(line) || /^\s*[\u2714\u2716\u25b6\u2139] /.test(line)) break;
      error.push(line.trim());
    }
    if (error.length > 0) failures.push({ name: heading[2], error });
    i = j - 1;
  }
  return failures;
}

/** `text` cut to `max` characters, with an ellipsis when cut. */
function cut(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The digest's lines for `stages` ({ name, failures: [{ name, error }] }): each failed test's stage and name, then the
 * first `errorLines` lines of its error, each at most `maxLineLength` characters, for at most `maxFailures` tests. Tests
 * cancelled only because their suite failed are counted in one line after the others.
 */
export function digestLines(stages, { maxFailures = 8, errorLines = 2, maxLineLength = 300 } = {}) {
  const all = stages.flatMap((stage) => stage.failures.map((failure) => ({ stage: stage.name, ...failure })));
  const cancelled = all.filter((failure) => failure.error.length === 1 && CANCELLED_WITH_PARENT.test(failure.error[0]));
  const failed = all.filter((failure) => !cancelled.includes(failure));
  const lines = [];
  for (const failure of failed.slice(0, maxFailures)) {
    lines.push(cut(`\u2716 ${failure.stage}: ${failure.name}`, maxLineLength));
    for (const line of failure.error.slice(0, errorLines)) lines.push(cut(`    ${line}`, maxLineLength));
  }
  if (failed.length > maxFailures) lines.push(`\u2026 and ${failed.length - maxFailures} more failed test(s): see the log above`);
  if (cancelled.length) lines.push(`${cancelled.length} test(s) cancelled because their suite failed`);
  return lines;
}

/** The line test/e2e/e2e.test.ts prints at its end when flows passed only when run a second time. */
export function secondTryLine(names) {
  return `e2e: ${names.length} flow(s) passed only on a second try: ${names.join('; ')}`;
}

/** That line in a stage's output (the last one), or undefined, with its count of flows. */
export function findSecondTryLine(output) {
  const matches = [...stripVTControlCharacters(output).matchAll(/^e2e: (\d+) flow\(s\) passed only on a second try: .*$/gm)];
  const last = matches.at(-1);
  return last ? { line: last[0], count: Number(last[1]) } : undefined;
}
