/** What a base URL's message calls it when the caller names nothing: the teacher's (client, cache key, key storage). */
const TEACHER_BASE_URL_SUBJECT = 'The teacher base URL';

/**
 * Base-URL checks shared by the client, the cache key and the editor's per-endpoint key storage (no SDK here).
 * `subject` is what the user set, as the messages name it: `--encoder-base-url`, `the setting peerkd.encoder.baseUrl`
 * (each message is `<subject> '<url>' …`).
 */
export function normaliseBaseUrl(baseUrl: string, subject: string = TEACHER_BASE_URL_SUBJECT): string {
  const trimmed = baseUrl.trim().replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    throw new Error(`${subject} '${withoutCredentials(trimmed)}' is not a valid URL (expected e.g. http://localhost:11434/v1).`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`${subject} '${withoutCredentials(trimmed)}' must start with http:// or https://.`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    // Shown without them: the message reaches the terminal and the log.
    throw new Error(
      `${subject} '${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}' holds a user name or password; ` +
        'requests cannot carry them in the URL. Give the key as the API key (environment variable or PeerKD: Set Teacher API Key) instead.',
    );
  }
  return trimmed;
}

/**
 * A URL as a message may show it when it could not be parsed: everything up to its last `@` after the scheme (a user
 * name and password, `https://user:pass@host:99999`) masked. A host holds no `@`, so nothing but credentials (or, at
 * worst, part of an odd path) is hidden.
 */
function withoutCredentials(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^]*@/i, (_match, scheme: string | undefined) => `${scheme ?? ''}***@`);
}
