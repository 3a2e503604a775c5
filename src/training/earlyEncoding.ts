/**
 * The rows' encoding in a thread while the run featurizes the words (issue 13: an encoder cost the run its encoding
 * time on top of featurizing, on one core while another idled). Only for the local encoders (encoders/local.ts): the
 * thread reopens the encoder from the run's choice and paths, encodes the texts in encodeTexts' blocks and sends each
 * back. The run still opens the encoder itself (its errors, its log and its model are as before); where the thread
 * opened the same one (name, version, dims) the run takes the thread's blocks in order in place of calling encode —
 * the same code on the same texts, so the same bits — and checks each as before (encodeTexts). Anything else (no
 * thread entry, EngineTuning.threads 1, a thread that fails or opened another version) and the run encodes the rest
 * here, as it did before.
 */
import type { Worker } from 'node:worker_threads';
import { ENCODE_BLOCK_ROWS, type EncoderChoice, type TextEncoder } from './encoder';
import { AUTO_ORDER } from './encoders';
import { isLocalEncoder, LOCAL_ENCODERS, type LocalEncoderEnvironment, type LocalEncoderName } from './encoders/local';
import { startThread, threadCount, threadEntry } from './threads';
import { parseEncoderChoice } from './types';

/** What an encoding thread (encodeThread.ts) receives. */
export interface EncodeThreadData {
  name: LocalEncoderName;
  argument?: string;
  environment: LocalEncoderEnvironment;
  texts: readonly string[];
  blockRows: number;
}

export type EncodeThreadReply =
  | { type: 'opened'; name: string; version: string; dims: number }
  | { type: 'block'; from: number; values: Float32Array }
  | { type: 'error'; message: string };

/**
 * Characters (UTF-16 units, all texts together) above which the run encodes here: the thread gets a copy of the
 * texts, and a copy of a million long rows is memory the run would not have used.
 */
export const EARLY_ENCODING_MAX_CHARS = 32 * 1024 * 1024;

/**
 * Bytes of an encoder's files above which the run encodes here: the thread reopens the encoder, a second copy of its
 * table or model while the rows are encoded (glove's table is 5.6 MB, potion-base-8M 30 MB; a multilingual static
 * model can be hundreds).
 */
export const EARLY_ENCODING_MAX_FILE_BYTES = 128 * 1024 * 1024;

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

export class EarlyEncoding {
  private readonly opened = deferred<{ name: string; version: string; dims: number } | undefined>();
  /** One per block; undefined where the thread gave none (it failed, or was stopped). */
  private readonly blocks: Deferred<Float32Array | undefined>[];
  private stopped = false;
  /** Rows whose vectors the run took from the thread. */
  rowsTaken = 0;

  constructor(
    private readonly worker: Worker,
    private readonly texts: readonly string[],
    private readonly blockRows: number,
  ) {
    this.blocks = Array.from({ length: Math.ceil(texts.length / blockRows) }, () => deferred<Float32Array | undefined>());
    worker.on('message', (reply: EncodeThreadReply) => {
      if (reply.type === 'opened') this.opened.resolve({ name: reply.name, version: reply.version, dims: reply.dims });
      else if (reply.type === 'block') this.blocks[reply.from / blockRows]?.resolve(reply.values);
      else this.stop();
    });
    // A thread that cannot start, throws outside a request or ends: what it did not send is encoded here.
    worker.on('error', () => this.stop());
    worker.on('exit', () => this.stop());
  }

  /**
   * `encoder` (the one the run opened) with its encode answered by the thread's blocks in order, where the thread
   * opened the same encoder; else `encoder` itself. For encodeTexts on the texts given to startEarlyEncoding.
   */
  async serve(encoder: TextEncoder): Promise<TextEncoder> {
    const opened = await this.opened.promise;
    if (!opened || opened.name !== encoder.name || opened.version !== encoder.version || opened.dims !== encoder.dims) {
      this.stop();
      return encoder;
    }
    let next = 0;
    const { texts, blockRows, blocks } = this;
    return Object.create(encoder, {
      encode: {
        value: async (block: readonly string[]): Promise<Float32Array> => {
          const from = next * blockRows;
          const values = next < blocks.length ? await blocks[next++].promise : undefined;
          // A block of the texts given, in order, as encodeTexts asks for them; anything else is encoded here.
          const expected = Math.min(blockRows, texts.length - from);
          if (values && block.length === expected && (expected === 0 || block[0] === texts[from])) {
            this.rowsTaken += block.length;
            return values;
          }
          this.stop();
          next = blocks.length;
          return encoder.encode(block);
        },
      },
    }) as TextEncoder;
  }

  /** Ends the thread; what it has not sent is encoded here. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.opened.resolve(undefined);
    for (const block of this.blocks) block.resolve(undefined);
    void this.worker.terminate();
  }
}

/**
 * Starts encoding `texts` in a thread where the choice names a local encoder (`auto`: its first choice, where that is
 * local), threads are allowed (EngineTuning.threads not 1, more than one core), the thread entry is there, and neither
 * the texts nor the encoder's files are too large to copy; undefined otherwise (the run encodes here, as before).
 */
export function startEarlyEncoding(
  choice: EncoderChoice,
  environment: LocalEncoderEnvironment,
  texts: readonly string[],
  threads: number,
  entry: string | null = threadEntry(__dirname, 'encodeThread'),
  maxFileBytes = EARLY_ENCODING_MAX_FILE_BYTES,
): EarlyEncoding | undefined {
  const parsed = parseEncoderChoice(choice);
  if ('error' in parsed || !entry || texts.length === 0 || threadCount(threads, 2) < 2) return undefined;
  const name = parsed.name === 'auto' ? AUTO_ORDER[0] : parsed.name;
  if (!isLocalEncoder(name)) return undefined;
  let characters = 0;
  for (const text of texts) characters += text.length;
  if (characters > EARLY_ENCODING_MAX_CHARS) return undefined;
  const paths: LocalEncoderEnvironment = { ...(environment.gloveTable !== undefined ? { gloveTable: environment.gloveTable } : {}), ...(environment.baseDir !== undefined ? { baseDir: environment.baseDir } : {}) };
  if (!(LOCAL_ENCODERS[name].fileBytes(parsed.argument, paths) <= maxFileBytes)) return undefined;
  const data: EncodeThreadData = {
    name,
    ...(parsed.argument !== undefined ? { argument: parsed.argument } : {}),
    environment: paths,
    texts,
    blockRows: ENCODE_BLOCK_ROWS,
  };
  let worker: Worker;
  try {
    worker = startThread(entry, data);
  } catch {
    return undefined;
  }
  return new EarlyEncoding(worker, texts, ENCODE_BLOCK_ROWS);
}
