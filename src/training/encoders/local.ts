/**
 * The encoders that compute on the CPU from files alone (no network, no model runtime): a thread can reopen them from
 * their choice and the paths of the environment, with a small bundle (encodeThread.ts: the run encodes the rows there
 * while it featurizes them, earlyEncoding.ts). index.ts ENCODER_FACTORIES opens them through this table.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TextEncoder } from '../encoder';
import { defaultGloveTablePath, openGlove } from './glove';
import { openStatic, resolveEncoderFolder, STATIC_MODEL_FILE, STATIC_TOKENIZER_FILE } from './static';

/** What a thread needs of EncoderEnvironment to reopen a local encoder: paths only (structured-cloneable). */
export interface LocalEncoderEnvironment {
  gloveTable?: string;
  baseDir?: string;
}

export interface LocalEncoder {
  open(argument: string | undefined, environment: LocalEncoderEnvironment): Promise<TextEncoder>;
  /** Bytes of the files it reads (a thread that reopens it holds a second copy); Infinity where they cannot be read. */
  fileBytes(argument: string | undefined, environment: LocalEncoderEnvironment): number;
}

const bytesOf = (files: (string | undefined)[]): number => {
  let total = 0;
  for (const file of files) {
    try {
      total += file === undefined ? Infinity : fs.statSync(file).size;
    } catch {
      return Infinity;
    }
  }
  return total;
};

export const LOCAL_ENCODERS = {
  glove: {
    open: async (_argument, environment) => openGlove(environment),
    fileBytes: (_argument, environment) => bytesOf([environment.gloveTable ?? defaultGloveTablePath()]),
  },
  static: {
    open: (argument, environment) => openStatic(argument, environment),
    fileBytes: (argument, environment) => {
      if (argument === undefined) return Infinity;
      const folder = resolveEncoderFolder(argument, environment.baseDir);
      return bytesOf([path.join(folder, STATIC_TOKENIZER_FILE), path.join(folder, STATIC_MODEL_FILE)]);
    },
  },
} satisfies Record<string, LocalEncoder>;

export type LocalEncoderName = keyof typeof LOCAL_ENCODERS;

export const isLocalEncoder = (name: string): name is LocalEncoderName => Object.prototype.hasOwnProperty.call(LOCAL_ENCODERS, name);
