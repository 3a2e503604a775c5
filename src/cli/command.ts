import { parseArgs, type ParseArgsConfig } from 'node:util';
import { splitFieldPath } from '../dataset/fields';
import { FIELD_KEYS, type FieldMapping } from '../dataset/types';
import { parseLabelList } from '../dataset/labels';
import { ENCODER_ARGUMENT_NAMES, parseEncoderChoice, type EncoderChoice } from '../training/types';
import { resolveEncoderFolder } from '../training/encoders/static';

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

/** `--labels A,B,C`: an explicit list must name labels, each once, each within the label length limit. */
export function labelsOption(spec: string): string[] {
  try {
    return parseLabelList(spec, '--labels');
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
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
