/** One `peerkd` subcommand. `run` returns the process exit code; errors it throws are printed as one line. */
export interface CliCommand {
  name: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** Thrown for bad command-line usage: printed with the command's help, exit code 2. */
export class UsageError extends Error {}
