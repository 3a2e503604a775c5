/** Checks of package.json that the editor does not check itself: settings named elsewhere in the manifest exist. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DISTILLATION_RUNNING_KEY, MANAGE_WORKSPACE_TRUST_COMMAND } from '../../src/editor/contextKeys';
import { ENCODER_NAMES, ENCODERS_WITH_ARGUMENT, parseEncoderChoice } from '../../src/training/types';
import { stubVscodeModule } from '../support/fakeVscodeModule';

interface Manifest {
  capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } };
  contributes: { configuration: { properties: Record<string, { type?: string; markdownDescription?: string }> } };
}

const repoRoot = path.join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Manifest;
const settings = manifest.contributes.configuration.properties;
const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;

test('every restricted configuration of untrusted workspaces is a contributed setting', () => {
  const unknown = restricted.filter((name) => !Object.hasOwn(settings, name));
  assert.deepEqual(unknown, [], `restrictedConfigurations names settings that do not exist: ${unknown.join(', ')}`);
});

test('untrusted workspaces restrict exactly the settings that point at servers or folders', () => {
  // The settings whose value is a URL the extension calls or a folder it writes into. A new setting of that kind must
  // be added both here and to restrictedConfigurations.
  const pointAtServersOrFolders = ['peerkd.teacher.baseUrl', 'peerkd.encoder.baseUrl', 'peerkd.training.outputDir'];
  assert.deepEqual([...restricted].sort(), pointAtServersOrFolders.sort());
  // A setting whose name says it is a URL or a folder but is not listed would slip through the list above.
  const looksLikeOne = Object.keys(settings).filter((name) => /(url|dir|folder|path|endpoint)$/i.test(name));
  assert.deepEqual(looksLikeOne.sort(), pointAtServersOrFolders.sort());
  assert.equal(new Set(restricted).size, restricted.length, 'restrictedConfigurations lists a setting twice');
});

interface Menus {
  contributes: {
    commands: { command: string; enablement?: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
  };
}

test('"Cancel Distillation" is in the palette only while a distillation runs (the key the extension sets)', () => {
  const { menus } = (manifest as unknown as Menus).contributes;
  const entry = menus.commandPalette.find((m) => m.command === 'peerkd.cancelDistillation');
  assert.equal(entry?.when, DISTILLATION_RUNNING_KEY);
  const source = readFileSync(path.join(__dirname, '..', '..', 'src', 'commands', 'runDistillation.ts'), 'utf8');
  assert.match(source, /setContext', DISTILLATION_RUNNING_KEY, this\.active\.size > 0\)/);
});

test('in Restricted Mode the run and teacher commands stay visible and explain themselves (no trust-only when or enablement)', () => {
  const { commands, menus } = (manifest as unknown as Menus).contributes;
  for (const command of ['peerkd.runDistillation', 'peerkd.labelWithTeacher']) {
    assert.equal(commands.find((c) => c.command === command)?.enablement, undefined, command);
    for (const [menu, entries] of Object.entries(menus)) {
      for (const entry of entries.filter((e) => e.command === command)) {
        assert.doesNotMatch(entry.when ?? '', /isWorkspaceTrusted/, `${command} in ${menu}`);
      }
    }
  }
  for (const [file, reason] of [
    ['runDistillation.ts', 'runDistillation'],
    ['labelWithTeacher.ts', 'labelWithTeacher'],
  ]) {
    const source = readFileSync(path.join(__dirname, '..', '..', 'src', 'commands', file), 'utf8');
    assert.match(source, new RegExp(`requireTrust\\(UNTRUSTED_REASON\\.${reason}\\)`), file);
  }
  const trust = readFileSync(path.join(__dirname, '..', '..', 'src', 'editor', 'trust.ts'), 'utf8');
  assert.match(trust, /MANAGE_WORKSPACE_TRUST_COMMAND/);
  assert.equal(MANAGE_WORKSPACE_TRUST_COMMAND, 'workbench.trust.manage');
});

test('peerkd.training.encoder offers every encoder: the plain names as a list, a name that takes an argument as a pattern', () => {
  const setting = settings['peerkd.training.encoder'] as unknown as { anyOf: { enum?: string[]; enumDescriptions?: string[]; pattern?: string }[]; default: string };
  const listed: string[] = setting.anyOf.flatMap((branch) => branch.enum ?? []);
  assert.deepEqual(listed, ENCODER_NAMES.filter((name) => !ENCODERS_WITH_ARGUMENT.includes(name)) as string[]);
  for (const branch of setting.anyOf.filter((b) => b.enum)) assert.equal(branch.enumDescriptions?.length, branch.enum!.length);
  const patterns = setting.anyOf.filter((branch) => branch.pattern).map((branch) => new RegExp(branch.pattern!, 'u'));
  const accepted = (value: string) => listed.includes(value) || patterns.some((pattern) => pattern.test(value));
  for (const name of ENCODERS_WITH_ARGUMENT) {
    for (const value of [`${name}:/abs/folder`, `${name}:relative/folder`, `${name}:C:\\models\\potion`]) {
      assert.ok(accepted(value), `the manifest refuses ${value}`);
      assert.ok(!('error' in parseEncoderChoice(value)), value);
    }
    assert.ok(!accepted(`${name}:`), `${name}: without its argument`);
    // What the run refuses (parseEncoderChoice: an argument of white space only), settings.json flags too, instead of
    // accepting it there and running with auto.
    for (const blank of [`${name}:   `, `${name}:\t`]) {
      assert.ok('error' in parseEncoderChoice(blank), JSON.stringify(blank));
      assert.ok(!accepted(blank), `the manifest accepts ${JSON.stringify(blank)}`);
    }
  }
  assert.ok(!accepted('bert') && !accepted('glove:x'));
  assert.ok(accepted(setting.default));
});

// ---------------------------------------------------------------------------------------------------------------------
// The manifest against the code: the extension activated on a stand-in for `vscode` that answers every API with an
// inert object, except the two this file reads: the commands registered, and the configuration the settings mirror
// (src/editor/settings.ts readSettings) reads.

interface ContributedSetting {
  type?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  description?: string;
  markdownDescription?: string;
}
interface FullManifest {
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
    configuration: { properties: Record<string, ContributedSetting> };
  };
}
const full = manifest as unknown as FullManifest;
const properties = full.contributes.configuration.properties;

const registeredCommands: string[] = [];
/** What `peerkd.*` settings hold in the stand-in's configuration (absent: VS Code's undefined for an unset key). */
const configured = new Map<string, unknown>();
/** Every setting the code asked the stand-in's configuration for. */
const requested = new Set<string>();
const answered = new Map<string, unknown>([
  [
    'vscode.commands.registerCommand',
    (id: string) => {
      registeredCommands.push(id);
      return inert(`disposable of ${id}`);
    },
  ],
  [
    'vscode.workspace.getConfiguration',
    (section: string) => ({
      get: (key: string) => {
        requested.add(`${section}.${key}`);
        return configured.get(`${section}.${key}`);
      },
    }),
  ],
]);

