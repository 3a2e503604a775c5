/**
 * The encoders that compute on the CPU from files alone (no network, no model runtime): a thread can reopen them from
 * their choice and the paths of the environment, with a small bundle (encodeThread.ts: the run encodes the rows there
 * while it featurizes them, earlyEncoding.ts). index.ts ENCODER_FACTORIES opens them through this table.
 */
import type { TextEncoder } from '../encoder';
import { openGlove } from './glove';
import { openStatic } from './static';

/** What a thread needs of EncoderEnvironment to reopen a local encoder: paths only (structured-cloneable). */
export interface LocalEncoderEnvironment {
  gloveTable?: string;
  baseDir?: string;
}

export const LOCAL_ENCODERS = {
  glove: async (_argument: string | undefined, environment: LocalEncoderEnvironment): Promise<TextEncoder> => openGlove(environment),
  static: (argument: string | undefined, environment: LocalEncoderEnvironment): Promise<TextEncoder> => openStatic(argument, environment),
};

export type LocalEncoderName = keyof typeof LOCAL_ENCODERS;

export const isLocalEncoder = (name: string): name is LocalEncoderName => Object.prototype.hasOwnProperty.call(LOCAL_ENCODERS, name);
