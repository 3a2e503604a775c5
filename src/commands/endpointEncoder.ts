/**
 * Before a distillation with the `endpoint` encoder (runDistillation.ts): which server, its key, and the user's go-ahead
 * on what will be sent. The key stays in memory; the caller hands it to the worker through its environment.
 */
import { showErrorMessage, showInformationMessage, showWarningMessage } from '../editor/messages';
import { parseDatasetText } from '../dataset/index';
import type { PeerKdSettings } from '../editor/settings';
import type { Services } from '../editor/services';
import { normaliseBaseUrl, plainHttpKeyWarning } from '../teacher/url';
import { formatEmbeddingEstimate } from '../training/encoders/endpoint';
import type { EndpointEncoderSettings } from '../training/types';
import { teacherApiKeyOrAsk } from './setTeacherApiKey';

/**
 * The `endpoint` encoder's server, its key (SecretStorage, per base URL, as the teacher's) and the user's go-ahead on
 * what the run will send; undefined when the user stops there.
 */
export async function prepareEndpointEncoder(services: Services, name: string, settings: PeerKdSettings, datasetText: string): Promise<{ endpoint: EndpointEncoderSettings; apiKey?: string } | undefined> {
  let baseUrl: string;
  try {
    // The message names the setting the URL came from, not "the teacher base URL".
    const subject = settings.encoder.baseUrl ? 'the setting peerkd.encoder.baseUrl' : 'the setting peerkd.teacher.baseUrl (peerkd.encoder.baseUrl is empty)';
    baseUrl = normaliseBaseUrl(settings.encoder.baseUrl || settings.teacher.baseUrl, subject);
  } catch (error) {
    void showErrorMessage(`PeerKD: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  const model = settings.encoder.model;
  const key = await teacherApiKeyOrAsk(services, baseUrl, ', which the endpoint encoder (peerkd.training.encoder) uses');
  if (!key) return undefined;
  const apiKey = key.apiKey;
  const plainHttp = plainHttpKeyWarning(baseUrl, apiKey);
  if (plainHttp) {
    services.log.warn(`Endpoint encoder: ${plainHttp}`);
    void showWarningMessage(`PeerKD: ${plainHttp}.`);
  }
  const texts = parseDatasetText(datasetText, settings.fields).rows.flatMap((row) => (row.text !== null && row.text.trim() ? [row.text] : []));
  const estimate = formatEmbeddingEstimate(texts, baseUrl, model);
  const go = await showInformationMessage(
    `Distil ${name} with the endpoint encoder?`,
    { modal: true, detail: `${estimate}.\n\nEach row's text is sent to ${baseUrl}/embeddings once; the vectors are cached next to the dataset. Set peerkd.training.encoder to glove or none to train without sending anything.` },
    'Run',
  );
  if (go !== 'Run') return undefined;
  services.log.info(estimate);
  const teacher = settings.teacher;
  return {
    endpoint: { baseUrl, model, maxConcurrency: teacher.maxConcurrency, requestTimeoutMs: teacher.requestTimeoutMs, maxRetries: teacher.maxRetries },
    apiKey,
  };
}