/** Any property, call or `new` gives another inert object; properties set on it are kept. */
function inert(where: string): unknown {
  const kept = new Map<PropertyKey, unknown>();
  return new Proxy(function stand_in() {}, {
    get(_target, key) {
      if (kept.has(key)) return kept.get(key);
      if (key === 'then') return undefined; // not a promise
      if (key === Symbol.toPrimitive) return () => where;
      const inner = `${where}.${String(key)}`;
      return answered.has(inner) ? answered.get(inner) : inert(inner);
    },
    set(_target, key, value) {
      kept.set(key, value);
      return true;
    },
    apply: () => inert(`${where}()`),
    construct: () => inert(`new ${where}`) as object,
  });
}

/** `import * as vscode` copies the module's own keys: every `vscode.X` the sources use. */
function vscodeNamesUsed(directory: string, names = new Set<string>()): Set<string> {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const file = path.join(directory, entry.name);
    if (entry.isDirectory()) vscodeNamesUsed(file, names);
    else if (file.endsWith('.ts')) for (const match of readFileSync(file, 'utf8').matchAll(/\bvscode\.(\w+)/g)) names.add(match[1]);
  }
  return names;
}
const vscodeModule = inert('vscode') as Record<string, unknown>;
stubVscodeModule(Object.fromEntries([...vscodeNamesUsed(path.join(repoRoot, 'src'))].map((name) => [name, vscodeModule[name]])));

async function settingsRead(values: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const { readSettings } = await import('../../src/editor/settings.js');
  configured.clear();
  for (const [name, value] of Object.entries(values)) configured.set(name, value);
  return readSettings() as unknown as Record<string, unknown>;
}

/** `peerkd.training.folds` → settings.training.folds: the mirror's shape follows the setting names. */
function valueOf(settings: Record<string, unknown>, name: string): unknown {
  return name
    .replace(/^peerkd\./, '')
    .split('.')
    .reduce<unknown>((object, key) => (object as Record<string, unknown> | undefined)?.[key], settings);
}

