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
  if (/[?#]/.test(trimmed)) {
    // Each request's path is appended to the base URL as written: after a query (`?api-key=…`) or a fragment it went to
    // the base path itself (HTTP 404), and the query, a key as often as not, was shown in every message. Shown without it.
    throw new Error(
      `${subject} '${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}' is followed by a query (?…) or a fragment (#…); ` +
        'requests add their own path (/chat/completions) to the base URL, so it must end with its path. Give the URL without it, ' +
        'and a key as the API key (environment variable or PeerKD: Set Teacher API Key).',
    );
  }
  return trimmed;
}

/**
 * A URL as a message may show it when it could not be parsed: everything up to its last `@` after the scheme (a user
 * name and password, `https://user:pass@host:99999`) masked. A host holds no `@`, so nothing but credentials (or, at
 * worst, part of an odd path) is hidden.
 */
export function withoutCredentials(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^]*@/i, (_match, scheme: string | undefined) => `${scheme ?? ''}***@`);
}

/** A host that is this machine: localhost, 127.x.x.x or ::1 (brackets allowed). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The warning for an API key about to go over plain http to another machine (anyone on the network path can read
 * it), or undefined: no key, https, or this machine. Said once before a run starts (CLI and editor), never refused:
 * a server on the local network may have no TLS.
 */
export function plainHttpKeyWarning(baseUrl: string, apiKey: string | undefined): string | undefined {
  if (!apiKey) return undefined;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || isLoopbackHost(url.hostname)) return undefined;
  return `the API key goes to ${url.host} over plain http, readable on the way: use https:// if the server offers it`;
}

/**
 * Whether NO_PROXY (`*`, or hosts and domain suffixes, each with an optional port) names the URL's host: the one reading
 * of it, for every request the CLI and the training worker send (proxy.ts).
 */
export function exemptFromProxy(url: URL, noProxy: string): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((entry) => {
      if (entry === '*') return true;
      const [, name = '', port] = /^\[?(.*?)\]?(?::(\d+))?$/.exec(entry.toLowerCase()) ?? [];
      if (port !== undefined && port !== (url.port || (url.protocol === 'https:' ? '443' : '80'))) return false;
      const bare = name.replace(/^\*?\./, '');
      return bare !== '' && (host === bare || host.endsWith(`.${bare}`));
    });
}
