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

export function redactSecret(message: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) {
    return message;
  }
  return message.split(secret).join(REDACTED);
}

export function describeError(error: unknown, secret: string | undefined): string {
  const raw = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return redactSecret(raw, secret);
}