test('activation registers exactly the commands package.json contributes', async () => {
  const { activate } = await import('../../src/extension.js');
  activate(inert('context') as never);
  const contributed = full.contributes.commands.map((c) => c.command);
  assert.deepEqual([...registeredCommands].sort(), [...contributed].sort());
  assert.equal(new Set(registeredCommands).size, registeredCommands.length, 'a command is registered twice');
  // Every menu entry names a contributed command; every command has the PeerKD category and a title.
  for (const [menu, entries] of Object.entries(full.contributes.menus)) {
    for (const entry of entries) assert.ok(contributed.includes(entry.command), `${menu} names ${entry.command}`);
  }
  for (const command of full.contributes.commands) {
    assert.equal(command.category, 'PeerKD', command.command);
    assert.ok(command.title.trim().length > 0, command.command);
  }
});

test('every setting has a description and a default equal to what the code uses when it is unset', async () => {
  // The settings mirror reads every contributed setting and no other (it is the one place that reads configuration).
  requested.clear();
  const unset = await settingsRead();
  assert.deepEqual([...requested].sort(), Object.keys(properties).sort(), 'settings.ts reads other settings than package.json contributes');
  assert.deepEqual(unset.ignored, [], 'nothing is ignored when nothing is set');
  for (const [name, setting] of Object.entries(properties)) {
    assert.ok((setting.markdownDescription ?? setting.description ?? '').trim().length > 0, `${name} has no description`);
    assert.ok(Object.hasOwn(setting, 'default'), `${name} has no default`);
    assert.deepEqual(valueOf(unset, name), setting.default, `${name}: the code's default differs from the manifest's`);
    // The manifest's default written out explicitly reads back the same.
    assert.deepEqual(valueOf(await settingsRead({ [name]: setting.default }), name), setting.default, name);
  }
});

test('a setting with a fixed set of values: the code accepts each value of its enum and nothing else', async () => {
  const withEnum = Object.entries(properties).filter(([, setting]) => setting.enum);
  assert.ok(withEnum.length >= 3);
  for (const [name, setting] of withEnum) {
    for (const value of setting.enum!) assert.equal(valueOf(await settingsRead({ [name]: value }), name), value, `${name} = ${String(value)}`);
    const read = await settingsRead({ [name]: 'not-a-value' });
    assert.equal(valueOf(read, name), setting.default, name);
    assert.deepEqual(ignoredLines(read, name), [`setting ${name} "not-a-value" was ignored (not one of ${setting.enum!.join(', ')}): ${JSON.stringify(setting.default)} is used instead`]);
  }
});

/** The lines of `settings.ignored` that name `name`. */
function ignoredLines(settings: Record<string, unknown>, name: string): string[] {
  return (settings.ignored as { setting: string; line: string }[]).filter((entry) => entry.setting === name).map((entry) => entry.line);
}

/** A value of another JSON type than the manifest's `type` (what a hand-written settings.json can hold). */
const WRONG_TYPES: Record<string, unknown[]> = {
  string: [5, true, null, ['text'], { field: 'text' }],
  integer: ['3', true, null, [3], { n: 3 }],
  number: ['0.5', false, null, [0.5]],
  boolean: ['false', 'true', 0, 1, null],
  array: ['World, Sports', 5, null, { 0: 'World' }],
};

test("every setting of the wrong JSON type reads as the manifest's default, with a line naming the setting; nothing throws", async () => {
  for (const [name, setting] of Object.entries(properties)) {
    const wrong = WRONG_TYPES[setting.type ?? ''];
    assert.ok(wrong, `${name}: type ${String(setting.type)} has no wrong values here`);
    for (const value of wrong) {
      const read = await settingsRead({ [name]: value });
      const what = `${name} = ${JSON.stringify(value)}`;
      if (name === 'peerkd.labels') {
        // The label set is refused, never inferred instead of the one written (runDistillation, labelWithTeacher).
        assert.deepEqual(valueOf(read, name), [], what);
        assert.match(String(read.labelsProblem), /^setting peerkd\.labels is .*, not a list — write the labels as a JSON list of strings/, what);
        continue;
      }
      assert.deepEqual(valueOf(read, name), setting.default, what);
      const lines = ignoredLines(read, name);
      assert.equal(lines.length, 1, what);
      assert.ok(lines[0].startsWith(`setting ${name} ${JSON.stringify(value)} was ignored (`), `${what}: ${lines[0]}`);
      // Nothing else is said: one wrong setting, one line.
      assert.equal((read.ignored as unknown[]).length, 1, what);
    }
  }
});

test('an empty string setting is kept only where its description says what empty means; elsewhere the default is used and said', async () => {
  const strings = Object.entries(properties).filter(([, setting]) => setting.type === 'string' && !setting.enum && setting.default !== '');
  assert.ok(strings.length >= 8);
  for (const [name, setting] of [...strings, ...Object.entries(properties).filter(([, s]) => s.default === '')]) {
    const documented = /\bempty:/i.test(setting.markdownDescription ?? setting.description ?? '');
    for (const empty of ['', '   ']) {
      const read = await settingsRead({ [name]: empty });
      const lines = ignoredLines(read, name);
      // Empty or not, what runs is the default (a documented empty value means what the default does).
      assert.equal(valueOf(read, name), setting.default, name);
      if (documented) {
        assert.deepEqual(lines, [], `${name} = ${JSON.stringify(empty)} is documented`);
      } else {
        assert.equal(lines.length, 1, name);
        assert.ok(lines[0].startsWith(`setting ${name} ${JSON.stringify(empty)} was ignored (`), lines[0]);
      }
    }
  }
});

