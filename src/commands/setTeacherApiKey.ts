import * as vscode from 'vscode';
import { showErrorMessage, showInformationMessage, showWarningMessage } from '../editor/messages';
import type { Services } from '../editor/services';
import { ignoredSettings, readSettings } from '../editor/settings';
import { datasetTarget } from './datasetTarget';
import { apiKeyProblem, redactSecret } from '../teacher/redact';
import { isLoopbackHost, normaliseBaseUrl } from '../teacher/url';

/**
 * Keys are stored per base URL, so that a key set for one endpoint is never sent to another one (for example to a
 * server named by a workspace's settings).
 */
export function teacherApiKeySecret(baseUrl: string): string {
  return `peerkd.teacher.apiKey:${normaliseBaseUrl(baseUrl)}`;
}

/** A server on this machine (or the local network) that usually needs no key: no warning when none is stored. */
export function isLocalEndpoint(baseUrl: string): boolean {
  try {
    const host = new URL(baseUrl).hostname;
    return isLoopbackHost(host) || host.endsWith('.local');
  } catch {
    return false;
  }
}

export async function readTeacherApiKey(services: Services, baseUrl: string): Promise<string | undefined> {
  return (await services.context.secrets.get(teacherApiKeySecret(baseUrl))) || undefined;
}

/**
 * The key stored for `baseUrl`; where there is none and the server is not on this machine, a modal warning offers to
 * set one (for this URL: a folder may set its own, not whatever Set Teacher API Key would pick by itself) or to go on
 * without. `{ apiKey }` to go on (the key, or undefined without one); undefined when the user stopped (the warning or
 * the key's input box dismissed). `usedBy` ends the warning's sentence: what uses the endpoint, where it is not the
 * teacher (Label with Teacher and the endpoint encoder of a run ask alike).
 */
export async function teacherApiKeyOrAsk(services: Services, baseUrl: string, usedBy = ''): Promise<{ apiKey: string | undefined } | undefined> {
  const apiKey = await readTeacherApiKey(services, baseUrl);
  if (apiKey || isLocalEndpoint(baseUrl)) return { apiKey };
  const choice = await showWarningMessage(`PeerKD: no API key is stored for ${baseUrl}${usedBy}.`, { modal: true }, 'Set API Key…', 'Continue Without Key');
  if (choice === undefined) return undefined;
  if (choice === 'Continue Without Key') return { apiKey: undefined };
  if (!(await vscode.commands.executeCommand<boolean>('peerkd.setTeacherApiKey', baseUrl))) return undefined;
  return { apiKey: await readTeacherApiKey(services, baseUrl) };
}

/**
 * Why a typed key cannot be stored, or undefined when it can (an empty box removes the stored key). A key is one
 * token of printable ASCII, as an HTTP header carries it: a key pasted with a line break or a space in it ("sk-a
 * sk-b"), or with a character such as `…` copied from a placeholder, was stored and then failed every request with
 * an error about the header, never naming the key; a box of spaces removed the stored key as an empty one does.
 */
export function apiKeyInputProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  const key = value.trim();
  if (key.length === 0) return 'The key is only white space. Leave the box empty to remove the stored key.';
  const problem = apiKeyProblem(key);
  return problem === undefined ? undefined : `The key ${problem}.`;
}

interface EndpointChoice {
  label: string;
  description: string;
  /** The setting the URL came from, as an invalid URL's message names it. */
  setting: string;
}

/**
 * The endpoints a key may be for, from the settings of `scopes` (the active dataset, else each workspace folder: a
 * folder can name its own peerkd.teacher.baseUrl), without repeats; a URL that is not valid is left to the command's
 * error.
 */
function endpointChoices(scopes: readonly { scope?: vscode.ConfigurationScope; name?: string }[]): EndpointChoice[] {
  const choices: EndpointChoice[] = [];
  const seen = new Set<string>();
  const add = (baseUrl: string, setting: string, name: string | undefined) => {
    const what = setting === 'peerkd.teacher.baseUrl' ? 'teacher (peerkd.teacher.baseUrl)' : 'endpoint encoder (peerkd.encoder.baseUrl)';
    let key: string;
    try {
      key = normaliseBaseUrl(baseUrl);
    } catch {
      key = baseUrl;
    }
    if (seen.has(key)) return;
    seen.add(key);
    choices.push({ label: baseUrl, description: name ? `${what}, folder ${name}` : what, setting });
  };
  for (const { scope, name } of scopes) {
    const settings = readSettings(scope);
    add(settings.teacher.baseUrl, 'peerkd.teacher.baseUrl', name);
    if (settings.encoder.baseUrl) add(settings.encoder.baseUrl, 'peerkd.encoder.baseUrl', name);
  }
  return choices;
}

