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
import { version } from '../../package.json';

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
    'Run `peerkd <command> --help` (or `peerkd help <command>`) for the options of one command; `peerkd --version`',
    'prints the version.',
    '',
    ...EXIT_CODES_HELP.split('\n'),
  ].join('\n');
}

/** The command a mistyped name is closest to (`distil` → distill); undefined when none is close. */
function closestCommand(name: string): string | undefined {
  const distance = (a: string, b: string): number => {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const current = [i];
      for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
    return previous[b.length];
  };
  const scored = commands.map((command) => ({ name: command.name, edits: distance(name.toLowerCase(), command.name) })).sort((a, b) => a.edits - b.edits);
  // Two edits for a name of five letters or more (lable, distil), one for a shorter one ('nope' is no 'move').
  return scored[0] && scored[0].edits <= (name.length >= 5 ? 2 : 1) ? scored[0].name : undefined;
}

function unknownCommand(name: string): number {
  const closest = closestCommand(name);
  stderr.lines([`peerkd: unknown command '${name}'${closest ? ` (did you mean ${closest}?)` : ''}`, '', ...usage().split('\n')]);
  return EXIT.usage;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    stdout.lines([`peerkd ${version}`]);
    return EXIT.ok;
  }
  // `peerkd help distill` is distill's help, as `git help` and `npm help` take it; `peerkd help` the list of commands.
  if (name === 'help' && rest.length > 0) {
    const command = commands.find((candidate) => candidate.name === rest[0]);
    return command ? command.run(['--help']) : unknownCommand(rest[0]);
  }
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
  if (!command) return unknownCommand(name);
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
  // Standard error whose reader went away (`… 2>&1 | head -1`): what is left to say there is lost, and the command goes
  // on, ending with its own exit code. Unhandled, the failed write was thrown from the error handler itself (exit 7).
  process.stderr.on('error', () => undefined);
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
