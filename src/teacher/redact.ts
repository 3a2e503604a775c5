/**
 * The API key must never reach a log, a summary, an artefact or an error message. Every message that leaves the
 * teacher module passes through `redactSecret`, which also covers a server that echoes the Authorization header back.
 */
export const REDACTED = '[redacted]';

/**
 * REDACTED fitted to exactly `length` bytes, padded with '*' (only '*' when shorter): ASCII without quotes or
 * backslashes, so written over a key's bytes in place it keeps a JSON line valid and every other byte where it is.
 */
export function redactionOfLength(length: number): string {
  return length >= REDACTED.length ? REDACTED + '*'.repeat(length - REDACTED.length) : '*'.repeat(length);
}

/**
 * The message with every occurrence of the key masked. The key is searched without surrounding white space: a key read
 * as ` sk-…\r` (a line copied from a CRLF file) is sent trimmed, since a header value is, and a server that echoes it
 * echoes the trimmed key.
 */
export function redactSecret(message: string, secret: string | undefined): string {
  const needle = secret?.trim();
  if (!needle || needle.length < 4) {
    return message;
  }
  return message.split(needle).join(REDACTED);
}

/**
 * Why a key (trimmed, not empty) cannot be sent in an Authorization header, or undefined: as the words after "The key"
 * (editor) or "$VAR" (CLI). A header carries one token of printable ASCII: a key with a line break or a space in it
 * (two keys pasted, a file with two lines) or with a character such as `…` copied from a placeholder failed every
 * request with an error about the header, never naming the key, until the run gave up on the endpoint as down.
 */
export function apiKeyProblem(key: string): string | undefined {
  if (/\s/.test(key)) return 'holds a line break or a space: paste one key only';
  const odd = [...key].find((character) => !/[\x21-\x7e]/.test(character));
  if (odd !== undefined) return `holds the character U+${odd.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}: an API key is plain ASCII letters, digits and signs`;
  return undefined;
}

export function describeError(error: unknown, secret: string | undefined): string {
  const raw = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return redactSecret(raw, secret);
}

/** An error and its causes, outermost first (fetch failed → the socket's error), at most five; none for a non-Error. */
export function errorChain(error: unknown): Error[] {
  const chain: Error[] = [];
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 5; cause = (cause as { cause?: unknown }).cause, depth += 1) chain.push(cause);
  return chain;
}

/**
 * errorChain with each AggregateError's own errors after it: one per address tried, where a name has several (such as
 * localhost's ::1 and 127.0.0.1).
 */
export function errorChainWithTried(error: unknown): unknown[] {
  return errorChain(error).flatMap((cause) => {
    const tried = (cause as { errors?: unknown }).errors;
    return [cause, ...(Array.isArray(tried) ? (tried as unknown[]) : [])];
  });
}
