/**
 * The `static:<folder>` encoder: a static embedding model a user downloaded, in the Model2Vec layout (e.g.
 * https://huggingface.co/minishlab/potion-base-8M): `tokenizer.json` (HuggingFace tokenizers, WordPiece),
 * `model.safetensors` (a tensor `embeddings`, vocabulary × dims; newer models may add `weights` per token and a
 * `mapping` of tokens to rows) and, optionally, `config.json` (`normalize`). A text's vector is model2vec's
 * StaticModel.encode: the text cut to 512 × the median token length characters, its tokens without special tokens and
 * without the unknown token, at most 512 of them, the mean of their (weighted) rows, zeros for a text without tokens,
 * L2-normalised when config.json says `normalize: true`. Plain TypeScript, no network.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expandHomeFolder, fileError } from '../../dataset/files';
import type { TextEncoder } from '../encoder';
import { parseEncoderChoice } from '../types';
import { parseTokenizer, type Tokenizer } from './hfTokenizer';
import { addScaledVector } from './vectorSum';
import { readSafetensors, tensorAsFloat32, tensorAsIntegers, type SafetensorsDtype, type TensorInfo } from './safetensors';

export const STATIC_TOKENIZER_FILE = 'tokenizer.json';
export const STATIC_MODEL_FILE = 'model.safetensors';
export const STATIC_CONFIG_FILE = 'config.json';
/** Where a user gets a model (the README and the errors say it). */
export const STATIC_MODEL_HINT = 'download a Model2Vec model, e.g. tokenizer.json and model.safetensors of https://huggingface.co/minishlab/potion-base-8M';
/** model2vec's StaticModel.encode default max_length: tokens kept per text. */
export const STATIC_MAX_TOKENS = 512;
/**
 * Values a tensor of the model may hold: 2^28, 1 GiB as float32, twice the largest Model2Vec model
 * (potion-multilingual-128M: 500,353 tokens × 256 dims). A header declaring more (a sparse file can be any size) is
 * refused before anything is allocated, rather than failing on a buffer of gigabytes or taking the worker's memory.
 */
export const STATIC_MAX_VALUES = 2 ** 28;
/** Bytes read of tokenizer.json or config.json: 256 MiB (a multilingual tokenizer.json has about 20 MB). */
export const STATIC_MAX_JSON_BYTES = 256 * 1024 * 1024;
/**
 * Texts with words of which an encode call must give at least one a token of the vocabulary: below, a batch where
 * none has one is plausible (a few emoji rows); at this many, the tokenizer turns everything into the unknown token
 * (another language's model, a broken tokenizer.json) and the run would go on with vectors of zeros, reported as
 * "did not help this dataset".
 */
export const STATIC_MIN_TEXTS_JUDGED = 10;
/** A text the all-unknown-tokens check counts (STATIC_MIN_TEXTS_JUDGED): one with a letter or digit. */
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
/** The largest float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

const EMBEDDING_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16', 'F64', 'I8'];
const WEIGHT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16', 'F64'];
const MAPPING_DTYPES: readonly SafetensorsDtype[] = ['I64', 'I32', 'I16', 'I8', 'U8'];

/**
 * The absolute folder of a `static:<folder>` argument: `~/` is the home folder, a relative folder resolves against
 * `baseDir` (the dataset's folder in the training worker; the CLI resolves against the current folder before).
 */
export function resolveEncoderFolder(argument: string, baseDir: string = process.cwd()): string {
  return path.resolve(baseDir, expandHomeFolder(argument));
}

export interface StaticModel {
  folder: string;
  tokenizer: Tokenizer;
  /** rows × dims, float32. */
  embeddings: Float32Array;
  rows: number;
  dims: number;
  dtype: SafetensorsDtype;
  /** Per token id, if the model has them. */
  weights?: Float32Array;
  /** Token id → row of `embeddings`, if the model has one. */
  mapping?: Int32Array;
  normalize: boolean;
  /** SHA-256 of tokenizer.json, model.safetensors and config.json together. */
  sha256: string;
}

/**
 * A file's bytes; a read error (a folder in its place, no permission) names the file. Only a regular file (or a link
 * to one) is read: a FIFO or a device in its place would block the run forever or never end (O_NONBLOCK lets the open
 * return, the check refuses it).
 */
