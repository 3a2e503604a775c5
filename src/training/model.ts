/**
 * A trained student on disk and back. Layout of the model directory:
 *   model.json     TensorFlow.js layers-model format for the dense part (one Dense softmax layer, dim → classes),
 *                  with `userDefinedMetadata.peerkd` describing the rest; loadable by `tf.loadLayersModel`.
 *   weights.bin    the dense layer's weights (TF.js weight-manifest binary).
 *   embedding.bin  the embedding bag: the rows that are not all zero (rows never trained stay zero), as
 *                  Int32 row indices followed by Float32 rows (dim values each).
 *   idf.bin        Float32 IDF per hash bucket (the fitted featurizer).
 * A model with dense features (an encoder next to the words, encoder.ts) has format MODEL_FORMAT_DENSE, a head of
 * dim + dense dims inputs, and `userDefinedMetadata.peerkd.dense` = the encoder's name, version and dims plus the
 * standardisation (mean, scale) fitted in training; `peerkd predict` recomputes the same encoder on new rows.
 */
import { mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { TOKENIZER_VERSION, transform, type FeaturizerConfig, type FittedFeaturizer } from './featurize';
import { predictStudent, type StudentWeights } from './student';
import { selectBackend, type TensorFlow } from './backend';
import { parseEncoderChoice, type BackendPreference } from './types';
import { labelRecord } from './labelRecord';
import { encodeTexts, ReplacedModelError, resolveEncoder, standardise, type DenseStandardiser, type EncoderEnvironment } from './encoder';
import { EmbeddingCache } from './embeddingCache';
import { parseEndpointVersion } from './encoders/endpoint';

export const MODEL_FORMAT = 'peerkd-fasttext-v1';
/** A model whose head also reads a pretrained embedding (older builds refuse it by its format instead of misreading it). */
export const MODEL_FORMAT_DENSE = 'peerkd-fasttext-dense-v1';

export interface TrainedModel {
  labels: string[];
  featurizer: FittedFeaturizer;
  weights: StudentWeights;
  /** The encoder next to the words and its standardisation; absent = words alone. */
  dense?: DenseStandardiser;
}

export interface ModelPrediction {
  predicted: string;
  probs: Record<string, number>;
}

export interface LoadedModel {
  labels: string[];
  featurizer: FeaturizerConfig;
  /** The encoder the model needs next to the words, or null. */
  encoder: { name: string; version: string } | null;
  predict(texts: string[]): Promise<ModelPrediction[]>;
  /** `file:line: problem` for each line of the embedding cache that was skipped, and whether the cache was off; for the log. */
  describeCacheProblems(): string[];
  /** What the user should know about the model that does not stop it (model.json: no tokenizer version recorded). */
  warnings: string[];
}

interface PeerkdMetadata {
  format: string;
  labels: string[];
  featurizer: FeaturizerConfig;
  /** TOKENIZER_VERSION of the build that saved the model; absent in models saved before it was recorded. */
  tokenizerVersion?: number;
  buckets: number;
  dim: number;
  embeddingRows: number;
  dense?: { name: string; version: string; dims: number; mean: number[]; scale: number[] };
}

function toBuffer(array: Float32Array | Int32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

function denseModel(tf: TensorFlow, dim: number, classes: number) {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [dim], units: classes, activation: 'softmax', name: 'peerkd_head' }));
  return model;
}

