/**
 * Writes Model2Vec model folders for the tests and the benchmark of the `static:<folder>` encoder (the real models
 * cannot be downloaded here): a tokenizer.json in the HuggingFace tokenizers format (WordPiece, BertNormalizer,
 * BertPreTokenizer, the BERT special tokens as added tokens, as minishlab/potion-base-8M has) and a model.safetensors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** The float16 bits of `value` (normal numbers, zero, rounding to nearest; enough for the values the tests use). */
export function float16Bits(value: number): number {
  if (value === 0) return Object.is(value, -0) ? 0x8000 : 0;
  const sign = value < 0 ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  const exponent = Math.floor(Math.log2(magnitude));
  if (exponent < -14 || exponent > 15) throw new Error(`float16Bits: ${value} is outside the normal float16 range`);
  const fraction = Math.round((magnitude / 2 ** exponent - 1) * 1024);
  return fraction === 1024 ? sign | ((exponent + 16) << 10) : sign | ((exponent + 15) << 10) | fraction;
}

export interface TensorSpec {
  dtype: string;
  shape: number[];
  /** The raw little-endian bytes. */
  data: Uint8Array;
}

/** The bytes of `values` in `dtype` (F32, F16, F64, I8, I32, I64). */
export function tensorBytes(values: ArrayLike<number>, dtype: string): Uint8Array {
  const list = Array.from(values);
  switch (dtype) {
    case 'F32':
      return new Uint8Array(Float32Array.from(list).buffer);
    case 'F64':
      return new Uint8Array(Float64Array.from(list).buffer);
    case 'F16':
      return new Uint8Array(Uint16Array.from(list, float16Bits).buffer);
    case 'I8':
      return new Uint8Array(Int8Array.from(list).buffer);
    case 'I32':
      return new Uint8Array(Int32Array.from(list).buffer);
    case 'I64':
      return new Uint8Array(BigInt64Array.from(list, (n) => BigInt(n)).buffer);
    default:
      throw new Error(`tensorBytes: no writer for ${dtype}`);
  }
}

/** A safetensors file's bytes: 8-byte LE header length, the JSON header padded with spaces to 8 bytes, the data. */
export function safetensorsBytes(tensors: Record<string, TensorSpec>, metadata: Record<string, string> = { format: 'np' }): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + tensor.data.byteLength] };
    chunks.push(Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
    offset += tensor.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([length, Buffer.from(json, 'utf8'), ...chunks]);
}

/** A tokenizer.json as the tokenizers library writes a BERT WordPiece tokenizer; `vocab` in id order. */
export function wordPieceTokenizerJson(vocab: readonly string[]): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.filter((token) => vocab.includes(token)).map((content) => ({
      id: vocab.indexOf(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, id) => [token, id])),
    },
  };
}

export interface Model2VecFolder {
  /** tokenizer.json as an object (default: wordPieceTokenizerJson(vocab)). */
  tokenizer?: Record<string, unknown>;
  vocab: readonly string[];
  /** vocab × dims, row-major. */
  vectors: ArrayLike<number>;
  dims: number;
  dtype?: string;
  /** config.json; none = no file. */
  config?: Record<string, unknown>;
  /** Further tensors (weights, mapping). */
  extra?: Record<string, TensorSpec>;
}

/** Writes a Model2Vec folder (tokenizer.json, model.safetensors, config.json if given); returns the folder. */
export function writeModel2Vec(folder: string, model: Model2VecFolder): string {
  mkdirSync(folder, { recursive: true });
  const dtype = model.dtype ?? 'F32';
  const rows = model.vectors.length / model.dims;
  writeFileSync(path.join(folder, 'tokenizer.json'), JSON.stringify(model.tokenizer ?? wordPieceTokenizerJson(model.vocab)));
  writeFileSync(
    path.join(folder, 'model.safetensors'),
    safetensorsBytes({ embeddings: { dtype, shape: [rows, model.dims], data: tensorBytes(model.vectors, dtype) }, ...model.extra }),
  );
  if (model.config) writeFileSync(path.join(folder, 'config.json'), JSON.stringify(model.config));
  return folder;
}

/** A seeded generator of numbers in [-1, 1) (mulberry32), for reproducible vectors. */
export function seededValues(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

/**
 * A WordPiece vocabulary learnt crudely from `texts`: the special tokens, every character seen (alone and as a
 * `##` continuation), frequent continuations, then the most frequent words, up to `size` tokens.
 */
export function vocabularyFrom(texts: readonly string[], size: number): string[] {
  const words = new Map<string, number>();
  for (const text of texts) {
    const normalized = text.normalize('NFD').replace(/\p{Mn}/gu, '').toLowerCase();
    for (const word of normalized.match(/[!-/:-@[-`{-~\p{P}]|[^!-/:-@[-`{-~\p{P}\s]+/gu) ?? []) words.set(word, (words.get(word) ?? 0) + 1);
  }
  const vocab = new Set<string>(SPECIAL_TOKENS);
  for (const word of words.keys()) for (const char of word) vocab.add(char);
  for (const char of [...vocab].filter((token) => !SPECIAL_TOKENS.includes(token))) vocab.add(`##${char}`);
  for (const suffix of ['s', 'ed', 'ing', 'er', 'ly', 'es', 'ion', 'al', 'ers', 'est']) vocab.add(`##${suffix}`);
  for (const [word] of [...words].sort((a, b) => b[1] - a[1])) {
    if (vocab.size >= size) break;
    vocab.add(word);
  }
  return [...vocab].slice(0, size);
}