test("a number setting's minimum and maximum are the code's: the bounds are taken, a value beyond runs as the default", async () => {
  const numbers = Object.entries(properties).filter(([, setting]) => setting.type === 'integer' || setting.type === 'number');
  for (const [name, setting] of numbers) {
    const step = setting.type === 'integer' ? 1 : 0.5;
    if (setting.minimum !== undefined) {
      assert.equal(valueOf(await settingsRead({ [name]: setting.minimum }), name), setting.minimum, `${name} = its minimum`);
      const below = await settingsRead({ [name]: setting.minimum - step });
      assert.equal(valueOf(below, name), setting.default, `${name} below its minimum`);
      assert.equal(ignoredLines(below, name).length, 1, `${name} below its minimum is said`);
    }
    if (setting.maximum !== undefined) {
      assert.equal(valueOf(await settingsRead({ [name]: setting.maximum }), name), setting.maximum, `${name} = its maximum`);
      const above = await settingsRead({ [name]: setting.maximum + step });
      assert.equal(valueOf(above, name), setting.default, `${name} above its maximum`);
      const [line, ...more] = ignoredLines(above, name);
      assert.deepEqual(more, [], name);
      assert.ok(line.startsWith(`setting ${name} ${setting.maximum + step} was ignored (above the most, ${setting.maximum}): `), line);
    }
    if (setting.type === 'integer' && setting.minimum !== undefined) {
      const fraction = await settingsRead({ [name]: setting.minimum + 0.5 });
      assert.equal(valueOf(fraction, name), setting.default, `${name} not an integer`);
      assert.equal(ignoredLines(fraction, name).length, 1, `${name} not an integer is said`);
    }
  }
});

/** The rows of README.md's table that starts with `header`, up to the first line that is no table row. */
function readmeTable(header: string): string[][] {
  const lines = readFileSync(path.join(repoRoot, 'README.md'), 'utf8').split('\n');
  const start = lines.indexOf(header);
  assert.ok(start >= 0, `README.md has a "${header}" table`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(' | ').map((cell) => cell.trim()));
  }
  return rows;
}

test("README's settings table lists every contributed setting once, with the manifest's default", () => {
  const rows = readmeTable('| setting | default | what |');
  const listed = rows.map(([name]) => name.replace(/^`|`$/g, ''));
  assert.deepEqual([...listed].sort(), Object.keys(properties).sort());
  for (const [name, shown] of rows) {
    const setting = properties[name.replace(/^`|`$/g, '')];
    assert.equal(shown, `\`${JSON.stringify(setting.default)}\``, name);
  }
});

test('every "PeerKD: …" command the docs name is a contributed command', () => {
  const titles = new Set(full.contributes.commands.map((c) => `${c.category}: ${c.title}`));
  for (const doc of ['README.md', 'examples/README.md', 'docs/METHOD.md', 'docs/BENCHMARKS.md']) {
    const text = readFileSync(path.join(repoRoot, doc), 'utf8');
    for (const match of text.matchAll(/(?:\*\*|")(PeerKD: [A-Z][^*"]*?)(?:\*\*|")/g)) {
      if (match[1] === 'PeerKD: what the user is told') continue; // a bench table's heading, not a command
      assert.ok(titles.has(match[1]), `${doc} names "${match[1]}", which no command is called`);
    }
  }
});

test('peerkd.labels is taken as written: an empty entry reaches the run, which refuses it naming the setting (README: no empty entry)', async () => {
  const written = ['World', '', 'Sports'];
  const settings = await settingsRead({ 'peerkd.labels': written });
  assert.deepEqual(valueOf(settings, 'peerkd.labels'), written);
  const { prepareTrainingInput } = await import('../../src/training/input.js');
  const { DEFAULT_FIELDS } = await import('../../src/dataset/types.js');
  const text = ['World', 'Sports', 'World', 'Sports'].map((label, i) => JSON.stringify({ text: `row ${i}`, teacher_label: label })).join('\n');
  assert.throws(
    () => prepareTrainingInput(text, { file: 'data.jsonl', fields: DEFAULT_FIELDS, labels: valueOf(settings, 'peerkd.labels') as string[], folds: 2 }),
    /data\.jsonl: the configured label set \(setting peerkd\.labels or --labels\): label 2 of the list is empty/,
  );
});