export async function saveModel(model: TrainedModel, dir: string, backend: BackendPreference = 'auto'): Promise<void> {
  const { tf } = await selectBackend(backend);
  const { weights, labels, featurizer } = model;
  await mkdir(dir, { recursive: true });

  // The rows that are not all zero, with their bucket numbers (compact weights map their rows back to buckets).
  const { embedding, dim, rowBuckets } = weights;
  const tableRows = embedding.length / dim;
  const kept = new Int32Array(tableRows);
  let keptCount = 0;
  for (let r = 0; r < tableRows; r++) {
    for (let at = r * dim, end = at + dim; at < end; at++) {
      if (embedding[at] !== 0) {
        kept[keptCount++] = r;
        break;
      }
    }
  }
  const nonZero = new Int32Array(keptCount);
  const rows = new Float32Array(keptCount * dim);
  for (let i = 0; i < keptCount; i++) {
    const r = kept[i];
    nonZero[i] = rowBuckets ? rowBuckets[r] : r;
    rows.set(embedding.subarray(r * dim, (r + 1) * dim), i * dim);
  }

  const headDim = weights.dim + weights.denseDim;
  if ((model.dense?.encoder.dims ?? 0) !== weights.denseDim) throw new Error(`the model has ${weights.denseDim} dense input(s) but ${model.dense ? model.dense.encoder.dims : 'no'} encoder dims`);
  const dense = denseModel(tf, headDim, weights.classes);
  const kernel = tf.tensor2d(weights.kernel, [headDim, weights.classes]);
  const bias = tf.tensor1d(weights.bias);
  dense.setWeights([kernel, bias]);
  kernel.dispose();
  bias.dispose();
  const metadata: PeerkdMetadata = {
    format: model.dense ? MODEL_FORMAT_DENSE : MODEL_FORMAT,
    labels,
    featurizer: featurizer.config,
    tokenizerVersion: TOKENIZER_VERSION,
    buckets: weights.buckets,
    dim: weights.dim,
    embeddingRows: nonZero.length,
    ...(model.dense ? { dense: { ...model.dense.encoder, mean: Array.from(model.dense.mean), scale: Array.from(model.dense.scale) } } : {}),
  };
  await dense.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData as ArrayBuffer;
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        userDefinedMetadata: { peerkd: metadata },
      };
      await writeFile(path.join(dir, 'weights.bin'), Buffer.from(weightData));
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson, null, 2) + '\n');
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  dense.dispose();
  await writeFile(path.join(dir, 'embedding.bin'), Buffer.concat([toBuffer(nonZero), toBuffer(rows)]));
  await writeFile(path.join(dir, 'idf.bin'), toBuffer(featurizer.idf));
}

/** The most a model folder may declare, so that a corrupt one fails with a message instead of a huge allocation. */
export const MODEL_LIMITS = {
  buckets: 1 << 24,
  dim: 4096,
  /** buckets × dim: the embedding table, 4 bytes each (1 GiB). */
  embeddingValues: 1 << 28,
  classes: 100_000,
  wordNgrams: 16,
  charNgram: 64,
} as const;

const MODEL_FILES = { model: 'model.json', weights: 'weights.bin', embedding: 'embedding.bin', idf: 'idf.bin' } as const;

/** A model folder that cannot be used: the message starts with the file at fault. */
export class ModelFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'ModelFileError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function boundedInteger(value: unknown, minimum: number, maximum: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= minimum && value <= maximum;
}

/**
 * The real path of a file of the model folder, refused when the name leaves the folder (`..`, an absolute path, a
 * separator) or a symbolic link leads out of it, and when it is not a regular file.
 */
async function modelFile(realDir: string, shownDir: string, name: string, from: string): Promise<string> {
  const shown = path.join(shownDir, name);
  if (name.length === 0 || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || path.isAbsolute(name) || name.includes('\0')) {
    throw new ModelFileError(from, `weight file '${name}' is not a file name inside the model folder`);
  }
  let real: string;
  try {
    real = await realpath(path.join(realDir, name));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelFileError(shown, code === 'ENOENT' ? 'file not found' : errorText(error));
  }
  const relative = path.relative(realDir, real);
  if (relative.length === 0 || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new ModelFileError(shown, `leads outside the model folder (to ${real})`);
  }
  if (!(await stat(real)).isFile()) throw new ModelFileError(shown, 'not a regular file');
  return real;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function readModelBytes(real: string, shown: string, expected: number): Promise<Buffer> {
  const size = (await stat(real)).size;
  if (size !== expected) throw new ModelFileError(shown, `has ${size} bytes, expected ${expected} (from model.json)`);
  return readFile(real);
}

/** Float32 values (little-endian, as written) at `byteOffset`; refuses NaN and infinities. */
function finiteFloats(buffer: Buffer, byteOffset: number, length: number, shown: string, what: string): Float32Array {
  const values = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const value = buffer.readFloatLE(byteOffset + i * 4);
    if (!Number.isFinite(value)) throw new ModelFileError(shown, `${what} value ${i} is ${value}, not a finite number`);
    values[i] = value;
  }
  return values;
}

