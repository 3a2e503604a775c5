/**
 * Where a file's bytes stop being UTF-8, found while the file streams past for another reason (its sha256, a
 * document's check), so no read is added and no size is too large. One validator for every caller: the training
 * input's warning and the editor's refusal to write into a document name the same line.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';

const LF = 0x0a;
const CR = 0x0d;

/**
 * An incremental UTF-8 validator that reports the 1-based line of the first invalid byte. It rejects exactly what
 * TextDecoder('utf-8', { fatal: true }) rejects (the WHATWG decoder): stray continuation bytes, C0/C1 and F5–FF
 * leads, overlong forms (E0 80–9F, F0 80–8F), surrogates (ED A0–BF), code points over U+10FFFF (F4 90–BF) and a
 * sequence cut short, by another byte or by the end of the data. A sequence may be split between chunks. Lines
 * are counted as the editor counts them (lines.ts): LF, CRLF and a lone CR each end one. The line named is the line
 * of the first byte that cannot be decoded (the lead of a sequence cut short).
 *
 * Valid text costs one native check per chunk (`isUtf8`) plus a search for line ends; only a chunk that holds an
 * invalid byte, and the at most three bytes of a sequence split between chunks, go through the byte loop.
 */
export class Utf8LineValidator {
  /** Line ends seen before the current byte, so the current line is `ends + 1`. */
  private ends = 0;
  /** The last byte seen was a CR: an LF right after it ends no further line. */
  private afterCr = false;
  /** Continuation bytes still needed by the sequence under way (0: between characters). */
  private needed = 0;
  /** The range the next continuation byte must be in (narrower after E0, ED, F0, F4). */
  private lower = 0x80;
  private upper = 0xbf;
  private invalidLine: number | null = null;
  private ended = false;

  /** Takes the next bytes. Returns false once an invalid byte was found (later bytes need not be given). */
  update(chunk: Uint8Array): boolean {
    if (this.invalidLine !== null) return false;
    if (this.ended) throw new Error('Utf8LineValidator: update after end');
    let start = 0;
    const length = chunk.length;
    // Finish a sequence begun in the previous chunk (at most three bytes).
    while (this.needed > 0 && start < length) {
      if (!this.step(chunk[start])) return false;
      start++;
    }
    if (start >= length) return true;
    // Leave out a sequence that this chunk's end cuts short: the byte loop takes it, and the next chunk finishes it.
    const cut = completeEnd(chunk, start);
    const whole = chunk.subarray(start, cut);
    if (isUtf8(whole)) {
      this.countLineEnds(whole);
      start = cut;
    }
    for (let at = start; at < length; at++) {
      if (!this.step(chunk[at])) return false;
    }
    return true;
  }

  /** Ends the data: a sequence still under way is cut short. Returns the line of the first invalid byte, or null. */
  end(): number | null {
    this.ended = true;
    if (this.invalidLine === null && this.needed > 0) this.invalidLine = this.ends + 1;
    return this.invalidLine;
  }

  /** One byte through the WHATWG UTF-8 decoder's states; false (and the line noted) when it is invalid. */
  private step(byte: number): boolean {
    if (this.needed > 0) {
      if (byte < this.lower || byte > this.upper) {
        // The sequence under way is cut short: the line is its lead's (no line end came between, as those are ASCII).
        this.invalidLine = this.ends + 1;
        return false;
      }
      this.lower = 0x80;
      this.upper = 0xbf;
      this.needed--;
      return true;
    }
    if (byte < 0x80) {
      if (byte === LF) {
        if (!this.afterCr) this.ends++;
        this.afterCr = false;
      } else if (byte === CR) {
        this.ends++;
        this.afterCr = true;
      } else {
        this.afterCr = false;
      }
      return true;
    }
    this.afterCr = false;
    if (byte >= 0xc2 && byte <= 0xdf) {
      this.needed = 1;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      if (byte === 0xe0) this.lower = 0xa0;
      else if (byte === 0xed) this.upper = 0x9f;
      this.needed = 2;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      if (byte === 0xf0) this.lower = 0x90;
      else if (byte === 0xf4) this.upper = 0x8f;
      this.needed = 3;
    } else {
      this.invalidLine = this.ends + 1;
      return false;
    }
    return true;
  }

  /** Counts the line ends of valid bytes (no sequence under way before or after them). */
  private countLineEnds(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    let ends = 0;
    for (let at = bytes.indexOf(CR); at !== -1; at = bytes.indexOf(CR, at + 1)) ends++;
    for (let at = bytes.indexOf(LF); at !== -1; at = bytes.indexOf(LF, at + 1)) {
      if (!(at === 0 ? this.afterCr : bytes[at - 1] === CR)) ends++;
    }
    this.ends += ends;
    this.afterCr = bytes[bytes.length - 1] === CR;
  }
}

/**
 * Where `bytes` end without a sequence that their end cuts short (a lead byte among the last three, at or after
 * `start`, whose continuation bytes do not all fit). Bytes that are not UTF-8 are left in (isUtf8 then fails on them).
 */
function completeEnd(bytes: Uint8Array, start: number): number {
  const length = bytes.length;
  let at = length - 1;
  while (at >= start && at >= length - 3 && (bytes[at] & 0xc0) === 0x80) at--;
  if (at < start || at < length - 3) return length;
  const lead = bytes[at];
  const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return at + size > length ? at : length;
}

/**
 * The first line of a file that holds bytes that are not valid UTF-8, or null: the file is streamed, and the read
 * stops at that line. Rejects as the read does (a missing file: ENOENT).
 */
export async function firstInvalidUtf8LineOfFile(path: string): Promise<number | null> {
  const validator = new Utf8LineValidator();
  for await (const chunk of createReadStream(path)) {
    if (!validator.update(chunk as Buffer)) break;
  }
  return validator.end();
}
