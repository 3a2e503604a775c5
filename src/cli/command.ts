import { parseLabelList } from '../dataset/labels';

/** One `peerkd` subcommand. `run` returns the process exit code; errors it throws are printed as one line. */
export interface CliCommand {
  name: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** Thrown for bad command-line usage: printed with the command's help, exit code 2. */
export class UsageError extends Error {}

/** `--labels A,B,C`: an explicit list must name labels, each once, each within the label length limit. */
export function labelsOption(spec: string): string[] {
  try {
    return parseLabelList(spec, '--labels');
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