/** Checks the metadata against its own limits; returns the problem or undefined. */
function metadataProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'userDefinedMetadata.peerkd must be an object';
  const { labels, featurizer, buckets, dim, embeddingRows } = value;
  if (!Array.isArray(labels) || labels.length < 2 || labels.length > MODEL_LIMITS.classes) {
    return `userDefinedMetadata.peerkd.labels must list 2 to ${MODEL_LIMITS.classes} labels`;
  }
  if (!labels.every((label) => typeof label === 'string' && label.length > 0)) return 'userDefinedMetadata.peerkd.labels must be non-empty strings';
  if (new Set(labels).size !== labels.length) return 'userDefinedMetadata.peerkd.labels repeats a label';
  if (!boundedInteger(buckets, 1, MODEL_LIMITS.buckets)) return `userDefinedMetadata.peerkd.buckets must be an integer from 1 to ${MODEL_LIMITS.buckets}, got ${JSON.stringify(buckets)}`;
  if (!boundedInteger(dim, 1, MODEL_LIMITS.dim)) return `userDefinedMetadata.peerkd.dim must be an integer from 1 to ${MODEL_LIMITS.dim}, got ${JSON.stringify(dim)}`;
  if (buckets * dim > MODEL_LIMITS.embeddingValues) {
    return `userDefinedMetadata.peerkd: buckets × dim = ${buckets * dim} exceeds ${MODEL_LIMITS.embeddingValues} embedding values`;
  }
  if (!boundedInteger(embeddingRows, 0, buckets)) return `userDefinedMetadata.peerkd.embeddingRows must be an integer from 0 to buckets (${buckets}), got ${JSON.stringify(embeddingRows)}`;
  if (!isRecord(featurizer)) return 'userDefinedMetadata.peerkd.featurizer must be an object';
  const tokenizer = value.tokenizerVersion;
  if (tokenizer !== undefined && !boundedInteger(tokenizer, 1, Number.MAX_SAFE_INTEGER)) return `userDefinedMetadata.peerkd.tokenizerVersion must be a positive integer, got ${JSON.stringify(tokenizer)}`;
  if (tokenizer !== undefined && tokenizer !== TOKENIZER_VERSION) {
    return (
      `the model was saved with tokenizer version ${tokenizer} (userDefinedMetadata.peerkd.tokenizerVersion), but this PeerKD reads the words of a text with version ${TOKENIZER_VERSION}, ` +
      `so its features would not be those the model learnt: use the PeerKD that trained it, or train a new model (peerkd distill)`
    );
  }
  if (featurizer.buckets !== buckets) return `userDefinedMetadata.peerkd.featurizer.buckets (${JSON.stringify(featurizer.buckets)}) differs from buckets (${buckets})`;
  if (!boundedInteger(featurizer.wordNgrams, 1, MODEL_LIMITS.wordNgrams)) return `userDefinedMetadata.peerkd.featurizer.wordNgrams must be an integer from 1 to ${MODEL_LIMITS.wordNgrams}`;
  const char = featurizer.charNgrams;
  if (char !== null && !(Array.isArray(char) && char.length === 2 && boundedInteger(char[0], 1, MODEL_LIMITS.charNgram) && boundedInteger(char[1], char[0] as number, MODEL_LIMITS.charNgram))) {
    return `userDefinedMetadata.peerkd.featurizer.charNgrams must be null or [min, max] with 1 ≤ min ≤ max ≤ ${MODEL_LIMITS.charNgram}`;
  }
  return denseProblem(value.dense);
}

function denseProblem(dense: unknown): string | undefined {
  if (dense === undefined) return undefined;
  if (!isRecord(dense)) return 'userDefinedMetadata.peerkd.dense must be an object';
  if (typeof dense.name !== 'string' || typeof dense.version !== 'string') return 'userDefinedMetadata.peerkd.dense must name the encoder (name, version)';
  if (!boundedInteger(dense.dims, 1, MODEL_LIMITS.dim)) return `userDefinedMetadata.peerkd.dense.dims must be an integer from 1 to ${MODEL_LIMITS.dim}`;
  for (const key of ['mean', 'scale'] as const) {
    const values = dense[key];
    if (!Array.isArray(values) || values.length !== dense.dims || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      return `userDefinedMetadata.peerkd.dense.${key} must hold ${dense.dims} finite numbers`;
    }
  }
  return undefined;
}

function sameShape(shape: unknown, expected: number[]): boolean {
  return Array.isArray(shape) && shape.length === expected.length && shape.every((size, i) => size === expected[i]);
}

/**
 * The layers must be the one saveModel writes: a single Dense layer. Checked before TensorFlow.js builds them, which
 * for another stack prints its own warnings (input shapes that do not match) before it fails.
 */
