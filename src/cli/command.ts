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
