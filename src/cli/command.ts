import { existsSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { splitFieldPath } from '../dataset/fields';
import { FIELD_KEYS, shellWord, type FieldMapping } from '../dataset/types';
import { parseLabelList } from '../dataset/labels';
import { ENCODER_ARGUMENT_NAMES, parseEncoderChoice, type EncoderChoice } from '../training/types';
import { resolveEncoderFolder, staticEncoderProblem } from '../training/encoders/static';

/** One `peerkd` subcommand. `run` returns the process exit code; errors it throws are printed as one line. */
export interface CliCommand {
  name: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** Thrown for bad command-line usage: printed with the command's help, exit code 2. */
export class UsageError extends Error {}

/**
 * The exit codes of every command, as each command's help and the README say them: one table, so that no command
 * answers a usage error with 1 or a bad file with 2.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130, terminated: 143 } as const;

/** The exit-code lines every command's help ends with (the codes above, in words). */
export const EXIT_CODES_HELP = `Exit codes: ${EXIT.ok} done; ${EXIT.failed} a file or the run failed (the message names the file and line); ${EXIT.usage} a usage
error (unknown, repeated or malformed flag; the help follows); ${EXIT.interrupted} interrupted (Ctrl-C), ${EXIT.terminated} terminated (SIGTERM).`;

/**
 * A command's flags, parsed strictly from its one option table (the table its --help is checked against): an unknown
 * flag, a flag with a value given twice (`--seed 1 --seed 2` would silently run seed 2), or an empty path (a
 * positional, named in `paths.positionals`, or one of `paths.flags`) is a UsageError, as Node's parse errors are.
 */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  paths: { positionals: readonly string[]; flags: readonly (keyof T & string)[] },
) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const unknown = unknownOption(argv, options);
      if (unknown) throw new UsageError(unknown);
    }
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  // --help answers whatever else the line holds (`peerkd bench --seeds 1 --seeds 2 --help`).
  if ((parsed.values as { help?: unknown }).help === true) return { values: parsed.values, positionals: parsed.positionals };
  const seen = new Map<string, string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || options[token.name]?.type !== 'string' || options[token.name]?.multiple) continue;
    const earlier = seen.get(token.name);
    if (earlier !== undefined) {
      throw new UsageError(`--${token.name} is given twice ('${earlier}' and '${token.value ?? ''}'): give it once`);
    }
    seen.set(token.name, token.value ?? '');
  }
  // An empty path would be the current folder (path.resolve('')): a run folder or an output written where no one asked.
  parsed.positionals.forEach((positional, index) => {
    if (positional === '') throw new UsageError(`${paths.positionals[index] ?? 'an argument'} is empty: give a path`);
  });
  for (const flag of paths.flags) {
    if ((parsed.values as Record<string, unknown>)[flag] === '') throw new UsageError(`--${flag} is empty: give a path`);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/**
 * The argument of `argv` that holds an unknown option, said as the user typed it. Node names only the option it
 * stopped on: `distill -dash.jsonl` (a file whose name starts with '-') was "Unknown option '-d'", with a suggestion
 * to write `-- "-d"`; here the argument is named whole, with the two ways to give such a path.
 */
function unknownOption(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>): string | undefined {
  const shorts = new Map(Object.values(options).flatMap((option) => (option.short ? [[option.short, option] as const] : [])));
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--') return undefined;
    if (!argument.startsWith('-') || argument === '-') continue;
    let option: string | undefined;
    if (argument.startsWith('--')) {
      const name = argument.slice(2).split('=')[0];
      const known = Object.hasOwn(options, name) ? options[name] : undefined;
      if (!known) option = `--${name}`;
      else if (known.type === 'string' && !argument.includes('=')) index++;
    } else {
      const letters = [...argument.slice(1)];
      const unknown = letters.find((letter) => !shorts.has(letter));
      if (unknown !== undefined) option = `-${unknown}`;
      else if (letters.length === 1 && shorts.get(letters[0])?.type === 'string') index++;
    }
    if (option === undefined) continue;
    // A path: the option is a piece of it (-d of -dash.jsonl), or a file of that name is there (--x.jsonl).
    const path = option !== argument || existsSync(argument);
    return path
      ? `unknown option '${option}'${option !== argument ? ` (in '${argument}')` : ''}: a path that starts with '-' goes after -- (-- ${shellWord(argument)}) or as ${shellWord(`./${argument}`)}`
      : `unknown option '${option}'`;
  }
  return undefined;
}

/**
 * Checks a command's positional arguments against the ones it takes (`names`, e.g. ['MODEL_DIR', 'DATA.jsonl']): a
 * UsageError that says which is missing, or which are too many, quoted; an option after `--` (every argument there is
 * a path: `distill -- -x.jsonl --seed 1`) is said as such.
 */
