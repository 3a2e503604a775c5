/**
 * Tokens a text is billed for, roughly, before anything is sent (the teacher's and the embedding endpoint's cost
 * estimates): about four bytes of UTF-8 per token — four characters of English text, and close for CJK (three bytes a
 * character, about one token per character or a little more). Counting characters instead estimated a Japanese or
 * Chinese dataset at a quarter or less of what it is billed; scripts of two bytes a character (Cyrillic, Greek,
 * Arabic) are estimated on the high side, which for a cost shown before paying is the safer error.
 */
export const UTF8_BYTES_PER_TOKEN = 4;

export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / UTF8_BYTES_PER_TOKEN);
}