function topologyProblem(topology: Record<string, unknown>): string | undefined {
  const layers = isRecord(topology.config) ? topology.config.layers : undefined;
  if (!Array.isArray(layers) || layers.length !== 1 || !isRecord(layers[0]) || layers[0].class_name !== 'Dense') {
    return 'modelTopology.config.layers must hold exactly one Dense layer';
  }
  return undefined;
}

/**
 * The weight manifest must be the one saveModel writes: one file holding the kernel [dim, classes] then the bias
 * [classes], float32, unquantised, where classes is the number of labels.
 */
function manifestProblem(manifest: unknown, dim: number, classes: number): string | undefined {
  if (!Array.isArray(manifest) || manifest.length !== 1 || !isRecord(manifest[0])) return 'weightsManifest must hold exactly one group';
  const { paths, weights } = manifest[0];
  if (!Array.isArray(paths) || paths.length !== 1 || typeof paths[0] !== 'string') return 'weightsManifest[0].paths must name exactly one file';
  if (!Array.isArray(weights) || weights.length !== 2) return 'weightsManifest[0].weights must list the kernel and the bias';
  const expected = [
    ['kernel', [dim, classes]],
    ['bias', [classes]],
  ] as const;
  for (let i = 0; i < 2; i++) {
    const spec: unknown = weights[i];
    const [what, shape] = expected[i];
    if (!isRecord(spec)) return `weightsManifest[0].weights[${i}] must be an object`;
    if (spec.dtype !== 'float32' || spec.quantization !== undefined) return `weightsManifest[0].weights[${i}] (${what}) must be unquantised float32`;
    if (!sameShape(spec.shape, [...shape])) {
      return `the ${what} has shape ${JSON.stringify(spec.shape)}, expected ${JSON.stringify(shape)} (dim ${dim}, ${classes} labels)`;
    }
  }
  return undefined;
}

/**
 * Loads and checks a model folder. A model trained with an encoder next to the words needs the same encoder (name and
 * version) here: it is resolved now, so that a missing table fails before any row is read.
 */