async function readNamed(file: string): Promise<Buffer> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(`${file}: ${stat.isDirectory() ? 'cannot be read (EISDIR)' : 'is not a regular file (a FIFO, socket or device)'}`);
    if (stat.size > STATIC_MAX_JSON_BYTES) {
      throw new Error(
        `${file}: ${stat.size.toLocaleString('en-US')} bytes; PeerKD reads a ${path.basename(file)} of at most ${STATIC_MAX_JSON_BYTES.toLocaleString('en-US')} bytes ` +
          `(a Model2Vec model's has a few MB): check that the folder holds the model's own files (${STATIC_MODEL_HINT})`,
      );
    }
    return await handle.readFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === undefined) throw error;
    throw new Error(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  } finally {
    await handle?.close();
  }
}

/**
 * A path's stat, or undefined when nothing is there. Whatever else keeps it from being read is said with the path: a
 * loop of symbolic links, no permission (fileError's words), or a link to nothing, as the files of a folder copied
 * out of the HuggingFace cache (`snapshots/<rev>/` holds links to `../../blobs/`) without the files they point at are.
 * "not found" for a name that `ls` shows sent the user looking for the wrong thing.
 */
async function statOrAbsent(target: string): Promise<fs.Stats | undefined> {
  try {
    return await fs.promises.stat(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(target, error);
  }
  const link = await fs.promises.readlink(target).catch(() => undefined);
  if (link === undefined) return undefined;
  throw new Error(
    `${target} is a symbolic link to ${link}, which does not exist: copy the model's files themselves into the folder (cp -L, or download them again)`,
  );
}

/**
 * A JSON file's text. A byte order mark in front (Notepad and other Windows editors write one when the file is saved
 * after an edit) is skipped: JSON.parse failed on it with a message quoting an invisible character. A UTF-16 file is
 * refused, saying so, rather than read as garbage that is not JSON.
 */
function jsonText(file: string, bytes: Buffer): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new Error(`${file}: saved as UTF-16; PeerKD reads JSON files in UTF-8 (save it again as UTF-8, or download it again)`);
  }
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The checks of a Model2Vec folder that read none of its files: it is there, it is a folder, it holds tokenizer.json
 * and model.safetensors (a link to nothing is said as one). readStaticModel's first; the CLI and the editor ask them
 * before a run starts (staticEncoderProblem), so a missing model is said before any work, not by the worker.
 */
export async function assertStaticModelFolder(folder: string): Promise<{ tokenizerFile: string; modelFile: string }> {
  const stat = await statOrAbsent(folder);
  if (stat === undefined) throw new Error(`folder ${folder} not found (${STATIC_MODEL_HINT})`);
  if (!stat.isDirectory()) throw new Error(`${folder} is not a folder (give the folder that holds ${STATIC_TOKENIZER_FILE} and ${STATIC_MODEL_FILE})`);
  const tokenizerFile = path.join(folder, STATIC_TOKENIZER_FILE);
  const modelFile = path.join(folder, STATIC_MODEL_FILE);
  for (const file of [tokenizerFile, modelFile]) {
    if ((await statOrAbsent(file)) === undefined) throw new Error(`${file} not found: the folder ${folder} is not a Model2Vec model (${STATIC_MODEL_HINT})`);
  }
  return { tokenizerFile, modelFile };
}

/**
 * Why an encoder choice cannot run, before the run starts: for `static:<folder>` (resolved against `baseDir`, as the
 * worker resolves it), what assertStaticModelFolder finds wrong; undefined for any other choice, or a usable folder.
 */
