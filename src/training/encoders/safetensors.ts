/**
 * A reader of safetensors files (https://github.com/huggingface/safetensors): 8 bytes little-endian header length N,
 * N bytes of JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the data;
 * offsets count from the end of the header. The file is read once, in chunks, never as a JS string: the chunks feed a
 * SHA-256 of the whole file and are copied into the tensors asked for, so a model of hundreds of MB costs its tensors'
 * memory and no more. Errors name the file.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** Bytes per element of the dtypes this reader returns as typed arrays. */
const DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1 } as const;
export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

export interface TensorInfo {
  dtype: string;
  shape: number[];
  /** Offsets in the data section (after the header). */
  begin: number;
  end: number;
}

export interface Tensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** The raw little-endian bytes, in a buffer of their own (aligned for any typed-array view). */
  bytes: Uint8Array;
}

export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

/** Larger headers than this are not a tensor index (the format's own limit is 100 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const CHUNK_BYTES = 4 * 1024 * 1024;

/** The header of an open file: the tensors it lists, checked against the file's size. */
function parseHeader(file: string, json: string, dataBytes: number): Map<string, TensorInfo> {
  const fail = (problem: string) => new SafetensorsError(file, problem);
  let header: unknown;
  try {
    header = JSON.parse(json);
  } catch {
    throw fail('not a safetensors file (its header is not valid JSON)');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('not a safetensors file (its header is not a JSON object)');
  const tensors = new Map<string, TensorInfo>();
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const offsets = info?.data_offsets;
    const shape = info?.shape;
    if (
      typeof info?.dtype !== 'string' ||
      !Array.isArray(shape) ||
      !shape.every((n) => Number.isSafeInteger(n) && n >= 0) ||
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((n) => Number.isSafeInteger(n) && n >= 0) ||
      offsets[0] > offsets[1]
    ) {
      throw fail(`tensor ${JSON.stringify(name)} in the header must have a dtype, a shape and data_offsets [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataBytes) throw fail(`tensor ${JSON.stringify(name)} ends at byte ${end} of the data, but the file has ${dataBytes} bytes of data (truncated?)`);
    const elementBytes = DTYPE_BYTES[info.dtype as SafetensorsDtype] as number | undefined;
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    if (elementBytes !== undefined && end - begin !== elements * elementBytes) {
      throw fail(`tensor ${JSON.stringify(name)} has ${end - begin} bytes, but ${info.dtype} of shape [${(shape as number[]).join(', ')}] needs ${elements * elementBytes}`);
    }
    tensors.set(name, { dtype: info.dtype, shape: shape as number[], begin, end });
  }
  checkLayout(tensors, dataBytes, fail);
  return tensors;
}

/**
 * The data section is the tensors one after the other, every byte in exactly one of them, as the format requires and
 * the safetensors library checks (its "invalid offset" and "incomplete buffer" errors): a header whose tensors overlap
 * (the "weights" read out of the vectors' bytes) or leave bytes to none is not a file any library wrote, and its
 * tensors would be read as garbage that is still finite numbers.
 */
function checkLayout(tensors: Map<string, TensorInfo>, dataBytes: number, fail: (problem: string) => SafetensorsError): void {
  const sorted = [...tensors].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let at = 0;
  let previous: string | undefined;
  for (const [name, { begin, end }] of sorted) {
    if (begin < at) {
      throw fail(`tensor ${JSON.stringify(name)} (bytes ${begin} to ${end} of the data) overlaps tensor ${JSON.stringify(previous)}, which ends at byte ${at}: not a valid safetensors file`);
    }
    if (begin > at) throw fail(`bytes ${at} to ${begin} of the data belong to no tensor (before tensor ${JSON.stringify(name)}): not a valid safetensors file`);
    at = end;
    previous = name;
  }
  if (at !== dataBytes) throw fail(`the data has ${dataBytes} bytes but its tensors end at byte ${at}: not a valid safetensors file (bytes after the last tensor)`);
}

export interface SafetensorsRead {
  /** Every tensor the header lists. */
  tensors: Map<string, TensorInfo>;
  /** The tensors asked for (that exist), with their bytes. */
  loaded: Map<string, Tensor>;
  /** SHA-256 (hex) of the whole file. */
  sha256: string;
}

/**
 * Reads `file`: the header, a SHA-256 of the whole file, and the bytes of the tensors that `want` accepts (given each
 * listed tensor's name and info; it may throw to reject the file, e.g. an unsupported dtype).
 */
export async function readSafetensors(file: string, want: (name: string, info: TensorInfo) => boolean): Promise<SafetensorsRead> {
  const fail = (problem: string) => new SafetensorsError(file, problem);
  let handle;
  try {
    // O_NONBLOCK: a FIFO in place of the file opens at once (and is refused below) instead of waiting for a writer.
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw fail(`cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw fail('is not a file');
    const size = stat.size;
    if (size < 8) throw fail(`not a safetensors file (${size} bytes, shorter than the 8-byte header length)`);
    const prefix = Buffer.alloc(8);
    await handle.read(prefix, 0, 8, 0);
    const headerLength = prefix.readBigUInt64LE(0);
    if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, size - 8))) {
      throw fail(`not a safetensors file (its first 8 bytes give a header of ${headerLength} bytes, the file has ${size})`);
    }
    const headerBytes = Number(headerLength);
    const header = Buffer.alloc(headerBytes);
    await handle.read(header, 0, headerBytes, 8);
    const dataStart = 8 + headerBytes;
    const tensors = parseHeader(file, header.toString('utf8'), size - dataStart);

    const loaded = new Map<string, Tensor>();
    const targets: { begin: number; end: number; bytes: Uint8Array }[] = [];
    for (const [name, info] of tensors) {
      if (!want(name, info)) continue;
      if (!(info.dtype in DTYPE_BYTES)) throw fail(`tensor ${JSON.stringify(name)} has dtype ${info.dtype}, which PeerKD cannot read`);
      const bytes = new Uint8Array(info.end - info.begin);
      loaded.set(name, { dtype: info.dtype as SafetensorsDtype, shape: info.shape, bytes });
      targets.push({ begin: dataStart + info.begin, end: dataStart + info.end, bytes });
    }

    // One pass over the file: every chunk goes into the hash and into the tensors it overlaps.
    const hash = createHash('sha256');
    const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, size));
    for (let position = 0; position < size; ) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, size - position), position);
      if (bytesRead === 0) throw fail(`the file ended at byte ${position} while being read (it has ${size} bytes; changed while reading?)`);
      const piece = chunk.subarray(0, bytesRead);
      hash.update(piece);
      const pieceEnd = position + bytesRead;
      for (const target of targets) {
        const from = Math.max(target.begin, position);
        const to = Math.min(target.end, pieceEnd);
        if (from < to) target.bytes.set(piece.subarray(from - position, to - position), from - target.begin);
      }
      position = pieceEnd;
    }
    return { tensors, loaded, sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

/** 65,536 float32 values of the float16 bit patterns (an F16 table stays 2 bytes a value and decodes by lookup). */
let float16Table: Float32Array | undefined;
export function float16Values(): Float32Array {
  if (float16Table) return float16Table;
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    table[bits] =
      exponent === 0 ? sign * fraction * 2 ** -24 : exponent === 31 ? (fraction ? NaN : sign * Infinity) : sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }
  float16Table = table;
  return table;
}

