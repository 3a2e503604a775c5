/** Checks of package.json that the editor does not check itself: settings named elsewhere in the manifest exist. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DISTILLATION_RUNNING_KEY, MANAGE_WORKSPACE_TRUST_COMMAND } from '../../src/editor/contextKeys';
import { ENCODER_NAMES, ENCODERS_WITH_ARGUMENT, parseEncoderChoice } from '../../src/training/types';

interface Manifest {
  capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } };
  contributes: { configuration: { properties: Record<string, { type?: string; markdownDescription?: string }> } };
}

const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as Manifest;
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
