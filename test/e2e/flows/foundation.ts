/**
 * Foundation flow (issue 2 §4): the packaged extension activates in code-server, the Problems panel lists exactly the
 * problems of a dataset with one of each kind, and every PeerKD command shows in the command palette.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineFlow, repoRoot, waitFor, type ProblemEntry } from '../harness';
import { DISTILLATION_RUNNING_KEY } from '../../../src/editor/contextKeys';

interface Expected {
  line: number;
  severity: ProblemEntry['severity'];
  /** The problem code of src/dataset/types.ts, shown as the diagnostic's code. */
  code: string;
  /** Every pattern must match the message: the rule, and the field and value it names. */
  message: RegExp[];
  /** The diagnostic's source: PeerKD for a line's own problem (the default), PeerKD (run) for what a run would say. */
  source?: string;
}

/** problems.jsonl, with peerkd.labels set to the four AG News labels in .vscode/settings.json. */
const EXPECTED: Expected[] = [
  { line: 2, severity: 'error', code: 'invalid-json', message: [/json/i] },
  { line: 3, severity: 'error', code: 'missing-text', message: [/text/] },
  { line: 5, severity: 'warning', code: 'unknown-label', message: [/teacher_label/, /Space/] },
  { line: 6, severity: 'warning', code: 'duplicate-id', message: [/duplicate/i, /f1/] },
  // What a run would warn about in the file as a whole (training/input.ts checkTrainingInput), at the line it names first.
  { line: 1, severity: 'warning', code: 'run-check', source: 'PeerKD (run)', message: [/configured label set/, /'World', 'Sci\/Tech'/] },
  { line: 1, severity: 'warning', code: 'run-check', source: 'PeerKD (run)', message: [/median of 1\.5 labelled rows/] },
  { line: 7, severity: 'warning', code: 'run-check', source: 'PeerKD (run)', message: [/on one row only: 'Sports' \(line 7\)/] },
];

function matches(entry: ProblemEntry, expected: Expected): boolean {
  return (
    entry.line === expected.line &&
    entry.severity === expected.severity &&
    entry.code === expected.code &&
    entry.source === (expected.source ?? 'PeerKD') &&
    expected.message.every((pattern) => pattern.test(entry.message))
  );
}

/** Palette titles of the contributed commands that are not hidden from the palette now (no distillation runs). */
function paletteCommandTitles(): string[] {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    contributes: {
      commands: { command: string; title: string; category?: string }[];
      menus?: { commandPalette?: { command: string; when?: string }[] };
    };
  };
  const hidden = new Set(
    // `when: false`, and "Cancel Distillation", shown only while a distillation runs (none runs here).
    (manifest.contributes.menus?.commandPalette ?? [])
      .filter((m) => m.when === 'false' || m.when === DISTILLATION_RUNNING_KEY)
      .map((m) => m.command),
  );
  return manifest.contributes.commands
    .filter((c) => !hidden.has(c.command))
    .map((c) => (c.category ? `${c.category}: ${c.title}` : c.title))
    .sort();
}

export default defineFlow({
  name: 'foundation: activation, exact diagnostics, palette commands',
  fixture: 'foundation',
  async run(workbench) {
    // Entries guarded by `isWorkspaceTrusted` appear once the trust state resolves, a moment after the workbench.
    const expectedTitles = paletteCommandTitles();
    let titles: string[] = [];
    await waitFor(
      async () => {
        titles = (await workbench.listCommands('PeerKD: ')).sort();
        return titles.join('\n') === expectedTitles.join('\n');
      },
      { timeoutMs: 30_000, intervalMs: 1_000, message: 'the PeerKD commands in the palette' },
    ).catch(() => undefined);
    assert.deepEqual(titles, expectedTitles);

    await workbench.openFile('problems.jsonl');
    const problems = await workbench.waitForProblems(
      (entries) => entries.length === EXPECTED.length && EXPECTED.every((e) => entries.some((entry) => matches(entry, e))),
      { timeoutMs: 30_000, message: `exactly ${EXPECTED.length} problems: ${JSON.stringify(EXPECTED.map((e) => [e.line, e.severity, e.code, e.message.map(String)]))}` },
    );
    assert.ok(problems.every((p) => p.file === 'problems.jsonl'), JSON.stringify(problems));
    await workbench.screenshot('diagnostics', { readme: true });

    // The log channel exists only once activate() ran; "Show Log" also proves that a command of ours executes.
    await workbench.runCommand('PeerKD: Show Log');
    await waitFor(async () => /PeerKD \S+ activated/.test(await workbench.visibleOutputText()), {
      message: 'the PeerKD log to show its activation line',
    });
    // The same channel is listed by name in the Output view's channel picker.
    await workbench.outputChannelText('PeerKD', { contains: /activated/ });
  },
});