/** The bytes' own ArrayBuffer when they fill it (readSafetensors allocates them so), else a copy. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer;
}

/** The values of a floating-point or integer tensor as float32 (little-endian hosts, as Node runs on). */
export function tensorAsFloat32(tensor: Tensor): Float32Array {
  const { bytes, dtype } = tensor;
  const buffer = ownBuffer(bytes);
  switch (dtype) {
    case 'F32':
      return new Float32Array(buffer);
    case 'F64':
      return Float32Array.from(new Float64Array(buffer));
    case 'F16': {
      const table = float16Values();
      const halves = new Uint16Array(buffer);
      const out = new Float32Array(halves.length);
      for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]];
      return out;
    }
    case 'BF16': {
      const halves = new Uint16Array(buffer);
      const words = new Uint32Array(halves.length);
      for (let i = 0; i < halves.length; i++) words[i] = halves[i] << 16;
      return new Float32Array(words.buffer);
    }
    case 'I8':
      return Float32Array.from(new Int8Array(buffer));
    case 'U8':
      return Float32Array.from(new Uint8Array(buffer));
    case 'I16':
      return Float32Array.from(new Int16Array(buffer));
    case 'I32':
      return Float32Array.from(new Int32Array(buffer));
    case 'I64':
      return Float32Array.from(new BigInt64Array(buffer), (value) => Number(value));
  }
}

/** The values of an integer tensor (a token mapping), or undefined for a floating-point dtype. */
export function tensorAsIntegers(tensor: Tensor): Int32Array | undefined {
  const { bytes, dtype } = tensor;
  const buffer = ownBuffer(bytes);
  switch (dtype) {
    case 'I64':
      return Int32Array.from(new BigInt64Array(buffer), (value) => (value > 0x7fffffffn || value < -0x80000000n ? -1 : Number(value)));
    case 'I32':
      return new Int32Array(buffer);
    case 'I16':
      return Int32Array.from(new Int16Array(buffer));
    case 'I8':
      return Int32Array.from(new Int8Array(buffer));
    case 'U8':
      return Int32Array.from(new Uint8Array(buffer));
    default:
      return undefined;
  }
}
