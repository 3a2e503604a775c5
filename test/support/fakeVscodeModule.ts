/**
 * Lets a unit test load a module that imports `vscode` (commands, editor glue): `require('vscode')` answers `fake`
 * until `after` runs. Node's module loader is patched, so install it before the module under test is loaded.
 */
import { after } from 'node:test';
import Module from 'node:module';

export function stubVscodeModule(fake: unknown): void {
  const moduleInternals = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const originalLoad = moduleInternals._load;
  moduleInternals._load = function load(this: unknown, request: string, ...rest: unknown[]) {
    return request === 'vscode' ? fake : originalLoad.call(this, request, ...rest);
  };
  after(() => {
    moduleInternals._load = originalLoad;
  });
}

/** A stand-in for `vscode.Uri` of a file on disk: what the commands read of one. */
export class FakeUri {
  readonly scheme = 'file';
  constructor(readonly fsPath: string) {}
  get path(): string {
    return this.fsPath;
  }
  toString(): string {
    return `file://${this.fsPath}`;
  }
}

/** A stand-in for the extension's LogOutputChannel that records each line with its level into `into`. */
export function recordingLog(into: { level: string; line: string }[]) {
  return {
    info: (line: string) => into.push({ level: 'info', line }),
    warn: (line: string) => into.push({ level: 'warn', line }),
    error: (line: string) => into.push({ level: 'error', line }),
    debug: (line: string) => into.push({ level: 'debug', line }),
    show: () => undefined,
  };
}
