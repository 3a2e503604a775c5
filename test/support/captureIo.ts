import { Writable } from 'node:stream';
import type { CliIo } from '../../src/cli/distill';
import type { LabelCommandIo } from '../../src/cli/label';

/** A CLI command's stdout and stderr (not a terminal), captured: `out()` and `err()` are what it wrote so far. */
export function captureIo(): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text), isTTY: false },
    stderr: { write: (text: string) => (err += text), isTTY: false },
    out: () => out,
    err: () => err,
  };
}

/** A writable stream that keeps what was written (`text`): stdout or stderr of a command that takes streams. */
export class CapturedStream extends Writable {
  text = '';
  isTTY: boolean;
  columns = 100;
  constructor(tty = false) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

/** `peerkd label`'s streams, captured, with `env` and a fast back-off (2 ms, at most `maxDelayMs`). */
export function labelIo(env: NodeJS.ProcessEnv = {}, options: { ttyErr?: boolean; maxDelayMs?: number } = {}): LabelCommandIo & { stdout: CapturedStream; stderr: CapturedStream } {
  return { stdout: new CapturedStream(), stderr: new CapturedStream(options.ttyErr), env, backoff: { initialDelayMs: 2, maxDelayMs: options.maxDelayMs ?? 20 } };
}
