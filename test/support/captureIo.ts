import type { CliIo } from '../../src/cli/distill';

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
