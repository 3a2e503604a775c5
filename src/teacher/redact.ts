/**
 * The API key must never reach a log, a summary, an artefact or an error message. Every message that leaves the
 * teacher module passes through `redactSecret`, which also covers a server that echoes the Authorization header back.
 */
export const REDACTED = '[redacted]';

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