export async function staticEncoderProblem(choice: string | undefined, baseDir?: string): Promise<string | undefined> {
  const parsed = choice === undefined ? undefined : parseEncoderChoice(choice);
  if (parsed === undefined || 'error' in parsed || parsed.name !== 'static' || parsed.argument === undefined) return undefined;
  try {
    await assertStaticModelFolder(resolveEncoderFolder(parsed.argument, baseDir));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Reads and checks a Model2Vec folder; every error names the folder or the file and what is wrong. */
export async function readStaticModel(folder: string): Promise<StaticModel> {
  const { tokenizerFile, modelFile } = await assertStaticModelFolder(folder);
  const configFile = path.join(folder, STATIC_CONFIG_FILE);

  const tokenizerBytes = await readNamed(tokenizerFile);
  const tokenizer = parseTokenizer(tokenizerFile, jsonText(tokenizerFile, tokenizerBytes));

  let configBytes: Buffer | undefined;
  let normalize = false;
  if ((await statOrAbsent(configFile)) !== undefined) {
    configBytes = await readNamed(configFile);
    let config: unknown;
    try {
      config = JSON.parse(jsonText(configFile, configBytes));
    } catch (error) {
      throw new Error(`${configFile}: not valid JSON (${(error as Error).message})`);
    }
    const value = typeof config === 'object' && config !== null ? (config as { normalize?: unknown }).normalize : undefined;
    if (value !== undefined && value !== null && typeof value !== 'boolean') throw new Error(`${configFile}: "normalize" must be true or false, got ${JSON.stringify(value)}`);
    normalize = value === true;
  }

  const fail = (problem: string) => new Error(`${modelFile}: ${problem}`);
  const accepted = (name: string, info: TensorInfo, dtypes: readonly SafetensorsDtype[], what: string): boolean => {
    if (!dtypes.includes(info.dtype as SafetensorsDtype)) throw fail(`tensor "${name}" has dtype ${info.dtype}; PeerKD reads ${what} of dtype ${dtypes.join(', ')}`);
    const values = info.shape.reduce((a, b) => a * b, 1);
    if (values > STATIC_MAX_VALUES) {
      throw fail(`tensor "${name}" holds ${values.toLocaleString('en-US')} values (shape [${info.shape.join(', ')}]); PeerKD reads at most ${STATIC_MAX_VALUES.toLocaleString('en-US')} (1 GiB as float32)`);
    }
    return true;
  };
  const read = await readSafetensors(modelFile, (name, info) => {
    if (name === 'embeddings') return accepted(name, info, EMBEDDING_DTYPES, 'embeddings');
    if (name === 'weights') return accepted(name, info, WEIGHT_DTYPES, 'token weights');
    if (name === 'mapping') return accepted(name, info, MAPPING_DTYPES, 'a token mapping');
    return false;
  });
  const embeddingsTensor = read.loaded.get('embeddings');
  if (!embeddingsTensor) {
    const names = [...read.tensors.keys()];
    throw fail(`no tensor named "embeddings" (it has ${names.length ? names.map((name) => JSON.stringify(name)).join(', ') : 'no tensors'}); a Model2Vec model stores its vectors as "embeddings"`);
  }
  if (embeddingsTensor.shape.length !== 2 || embeddingsTensor.shape[0] < 1 || embeddingsTensor.shape[1] < 1) {
    throw fail(`tensor "embeddings" must be 2-dimensional (tokens × dims), its shape is [${embeddingsTensor.shape.join(', ')}]`);
  }
  const [rows, dims] = embeddingsTensor.shape;
  const embeddings = tensorAsFloat32(embeddingsTensor);
  for (let i = 0; i < embeddings.length; i++) {
    if (!Number.isFinite(embeddings[i])) throw fail(`tensor "embeddings" has a value that is not a finite number (row ${Math.floor(i / dims)}, column ${i % dims})`);
  }

  const vocabulary = `${tokenizer.vocabSize} tokens in ${tokenizerFile}`;
  const perToken = (name: string) => {
    const tensor = read.loaded.get(name);
    if (!tensor) return undefined;
    const length = tensor.shape.reduce((a, b) => a * b, 1);
    if (tensor.shape.length !== 1 || length !== tokenizer.vocabSize) throw fail(`tensor "${name}" must have one value per token (${vocabulary}), its shape is [${tensor.shape.join(', ')}]`);
    return tensor;
  };
  const weightsTensor = perToken('weights');
  const weights = weightsTensor ? tensorAsFloat32(weightsTensor) : undefined;
  if (weights?.some((w) => !Number.isFinite(w))) throw fail('tensor "weights" has a value that is not a finite number');
  if (weights) {
    // A text's vector is a mean of weight × row: both finite, their product can still leave float32 (Infinity, then NaN).
    const largest = (values: Float32Array) => values.reduce((max, x) => Math.max(max, Math.abs(x)), 0);
    const [weight, value] = [largest(weights), largest(embeddings)];
    if (weight * value > FLOAT32_MAX) {
      throw fail(`tensor "weights" times tensor "embeddings" goes beyond the float32 range (largest weight ${weight}, largest value ${value}): the model's vectors would not be finite numbers`);
    }
  }
  const mappingTensor = perToken('mapping');
  const mapping = mappingTensor ? tensorAsIntegers(mappingTensor) : undefined;
  if (mapping) {
    const bad = mapping.findIndex((row) => row < 0 || row >= rows);
    if (bad >= 0) throw fail(`tensor "mapping" sends token ${bad} to row ${mapping[bad]}, outside the ${rows} rows of "embeddings"`);
  } else if (rows !== tokenizer.vocabSize) {
    throw fail(`tensor "embeddings" has ${rows} rows but the tokenizer has ${vocabulary}: the two files are not from the same model`);
  }
  if (tokenizer.maxId >= tokenizer.vocabSize) throw fail(`the tokenizer's ids run up to ${tokenizer.maxId}, past its ${vocabulary}`);

  const hash = createHash('sha256');
  hash.update(`${STATIC_TOKENIZER_FILE}\0`).update(createHash('sha256').update(tokenizerBytes).digest('hex'));
  hash.update(`\0${STATIC_MODEL_FILE}\0${read.sha256}`);
  if (configBytes) hash.update(`\0${STATIC_CONFIG_FILE}\0`).update(createHash('sha256').update(configBytes).digest('hex'));
  return { folder, tokenizer, embeddings, rows, dims, dtype: embeddingsTensor.dtype, weights, mapping, normalize, sha256: hash.digest('hex') };
}

/** model2vec's StaticModel.encode over a read model (see the header). */
export function staticEncoder(model: StaticModel): TextEncoder {
  const { tokenizer, embeddings, dims, weights, mapping, normalize } = model;
  const unk = tokenizer.unkId;
  const maxChars = STATIC_MAX_TOKENS * tokenizer.medianTokenLength;
  return {
    name: `static:${model.folder}`,
    version: `model2vec/sha256:${model.sha256.slice(0, 16)}/${tokenizer.vocabSize}t/${dims}d/${model.dtype}${normalize ? '/normalize' : ''}`,
    dims,
    // Thousands of texts a second (test/bench/staticEncoder.ts: about 24,000 AG News rows per CPU-second with a
    // potion-base-8M-sized model): reading them back from the cache saves about 0.2 CPU-s per 10,000 rows, not worth 14 MB of cache.
    cacheable: false,
    async encode(texts) {
      const out = new Float32Array(texts.length * dims);
      const sum = new Float64Array(dims);
      let withWords = 0;
      let withTokens = 0;
      for (let r = 0; r < texts.length; r++) {
        let text = texts[r];
        // A letter or digit: emoji and punctuation are [UNK] in many a good vocabulary, so a batch of them (emoji rows
        // appended to a cached file) says nothing about the tokenizer.
        if (LETTER_OR_DIGIT.test(text)) withWords++;
        // Python slices code points; a string no longer in UTF-16 units than that has no more code points either.
        if (text.length > maxChars) text = [...text].slice(0, maxChars).join('');
        const ids = tokenizer.encode(text);
        sum.fill(0);
        let count = 0;
        for (let i = 0; i < ids.length && count < STATIC_MAX_TOKENS; i++) {
          const id = ids[i];
          if (id === unk) continue;
          count++;
          const at = (mapping ? mapping[id] : id) * dims;
          addScaledVector(sum, weights ? weights[id] : 1, embeddings, at);
        }
        if (count === 0) continue;
        withTokens++;
        const base = r * dims;
        let norm = 0;
        for (let d = 0; d < dims; d++) {
          const mean = sum[d] / count;
          sum[d] = mean;
          norm += mean * mean;
        }
        const scale = normalize ? 1 / (Math.sqrt(norm) + 1e-32) : 1;
        for (let d = 0; d < dims; d++) out[base + d] = sum[d] * scale;
      }
      if (withTokens === 0 && withWords >= STATIC_MIN_TEXTS_JUDGED) {
        throw new Error(
          `encoder static:${model.folder}: none of ${withWords} texts has a token of the vocabulary of ${path.join(model.folder, STATIC_TOKENIZER_FILE)} ` +
            `(${tokenizer.vocabSize} tokens, ${tokenizer.describe}) other than the unknown token, so every vector would be zeros: ` +
            'is it a model for another language or script, or the tokenizer.json of another model? Choose another model or encoder (--encoder, peerkd.training.encoder)',
        );
      }
      return out;
    },
  };
}

/** The encoder of `static:<folder>`; errors say what is missing and where to get a model. */
export async function openStatic(argument: string | undefined, environment: { baseDir?: string }): Promise<TextEncoder> {
  if (!argument) throw new Error(`needs the folder of a Model2Vec model: static:<folder> (${STATIC_MODEL_HINT})`);
  return staticEncoder(await readStaticModel(resolveEncoderFolder(argument, environment.baseDir)));
}
