/** Checks of package.json that the editor does not check itself: settings named elsewhere in the manifest exist. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

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
  const pointAtServersOrFolders = ['peerkd.teacher.baseUrl', 'peerkd.training.outputDir'];
  assert.deepEqual([...restricted].sort(), pointAtServersOrFolders.sort());
  // A setting whose name says it is a URL or a folder but is not listed would slip through the list above.
  const looksLikeOne = Object.keys(settings).filter((name) => /(url|dir|folder|path|endpoint)$/i.test(name));
  assert.deepEqual(looksLikeOne.sort(), pointAtServersOrFolders.sort());
  assert.equal(new Set(restricted).size, restricted.length, 'restrictedConfigurations lists a setting twice');
});