/**
 * "PeerKD: Set Teacher API Key": stores (or, given an empty value, removes) the key for the configured endpoint. The
 * endpoint encoder's URL (peerkd.encoder.baseUrl) keeps its key the same way: the command asks which URL when the two
 * differ, and the distillation passes it the encoder's URL. The settings read are the active dataset's (a workspace
 * folder may set its own URL, and Label with Teacher reads that one), else those of every workspace folder.
 */
export function registerSetTeacherApiKeyCommand(services: Services): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.setTeacherApiKey', async (target?: unknown): Promise<boolean> => {
    let baseUrl: string;
    let subject: string | undefined;
    if (typeof target === 'string' && target.length > 0) baseUrl = target;
    else {
      const dataset = datasetTarget(undefined);
      const folders = vscode.workspace.workspaceFolders ?? [];
      const scopes = dataset
        ? [{ scope: dataset }]
        : folders.length > 1
          ? folders.map((folder) => ({ scope: folder.uri, name: folder.name }))
          : [{ scope: folders[0]?.uri }];
      const choices = endpointChoices(scopes);
      const ignored = scopes.flatMap(({ scope }) => ignoredSettings(readSettings(scope), 'peerkd.teacher.baseUrl', 'peerkd.encoder.baseUrl'));
      for (const line of new Set(ignored)) {
        services.log.warn(line);
        void showWarningMessage(`PeerKD: ${line}.`);
      }
      const picked =
        choices.length === 1 ? choices[0] : await vscode.window.showQuickPick(choices, { title: 'PeerKD: Set Teacher API Key', placeHolder: 'Which endpoint is the key for?' });
      if (!picked) return false;
      baseUrl = picked.label;
      subject = `the setting ${picked.setting}`;
    }
    let secret: string;
    try {
      if (subject) normaliseBaseUrl(baseUrl, subject); // a bad URL's message names the setting it came from
      secret = teacherApiKeySecret(baseUrl);
    } catch (error) {
      void showErrorMessage(`PeerKD: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
    // Unreadable secret storage is said when the key is stored (below), not as the command's bare failure here.
    const hadKey = await services.context.secrets.get(secret).then(
      (stored) => stored !== undefined,
      () => false,
    );
    const value = await vscode.window.showInputBox({
      title: 'PeerKD: Set Teacher API Key',
      prompt: `API key for ${baseUrl} (kept in the editor's secret storage; leave empty to remove${hadKey ? ' the stored key' : ''}).`,
      password: true,
      ignoreFocusOut: true,
      placeHolder: 'sk-…',
      validateInput: apiKeyInputProblem,
    });
    if (value === undefined) return false;
    const problem = apiKeyInputProblem(value);
    if (problem) {
      void showErrorMessage(`PeerKD: no key stored for ${baseUrl}: ${problem}`);
      return false;
    }
    const key = value.trim();
    try {
      if (key.length === 0) await services.context.secrets.delete(secret);
      else await services.context.secrets.store(secret, key);
    } catch (error) {
      // No OS keyring, a locked one: said naming the endpoint, never with the key.
      const reason = redactSecret(error instanceof Error ? error.message : String(error), key || undefined);
      services.log.error(`Teacher API key for ${baseUrl}: the editor's secret storage failed: ${reason}`);
      void showErrorMessage(`PeerKD: the key for ${baseUrl} could not be ${key.length === 0 ? 'removed from' : 'stored in'} the editor's secret storage: ${reason}`);
      return false;
    }
    if (key.length === 0) {
      services.log.info(`Teacher API key for ${baseUrl} removed`);
      void showInformationMessage(`PeerKD: the teacher API key for ${baseUrl} was removed.`);
      return true;
    }
    services.log.info(`Teacher API key for ${baseUrl} stored in secret storage`);
    void showInformationMessage(`PeerKD: teacher API key stored for ${baseUrl}.`);
    return true;
  });
}
