/**
 * The teacher's settings and their defaults. Kept free of the SDK and of file access so that the editor's settings
 * mirror can import it without loading the OpenAI client at activation.
 */
import { DEFAULT_PROMPT_TEMPLATE } from './prompt';

/** The `peerkd.teacher.*` settings (the API key is not one of them: it lives in SecretStorage or the environment). */
export interface TeacherSettings {
  baseUrl: string;
  model: string;
  temperature: number;
  maxConcurrency: number;
  requestTimeoutMs: number;
  maxRetries: number;
  /** Instruction; `{{labels}}` is replaced by the label set. Empty: the built-in instruction. */
  promptTemplate: string;
  fewShotExamples: number;
  useBatchApi: boolean;
  relabel: boolean;
}

/** The longest request timeout: setTimeout's 32-bit limit (about 24.8 days); Node fires a longer timer after 1 ms. */
export const MAX_REQUEST_TIMEOUT_MS = 2_147_483_647;
/**
 * The highest sampling temperature (`peerkd.teacher.temperature`'s maximum, `--temperature`'s too): OpenAI's chat API
 * refuses more with HTTP 400, so a higher value would fail every request of the run instead of being said at once.
 */
export const MAX_TEMPERATURE = 2;
/** The most requests in flight (`peerkd.teacher.maxConcurrency`'s maximum, `--concurrency`'s too). */
export const MAX_CONCURRENCY = 256;
/** The most few-shot examples in a prompt (`peerkd.teacher.fewShotExamples`'s maximum, `--few-shot`'s too). */
export const MAX_FEW_SHOT_EXAMPLES = 64;
/**
 * The most retries of one request (`peerkd.teacher.maxRetries`'s maximum, `--max-retries`'s too). With the
 * exponential backoff, twenty retries already wait through a long outage for each row; more (1e9) kept a row that
 * can never succeed retrying for as long as the run was left open.
 */
export const MAX_RETRIES = 20;
/** The shortest request timeout a run takes (`peerkd.teacher.requestTimeoutMs`'s minimum in the manifest, `--timeout-ms`'s too). */
export const MIN_REQUEST_TIMEOUT_MS = 1000;

export const DEFAULT_TEACHER_SETTINGS: TeacherSettings = {
  baseUrl: 'https://api.openai.com/v1',
  model: 'gpt-4o-mini',
  temperature: 0,
  maxConcurrency: 8,
  requestTimeoutMs: 60_000,
  maxRetries: 5,
  promptTemplate: DEFAULT_PROMPT_TEMPLATE,
  fewShotExamples: 8,
  useBatchApi: false,
  relabel: false,
};
