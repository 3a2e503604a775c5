/**
 * `peerkd` command-line tool. Each subcommand lives in its own module and is listed here once.
 * The CLI shares the plain-TypeScript cores with the extension and the worker; it never imports `vscode`.
 */
import { EXIT, EXIT_CODES_HELP, type CliCommand } from './command';
import { distillCommand } from './distill';
import { predictCommand } from './predict';
import { exportCommand } from './export';
import { moveCommand } from './move';
import { labelCommand } from './label';
import { benchCommand } from './bench';
import { printError } from './distill';
import { Terminal } from './terminal';

const stdout = new Terminal(process.stdout);
const stderr = new Terminal(process.stderr);

const commands: CliCommand[] = [
  labelCommand,
  distillCommand,
  predictCommand,
  exportCommand,
  moveCommand,
  benchCommand,
];

function usage(): string {
  const width = Math.max(...commands.map((command) => command.name.length), 4);
  return [
    'Usage: peerkd <command> [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Run `peerkd <command> --help` for the options of one command.',
    '',
    ...EXIT_CODES_HELP.split('\n'),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    stdout.lines(usage().split('\n'));
    return EXIT.ok;
  }
  // No command is a usage error, said where every usage error is: on stderr, exit 2.
  if (name === undefined) {
    stderr.lines(['peerkd: missing command', '', ...usage().split('\n')]);
    return EXIT.usage;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    stderr.lines([`peerkd: unknown command '${name}'`, '', ...usage().split('\n')]);
    return EXIT.usage;
  }
  return command.run(rest);
}

/**
 * The reader of standard output went away (`peerkd predict … | head -1`): stop quietly, as other command-line tools
 * do, instead of Node's unhandled 'error' stack trace. Any other failure to write it is one line on stderr.
 */
function onStdoutError(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  printError(stderr, `peerkd: cannot write to standard output: ${error.message}`);
  process.exit(1);
}

if (require.main === module) {
  process.stdout.on('error', onStdoutError);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      printError(stderr, `peerkd: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