export async function loadModel(dir: string, backend: BackendPreference = 'auto', environment: EncoderEnvironment = {}): Promise<LoadedModel> {
  const modelPath = path.join(dir, MODEL_FILES.model);
  let realDir: string;
  let modelJson: unknown;
  try {
    realDir = await realpath(dir);
    modelJson = JSON.parse(await readFile(await modelFile(realDir, dir, MODEL_FILES.model, modelPath), 'utf8'));
  } catch (error) {
    throw new Error(`cannot read model ${modelPath}: ${errorText(error)}`);
  }
  const metadata = isRecord(modelJson) && isRecord(modelJson.userDefinedMetadata) ? modelJson.userDefinedMetadata.peerkd : undefined;
  if (!isRecord(metadata) || (metadata.format !== MODEL_FORMAT && metadata.format !== MODEL_FORMAT_DENSE)) {
    throw new ModelFileError(modelPath, `not a PeerKD model (expected userDefinedMetadata.peerkd.format = ${MODEL_FORMAT} or ${MODEL_FORMAT_DENSE})`);
  }
  const metaProblem = metadataProblem(metadata);
  if (metaProblem) throw new ModelFileError(modelPath, metaProblem);
  if ((metadata.format === MODEL_FORMAT_DENSE) !== (metadata.dense !== undefined)) {
    throw new ModelFileError(modelPath, `userDefinedMetadata.peerkd.dense must be present exactly when the format is ${MODEL_FORMAT_DENSE}`);
  }
  const { buckets, dim, embeddingRows, labels, dense: denseMeta } = metadata as unknown as PeerkdMetadata;
  const denseDim = denseMeta ? denseMeta.dims : 0;
  const headDim = dim + denseDim;
  const classes = labels.length;
  const json = modelJson as Record<string, unknown>;
  const problem = isRecord(json.modelTopology) ? topologyProblem(json.modelTopology) ?? manifestProblem(json.weightsManifest, headDim, classes) : 'modelTopology must be an object';
  if (problem) throw new ModelFileError(modelPath, problem);
  const manifest = (json.weightsManifest as { paths: string[]; weights: import('@tensorflow/tfjs').io.WeightsManifestEntry[] }[])[0];

  // Every file is checked (place, size, values) before anything is built from it.
  const weightsName = manifest.paths[0];
  const weightsShown = path.join(dir, weightsName);
  const weightData = await readModelBytes(await modelFile(realDir, dir, weightsName, modelPath), weightsShown, (headDim * classes + classes) * 4);
  finiteFloats(weightData, 0, headDim * classes + classes, weightsShown, 'weight');
  const embeddingShown = path.join(dir, MODEL_FILES.embedding);
  const embeddingFile = await readModelBytes(
    await modelFile(realDir, dir, MODEL_FILES.embedding, modelPath),
    embeddingShown,
    embeddingRows * 4 + embeddingRows * dim * 4,
  );
  const indices = new Int32Array(embeddingRows);
  for (let i = 0; i < embeddingRows; i++) {
    const bucket = embeddingFile.readInt32LE(i * 4);
    if (bucket < 0 || bucket >= buckets || (i > 0 && bucket <= indices[i - 1])) {
      throw new ModelFileError(embeddingShown, `row index ${i} is ${bucket}: indices must increase and lie in [0, ${buckets})`);
    }
    indices[i] = bucket;
  }
  const rows = finiteFloats(embeddingFile, embeddingRows * 4, embeddingRows * dim, embeddingShown, 'embedding');
  const idfShown = path.join(dir, MODEL_FILES.idf);
  const idfFile = await readModelBytes(await modelFile(realDir, dir, MODEL_FILES.idf, modelPath), idfShown, buckets * 4);
  const idf = finiteFloats(idfFile, 0, buckets, idfShown, 'IDF');

  const { tf } = await selectBackend(backend);
  let kernel: Float32Array;
  let bias: Float32Array;
  try {
    const dense = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology as object,
        weightSpecs: manifest.weights,
        weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
      }),
    );
    const loaded = dense.getWeights();
    const shapes = loaded.map((tensor) => tensor.shape);
    if (loaded.length !== 2 || !sameShape(shapes[0], [headDim, classes]) || !sameShape(shapes[1], [classes])) {
      dense.dispose();
      throw new Error(`the layers hold weights of shapes ${JSON.stringify(shapes)}, expected [[${headDim},${classes}],[${classes}]]`);
    }
    kernel = Float32Array.from(loaded[0].dataSync());
    bias = Float32Array.from(loaded[1].dataSync());
    dense.dispose();
  } catch (error) {
    // TF.js explains some failures over several lines ("Unknown layer: X. This may be due to one of the following
    // reasons:" then advice for its programmers): the first line says it, without the sentence that leads to the rest.
    const said = errorText(error).split('\n')[0].replace(/\s+[^.]*:$/, '');
    throw new ModelFileError(modelPath, `the TensorFlow.js model does not load: ${said}`);
  }

  const featurizer: FittedFeaturizer = { config: metadata.featurizer as unknown as FeaturizerConfig, idf };
  // Compact: the stored rows and their buckets, not a buckets × dim table.
  const weights: StudentWeights = { buckets, dim, denseDim, classes, embedding: rows, kernel, bias, rowBuckets: indices };
  let denseFeatures: ((texts: string[]) => Promise<{ dims: number; values: Float32Array }>) | undefined;
  let cache: EmbeddingCache | undefined;
  if (denseMeta) {
    const encoder = await resolveModelEncoder(denseMeta, modelPath, environment);
    const standardiser: DenseStandardiser = { encoder: { name: denseMeta.name, version: denseMeta.version, dims: denseDim }, mean: Float32Array.from(denseMeta.mean), scale: Float32Array.from(denseMeta.scale) };
    // Through the environment's cache (predict: the one next to the input, which distill filled for the same file; an
    // endpoint's rows embedded in training are not sent again).
    cache = environment.cacheDir && encoder.cacheable ? EmbeddingCache.open(environment.cacheDir, encoder) : undefined;
    denseFeatures = async (texts) => {
      let encoded;
      try {
        encoded = await encodeTexts(encoder, texts, cache);
      } catch (error) {
        if (environment.signal?.aborted) throw error;
        // Moving the cache away, as a run is told, would only hide the change from the next prediction: the model
        // learnt the vectors of the model that was replaced.
        if (error instanceof ReplacedModelError) {
          throw new ModelFileError(
            modelPath,
            `the model's encoder ${describeModelEncoder(denseMeta)} now gives other vectors than those this model was trained on (the model behind that name was replaced: ` +
              `${error.file} holds the vectors it gave before). Nothing was predicted: bring back the embedding model it was trained with, or train a new model with this one (peerkd distill)`,
          );
        }
        // The rows are not predicted from the words alone: the model was trained on words and vectors.
        throw new ModelFileError(modelPath, `the model's encoder ${describeModelEncoder(denseMeta)} could not embed the rows to predict: ${errorText(error)}${encoderHint(denseMeta)}`);
      }
      return { dims: denseDim, values: standardise(standardiser, encoded.values) };
    };
  }

  return {
    labels,
    featurizer: featurizer.config,
    encoder: denseMeta ? { name: denseMeta.name, version: denseMeta.version } : null,
    async predict(texts: string[]): Promise<ModelPrediction[]> {
      const probabilities = predictStudent(weights, transform(featurizer, texts), denseFeatures ? await denseFeatures(texts) : undefined);
      return texts.map((_, row) => toPrediction(labels, probabilities, row));
    },
    describeCacheProblems: () => cache?.describeProblems() ?? [],
    // Saved before the version was recorded: read alike on ASCII text (every version), maybe not elsewhere.
    warnings:
      metadata.tokenizerVersion === undefined
        ? [
            `${modelPath}: records no tokenizer version (saved by an older PeerKD), so texts outside ASCII (Chinese or Japanese, emoji, accents written as NFD) may be read into other words than in training; ASCII text is read alike — train a new model (peerkd distill) to be sure`,
          ]
        : [],
  };
}