export function expectPositionals(positionals: readonly string[], names: readonly string[]): void {
  if (positionals.length === names.length) return;
  if (positionals.length < names.length) throw new UsageError(`missing ${names.slice(positionals.length).join(' and ')}`);
  const extra = positionals.slice(names.length);
  const shown = extra.slice(0, 5).map((argument) => JSON.stringify(argument)).join(', ') + (extra.length > 5 ? ', …' : '');
  const option = extra.some((argument) => argument.startsWith('-'))
    ? ': after --, every argument is taken as a path; give the options before --'
    : '';
  throw new UsageError(`expected ${names.join(' and ')} only, got ${extra.length} more: ${shown}${option}`);
}

/**
 * An integer flag, written as decimal digits (not '', '1e3', '0x10', '1.0'), from `minimum` to `maximum`; `fallback`
 * when the flag is absent.
 */
export function integerFlag(raw: unknown, name: string, minimum: number, fallback: number, maximum = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < minimum || value > maximum) {
    const range = maximum === Number.MAX_SAFE_INTEGER ? `≥ ${minimum}` : `from ${minimum} to ${maximum}`;
    throw new UsageError(`--${name} must be an integer ${range}, got '${String(raw)}'`);
  }
  return value;
}

/** A decimal number flag (not '', 'Infinity', '0x10'): digits with an optional fraction and exponent. */
export function decimalNumber(raw: string): number {
  return /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(raw) ? Number(raw) : NaN;
}

/**
 * `--labels A,B,C`: an explicit list must name labels, each once, each within the label length limit, and two at
 * least: a set of one (`--labels World`) was refused by distill only after the dataset was read and a "Run …:" line
 * printed (the run's one-configured-label check), by label only once its rows were read.
 */
export function labelsOption(spec: string): string[] {
  let labels: string[];
  try {
    labels = parseLabelList(spec, '--labels');
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (labels.length === 1) {
    throw new UsageError(`--labels ${JSON.stringify(spec.length > 60 ? spec.slice(0, 60) + '…' : spec)}: one label; a label set needs at least two — give every label of the task (--labels A,B,C), or leave out --labels to take the labels the rows hold`);
  }
  return labels;
}

/**
 * `--encoder`: a name, or `name:argument` for one that takes it (types.ts parseEncoderChoice). A folder argument
 * (`static:<folder>`) resolves against the current folder, like `--out`, so the run records the absolute folder.
 */
export function encoderOption(raw: unknown, fallback: EncoderChoice): EncoderChoice {
  if (raw === undefined) return fallback;
  const parsed = parseEncoderChoice(raw);
  if ('error' in parsed) throw new UsageError(`--encoder ${parsed.error}`);
  if (parsed.argument !== undefined && ENCODER_ARGUMENT_NAMES[parsed.name] === 'folder') return `${parsed.name}:${resolveEncoderFolder(parsed.argument)}`;
  return parsed.choice;
}

/**
 * `--encoder static:<folder>` (resolved by encoderOption) whose folder is missing, not a folder, or without
 * tokenizer.json or model.safetensors: a usage error naming it and what is missing, before any run starts (the
 * worker found it only after the run had started). The static encoder's own checks (staticEncoderProblem).
 */
export async function assertEncoderFolder(choice: EncoderChoice | undefined): Promise<void> {
  const problem = await staticEncoderProblem(choice);
  if (problem !== undefined) throw new UsageError(`--encoder ${choice ?? ''}: ${problem}`);
}

/** `--fields.text F` and friends: the field mapping flags of every command that reads a dataset. */
export const FIELD_OPTIONS = Object.fromEntries(
  FIELD_KEYS.map((key) => [`fields.${key}`, { type: 'string' as const }]),
) as Record<`fields.${keyof FieldMapping}`, { type: 'string' }>;

/** The flag that maps a field (`--fields.text`), named from FIELD_OPTIONS, for messages that tell the user to give it. */
export function fieldFlag(key: keyof FieldMapping): string {
  const option: keyof typeof FIELD_OPTIONS = `fields.${key}`;
  return `--${option}`;
}

/**
 * A field flag's value (`--fields.text meta.body`, `--text-field F`): a dotted path without an empty segment. '.',
 * 'a..b' or ' ' is a usage error naming the flag, not a failure of the run after it started.
 */
export function fieldPathOption(flag: string, value: string): string {
  if (value.trim().length === 0) throw new UsageError(`${flag} needs a field name`);
  try {
    splitFieldPath(value);
  } catch (error) {
    throw new UsageError(`${flag}: ${error instanceof Error ? error.message : String(error)} (a dotted path such as meta.text)`);
  }
  return value;
}
