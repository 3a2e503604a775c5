import * as vscode from 'vscode';
import type { Services } from '../editor/services';
import { readSettings } from '../editor/settings';
import { normaliseBaseUrl } from '../teacher/url';

/**
 * Keys are stored per base URL, so that a key set for one endpoint is never sent to another one (for example to a
 * server named by a workspace's settings).
 */
export function teacherApiKeySecret(baseUrl: string): string {
  return `peerkd.teacher.apiKey:${normaliseBaseUrl(baseUrl)}`;
}

export async function readTeacherApiKey(services: Services, baseUrl: string): Promise<string | undefined> {
  return (await services.context.secrets.get(teacherApiKeySecret(baseUrl))) || undefined;
}

/** "PeerKD: Set Teacher API Key": stores (or, given an empty value, removes) the key for the configured endpoint. */
export function registerSetTeacherApiKeyCommand(services: Services): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.setTeacherApiKey', async (): Promise<boolean> => {
    const { baseUrl } = readSettings().teacher;
    let secret: string;
    try {
      secret = teacherApiKeySecret(baseUrl);
    } catch (error) {
      void vscode.window.showErrorMessage(`PeerKD: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
    const hadKey = (await services.context.secrets.get(secret)) !== undefined;
    const value = await vscode.window.showInputBox({
      title: 'PeerKD: Set Teacher API Key',
      prompt: `API key for ${baseUrl} (kept in the editor's secret storage; leave empty to remove${hadKey ? ' the stored key' : ''}).`,
      password: true,
      ignoreFocusOut: true,
      placeHolder: 'sk-…',
    });
    if (value === undefined) return false;
    if (value.trim().length === 0) {
      await services.context.secrets.delete(secret);
      services.log.info(`Teacher API key for ${baseUrl} removed`);
      void vscode.window.showInformationMessage(`PeerKD: the teacher API key for ${baseUrl} was removed.`);
      return true;
    }
    await services.context.secrets.store(secret, value.trim());
    services.log.info(`Teacher API key for ${baseUrl} stored in secret storage`);
    void vscode.window.showInformationMessage(`PeerKD: teacher API key stored for ${baseUrl}.`);
    return true;
  });
}
