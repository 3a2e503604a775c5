import * as vscode from 'vscode';
import { showErrorMessage, showInformationMessage } from '../editor/messages';
import type { Services } from '../editor/services';
import { readSettings } from '../editor/settings';
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
 * "PeerKD: Set Teacher API Key": stores (or, given an empty value, removes) the key for the configured endpoint. The
 * endpoint encoder's URL (peerkd.encoder.baseUrl) keeps its key the same way: the command asks which URL when the two
 * differ, and the distillation passes it the encoder's URL.
 */
export function registerSetTeacherApiKeyCommand(services: Services): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.setTeacherApiKey', async (target?: unknown): Promise<boolean> => {
    const settings = readSettings();
    let baseUrl = settings.teacher.baseUrl;
    if (typeof target === 'string' && target.length > 0) baseUrl = target;
    else if (settings.encoder.baseUrl && settings.encoder.baseUrl !== settings.teacher.baseUrl) {
      const picked = await vscode.window.showQuickPick(
        [
          { label: settings.teacher.baseUrl, description: 'teacher (peerkd.teacher.baseUrl)' },
          { label: settings.encoder.baseUrl, description: 'endpoint encoder (peerkd.encoder.baseUrl)' },
        ],
        { title: 'PeerKD: Set Teacher API Key', placeHolder: 'Which endpoint is the key for?' },
      );
      if (!picked) return false;
      baseUrl = picked.label;
    }
    let secret: string;
    try {
      secret = teacherApiKeySecret(baseUrl);
    } catch (error) {
      void showErrorMessage(`PeerKD: ${error instanceof Error ? error.message : String(error)}`);
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
      void showInformationMessage(`PeerKD: the teacher API key for ${baseUrl} was removed.`);
      return true;
    }
    await services.context.secrets.store(secret, value.trim());
    services.log.info(`Teacher API key for ${baseUrl} stored in secret storage`);
    void showInformationMessage(`PeerKD: teacher API key stored for ${baseUrl}.`);
    return true;
  });
}
