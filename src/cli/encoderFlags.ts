/**
 * The `endpoint` encoder's flags, shared by distill, predict and bench: where `/embeddings` is, which model, and the
 * environment variable holding the key (the teacher's, as in `peerkd label`). The key never appears in argv.
 */
import { DEFAULT_ENCODER_MODEL, MAX_EMBEDDING_DIMS } from '../training/encoders/endpoint';
import type { EndpointEncoderSettings } from '../training/types';
import { DEFAULT_TEACHER_SETTINGS, MAX_CONCURRENCY } from '../teacher/settings';
import { apiKeyProblem } from '../teacher/redact';
import { normaliseBaseUrl } from '../teacher/url';
import { UsageError } from './command';

export const DEFAULT_API_KEY_ENV = 'OPENAI_API_KEY';

/**
 * The API key in the variable `name` (`--api-key-env`), trimmed, or undefined when it is unset or blank. A key that no
 * request could carry (a line break or a space in it, a character that is not ASCII) is refused before anything is
 * sent, naming the variable and never the key: it failed every request with an error about the header and was
 * retried as if the endpoint were down.
 */
export function apiKeyFromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const { key, problem } = apiKeyInEnv(env, name);
  if (problem) throw new Error(problem);
  return key;
}

/** apiKeyFromEnv, the refusal given back rather than thrown (for commands that may not send the key at all). */
function apiKeyInEnv(env: NodeJS.ProcessEnv, name: string): { key?: string; problem?: string } {
  const key = env[name]?.trim();
  if (!key) return {};
  const problem = apiKeyProblem(key);
  return problem ? { problem: `the API key in $${name} ${problem} (the key is not shown)` } : { key };
}

export const ENCODER_ENDPOINT_OPTIONS = {
  'encoder-base-url': { type: 'string' },
  'encoder-model': { type: 'string' },
  'encoder-dimensions': { type: 'string' },
  'encoder-concurrency': { type: 'string' },
  'api-key-env': { type: 'string' },
} as const;

export const ENCODER_ENDPOINT_HELP = `  --encoder-base-url URL  the endpoint encoder's OpenAI-compatible base URL (default ${DEFAULT_TEACHER_SETTINGS.baseUrl});
                          it posts the texts to URL/embeddings
  --encoder-model M       its embedding model (default ${DEFAULT_ENCODER_MODEL})
  --encoder-dimensions N  vector size to ask for, 1 to ${MAX_EMBEDDING_DIMS} (text-embedding-3-* only; default the
                          model's own)
  --encoder-concurrency N requests in flight at once, 1 to ${MAX_CONCURRENCY} (default ${DEFAULT_TEACHER_SETTINGS.maxConcurrency})
  --api-key-env VAR       environment variable holding its API key (default ${DEFAULT_API_KEY_ENV}; unset = no key)`;

function positive(raw: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new UsageError(max === Number.MAX_SAFE_INTEGER ? `--${name} must be an integer ≥ 1, got '${String(raw)}'` : `--${name} must be an integer from 1 to ${max}, got '${String(raw)}'`);
  }
  return value;
}

/**
 * The settings the flags name (undefined when none is given: the encoder's defaults, or for predict the endpoint the
 * model was trained with), and the key from the environment, trimmed (apiKeyFromEnv). A key no request could carry is
 * refused when the flags name an endpoint; else its refusal is `apiKeyProblem` (and no key), for the command to give
 * once it knows the endpoint encoder is used: a run without it sends no key, and must not fail on one.
 */
export function encoderEndpointFromFlags(
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): { settings?: EndpointEncoderSettings; apiKey?: string; apiKeyEnv: string; apiKeyProblem?: string } {
  const apiKeyEnv = typeof values['api-key-env'] === 'string' ? values['api-key-env'] : DEFAULT_API_KEY_ENV;
  const { key: apiKey, problem: apiKeyProblem } = apiKeyInEnv(env, apiKeyEnv);
  const given = ['encoder-base-url', 'encoder-model', 'encoder-dimensions', 'encoder-concurrency'].some((name) => values[name] !== undefined);
  if (!given) return { apiKey, apiKeyEnv, ...(apiKeyProblem ? { apiKeyProblem } : {}) };
  if (apiKeyProblem) throw new Error(apiKeyProblem);
  let baseUrl: string;
  try {
    // Named as the user set it: "--encoder-base-url 'x' is not a valid URL", not the teacher's base URL.
    baseUrl = normaliseBaseUrl(typeof values['encoder-base-url'] === 'string' ? values['encoder-base-url'] : DEFAULT_TEACHER_SETTINGS.baseUrl, '--encoder-base-url');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const model = typeof values['encoder-model'] === 'string' ? values['encoder-model'].trim() : DEFAULT_ENCODER_MODEL;
  if (!model) throw new UsageError('--encoder-model needs a model name');
  // At most the largest vector the encoder accepts: a size asked for is trusted without a probe, and sizes the
  // buffers of every batch (--encoder-dimensions 100000000 was 'Invalid typed array length' mid-run).
  const dimensions = positive(values['encoder-dimensions'], 'encoder-dimensions', MAX_EMBEDDING_DIMS);
  // The bound of --concurrency and of peerkd.teacher.maxConcurrency, which the editor's endpoint encoder reads.
  const maxConcurrency = positive(values['encoder-concurrency'], 'encoder-concurrency', MAX_CONCURRENCY);
  return {
    settings: { baseUrl, model, ...(dimensions ? { dimensions } : {}), ...(maxConcurrency ? { maxConcurrency } : {}) },
    apiKey,
    apiKeyEnv,
  };
}