/** `endpoint (http://…/v1, model m)` for an endpoint, else the encoder's name. */
function describeModelEncoder(meta: NonNullable<PeerkdMetadata['dense']>): string {
  const endpoint = meta.name === 'endpoint' ? parseEndpointVersion(meta.version) : undefined;
  return endpoint ? `endpoint (${endpoint.baseUrl}, model ${endpoint.model})` : meta.name;
}

/** What else the user can do when the model's encoder fails: for an endpoint, name another server with the same model. */
function encoderHint(meta: NonNullable<PeerkdMetadata['dense']>): string {
  return meta.name === 'endpoint'
    ? '; or give --encoder-base-url and --encoder-model of a server with the same model (editor: peerkd.encoder.baseUrl and peerkd.encoder.model)'
    : '';
}

/**
 * How to get back the encoder of a saved model that does not open: a static model's vectors are those of its very
 * files (the version is their hash), so any Model2Vec model will not do; put those files back, or train again.
 */
function reopenHint(meta: NonNullable<PeerkdMetadata['dense']>): string {
  const parsed = parseEncoderChoice(meta.name);
  if ('error' in parsed || parsed.name !== 'static') return '';
  return (
    `. This model reads the vectors of those very files (${meta.version.split('/').slice(0, 2).join('/')}): put the folder's tokenizer.json and ` +
    `model.safetensors back at ${parsed.argument}, or train a new model with the folder where it is now (peerkd distill --encoder static:<folder>; editor: peerkd.training.encoder)`
  );
}

/** The encoder a saved model names, exactly (name, version, dims), or a clear error naming the model. */
async function resolveModelEncoder(meta: NonNullable<PeerkdMetadata['dense']>, modelPath: string, environment: EncoderEnvironment) {
  const parsed = parseEncoderChoice(meta.name);
  if ('error' in parsed || parsed.name === 'auto' || parsed.name === 'none') throw new ModelFileError(modelPath, `the model needs encoder ${JSON.stringify(meta.name)}, which this version of PeerKD does not have`);
  let encoder;
  try {
    encoder = (await resolveEncoder(parsed.choice, { ...environment, reopen: { version: meta.version, dims: meta.dims } })).encoder!;
  } catch (error) {
    throw new ModelFileError(modelPath, `the model was trained with encoder ${meta.name} (${meta.version}), which is not available here: ${errorText(error)}${reopenHint(meta)}`);
  }
  if (encoder.version !== meta.version || encoder.dims !== meta.dims) {
    throw new ModelFileError(
      modelPath,
      `the model was trained with encoder ${meta.name} ${meta.version} (${meta.dims} dims), but this installation has ${encoder.version} (${encoder.dims} dims), ` +
        'whose vectors differ from those the model learnt: put back the encoder it was trained with, or train a new model with this one (peerkd distill)',
    );
  }
  return encoder;
}

export function toPrediction(labels: readonly string[], probabilities: Float32Array, row: number): ModelPrediction {
  const classes = labels.length;
  const probs = labelRecord(); // any label, `__proto__` included
  let best = 0;
  for (let c = 0; c < classes; c++) {
    probs[labels[c]] = probabilities[row * classes + c];
    if (probabilities[row * classes + c] > probabilities[row * classes + best]) best = c;
  }
  return { predicted: labels[best], probs };
}
