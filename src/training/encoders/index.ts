/**
 * Every encoder a user can name, one factory each (the one registry: resolveEncoder opens them, `auto` tries
 * AUTO_ORDER). Adding an encoder = a module in this folder, a name in types.ts ENCODER_NAMES, a line here.
 */
import type { EncoderEnvironment, TextEncoder } from '../encoder';
import type { EncoderName } from '../types';
import { openEndpoint } from './endpoint';
import { LOCAL_ENCODERS } from './local';
import { openUseLite } from './useLite';

export interface EncoderFactory {
  /**
   * Opens the encoder: loads its table or model, checks its configuration. Errors say what is missing and how to get
   * it (resolveEncoder prefixes `encoder <name>: `). Cheap checks only: nothing is encoded here.
   */
  open(argument: string | undefined, environment: EncoderEnvironment): Promise<TextEncoder>;
}

export const ENCODER_FACTORIES: Record<Exclude<EncoderName, 'auto' | 'none'>, EncoderFactory> = {
  glove: { open: LOCAL_ENCODERS.glove.open },
  static: { open: LOCAL_ENCODERS.static.open },
  endpoint: { open: (_argument, environment) => openEndpoint(environment) },
  'use-lite': { open: async (_argument, environment) => openUseLite({ threads: environment.threads, signal: environment.signal }) },
};

/**
 * What `auto` tries, best first; the first that opens is used. Only encoders that cost next to nothing and need no
 * configuration belong here (a sentence encoder that takes minutes, or an endpoint that bills, is asked for by name).
 */
export const AUTO_ORDER: readonly (keyof typeof ENCODER_FACTORIES)[] = ['glove'];
