/**
 * The student's embedding-bag kernels (student.ts): the forward pass (each row's hidden vector, the value-weighted sum
 * of its features' embedding rows) and the sparse SGD update of the rows a batch used. They are the student's hot loops
 * (issue 11: about 95 % of an epoch, the softmax head the rest).
 *
 * Two implementations compute the same float32 arithmetic, bit for bit, so that a seed gives the same student wherever
 * it runs (with or without WebAssembly SIMD, on any number of threads):
 *   - forward: h[d] = f32(h[d] + f32(value × e[d])) over the row's features in order, from +0;
 *   - update: s = f32(f32(learningRate) × value); e[d] = f32(e[d] − f32(s × g[d])), features in order, rows in order.
 * `wasm-simd` runs them four lanes at a time (f32x4) in a WebAssembly module assembled below at run time, specialised
 * for the dimension (every quad of a row at a constant offset, the hidden vector held in locals); `js` is the plain
 * typed-array fallback where WebAssembly SIMD is missing (or the dimension is not a multiple of 4). WebAssembly
 * arithmetic never fuses a multiply and an add, and JavaScript's double arithmetic on two float32 values rounded back
 * to float32 (Math.fround, or a store into a Float32Array) is exactly float32 arithmetic, hence the equality.
 */
import type { SparseRows } from './featurize';

export type BagKernelName = 'wasm-simd' | 'js';

export interface BagKernel {
  readonly name: BagKernelName;
  /** Selects the batch's rows (feature row numbers) for the next forward and update. */
  stage(features: SparseRows, rows: Int32Array, size: number): void;
  /** Writes the staged rows' hidden vectors: dim values at out[r × stride], r = 0 .. size − 1. */
  forward(out: Float32Array, stride: number): void;
  /** SGD step on the embedding rows the staged rows use: the gradient of row r's hidden vector is grad[r × stride ..]. */
  update(grad: Float32Array, stride: number, learningRate: number): void;
  /** The table (rows × dim): the js kernel's own array, a copy out of the wasm memory. */
  table(): Float32Array;
  /** Sets the table to a trained one (rows × dim values), to run forward passes with it (prediction). */
  load(table: Float32Array): void;
}

/** Rows of a batch the kernels are built for at most (more are staged in several goes by the caller). */
export interface BagKernelShape {
  tableRows: number;
  dim: number;
  /** Largest stride of forward's out and update's grad. */
  maxStride: number;
  maxBatch: number;
}

/**
 * The plain typed-array kernel. The loops read the staged row's feature range once and keep the per-feature reads out
 * of the inner loop; the arithmetic is the float32 arithmetic of the header.
 */
export class JsBagKernel implements BagKernel {
  readonly name = 'js';
  private readonly embedding: Float32Array;
  private features: SparseRows | null = null;
  private rows: Int32Array = new Int32Array(0);
  private size = 0;

  constructor(private readonly shape: BagKernelShape) {
    this.embedding = new Float32Array(shape.tableRows * shape.dim);
  }

  stage(features: SparseRows, rows: Int32Array, size: number): void {
    this.features = features;
    this.rows = rows;
    this.size = size;
  }

  forward(out: Float32Array, stride: number): void {
    jsBagForward(this.features!, this.rows, this.size, this.embedding, this.shape.dim, out, stride);
  }

  update(grad: Float32Array, stride: number, learningRate: number): void {
    const { offsets, indices, values } = this.features!;
    const { dim } = this.shape;
    const embedding = this.embedding;
    const rate = Math.fround(learningRate);
    for (let r = 0; r < this.size; r++) {
      const row = this.rows[r];
      const g = r * stride;
      const end = offsets[row + 1];
      for (let k = offsets[row]; k < end; k++) {
        const scale = Math.fround(rate * values[k]);
        const e = indices[k] * dim;
        for (let d = 0; d < dim; d++) embedding[e + d] -= Math.fround(scale * grad[g + d]);
      }
    }
  }

  table(): Float32Array {
    return this.embedding;
  }

  load(table: Float32Array): void {
    checkTableSize(table, this.shape);
    this.embedding.set(table);
  }
}

function checkTableSize(table: Float32Array, shape: BagKernelShape): void {
  if (table.length !== shape.tableRows * shape.dim) throw new Error(`a table of ${table.length} values for a kernel of ${shape.tableRows} rows × ${shape.dim}`);
}

/** The forward pass of the header's arithmetic on a plain table (training's js kernel and prediction). */
export function jsBagForward(features: SparseRows, rows: ArrayLike<number>, size: number, embedding: Float32Array, dim: number, out: Float32Array, stride: number): void {
  const { offsets, indices, values } = features;
  for (let r = 0; r < size; r++) {
    const row = rows[r];
    const base = r * stride;
    out.fill(0, base, base + dim);
    const end = offsets[row + 1];
    for (let k = offsets[row]; k < end; k++) {
      const value = values[k];
      const e = indices[k] * dim;
      for (let d = 0; d < dim; d++) out[base + d] += Math.fround(value * embedding[e + d]);
    }
  }
}

// --- The WebAssembly module -------------------------------------------------------------------------------------

/** Unsigned LEB128. */
function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 (i32.const). */
function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vector = (items: number[][]) => [...uleb(items.length), ...items.flat()];

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
// Instructions.
const block = [0x02, 0x40];
const loop = [0x03, 0x40];
const end = [0x0b];
const br = (depth: number) => [0x0c, ...uleb(depth)];
const brIf = (depth: number) => [0x0d, ...uleb(depth)];
const get = (local: number) => [0x20, ...uleb(local)];
const set = (local: number) => [0x21, ...uleb(local)];
const tee = (local: number) => [0x22, ...uleb(local)];
const i32Const = (value: number) => [0x41, ...sleb(value)];
const i32Load = (offset = 0) => [0x28, 2, ...uleb(offset)];
const f32Load = (offset = 0) => [0x2a, 2, ...uleb(offset)];
const i32GeU = [0x4f];
const i32Add = [0x6a];
const i32Mul = [0x6c];
const f32Mul = [0x94];
const simd = (op: number, ...immediates: number[]) => [0xfd, ...uleb(op), ...immediates];
/** v128.load / v128.store with alignment 16 (a hint only) and a constant offset. */
const v128Load = (offset: number) => simd(0x00, 4, ...uleb(offset));
const v128Store = (offset: number) => simd(0x0b, 4, ...uleb(offset));
const v128Zero = simd(0x0c, ...new Array<number>(16).fill(0));
const f32x4Splat = simd(0x13);
const f32x4Add = simd(0xe4);
const f32x4Sub = simd(0xe5);
const f32x4Mul = simd(0xe6);

/**
 * The loop both kernels share: for each staged row r (0 ≤ r < rows): `rowStart`; then for k from offsets[r] to
 * offsets[r + 1] (× 4: byte offsets into the staged indices and values): `feature`; then `rowEnd`. Declares the locals
 * after the parameters: 4 i32 (r, k, end, address), then 1 + quads v128 (scale, and the row's quads).
 */
function rowFeatureLoops(
  at: { rows: number; offsets: number; r: number; k: number; end: number; address: number },
  quads: number,
  rowStart: number[],
  feature: number[],
  rowEnd: number[],
): number[] {
  const code: number[] = [];
  code.push(...i32Const(0), ...set(at.r));
  code.push(...block, ...loop);
  code.push(...get(at.r), ...get(at.rows), ...i32GeU, ...brIf(1));
  code.push(...rowStart);
  // k = offsets[r], end = offsets[r + 1] (as byte offsets into indices and values: × 4).
  code.push(...get(at.offsets), ...get(at.r), ...i32Const(4), ...i32Mul, ...i32Add, ...tee(at.address), ...i32Load(0), ...i32Const(4), ...i32Mul, ...set(at.k));
  code.push(...get(at.address), ...i32Load(4), ...i32Const(4), ...i32Mul, ...set(at.end));
  code.push(...block, ...loop);
  code.push(...get(at.k), ...get(at.end), ...i32GeU, ...brIf(1));
  code.push(...feature);
  code.push(...get(at.k), ...i32Const(4), ...i32Add, ...set(at.k), ...br(0));
  code.push(...end, ...end);
  code.push(...rowEnd);
  code.push(...get(at.r), ...i32Const(1), ...i32Add, ...set(at.r), ...br(0));
  code.push(...end, ...end, ...end);
  const locals = vector([
    [...uleb(4), I32],
    [...uleb(1 + quads), V128],
  ]);
  return [...locals, ...code];
}

/**
 * forward(rows, offsets, indices, values, out, strideBytes): the staged CSR (offsets relative to the staged indices and
 * values, byte addresses) → out; the table starts at address 0. Quads of the row in locals acc0.. (dim / 4 of them).
 */
function forwardBody(quads: number): number[] {
  const [ROWS, OFFSETS, INDICES, VALUES, OUT, STRIDE] = [0, 1, 2, 3, 4, 5];
  const [R, K, END, ADDRESS, SCALE, ACC] = [6, 7, 8, 9, 10, 11];
  const rowBytes = quads * 16;
  const rowStart: number[] = [];
  for (let q = 0; q < quads; q++) rowStart.push(...v128Zero, ...set(ACC + q));
  const feature: number[] = [];
  feature.push(...get(VALUES), ...get(K), ...i32Add, ...f32Load(0), ...f32x4Splat, ...set(SCALE));
  feature.push(...get(INDICES), ...get(K), ...i32Add, ...i32Load(0), ...i32Const(rowBytes), ...i32Mul, ...set(ADDRESS));
  for (let q = 0; q < quads; q++) feature.push(...get(ACC + q), ...get(SCALE), ...get(ADDRESS), ...v128Load(q * 16), ...f32x4Mul, ...f32x4Add, ...set(ACC + q));
  // out + r × stride ← the accumulators.
  const rowEnd: number[] = [];
  rowEnd.push(...get(OUT), ...get(R), ...get(STRIDE), ...i32Mul, ...i32Add, ...set(ADDRESS));
  for (let q = 0; q < quads; q++) rowEnd.push(...get(ADDRESS), ...get(ACC + q), ...v128Store(q * 16));
  return rowFeatureLoops({ rows: ROWS, offsets: OFFSETS, r: R, k: K, end: END, address: ADDRESS }, quads, rowStart, feature, rowEnd);
}

/**
 * update(rows, offsets, indices, values, grad, strideBytes, rate): for each staged row r and each of its features k,
 * table[index k] −= f32(rate × value k) × grad[r]; the gradient's quads in locals.
 */
function updateBody(quads: number): number[] {
  const [ROWS, OFFSETS, INDICES, VALUES, GRAD, STRIDE, RATE] = [0, 1, 2, 3, 4, 5, 6];
  const [R, K, END, ADDRESS, SCALE, G] = [7, 8, 9, 10, 11, 12];
  const rowBytes = quads * 16;
  const rowStart: number[] = [];
  rowStart.push(...get(GRAD), ...get(R), ...get(STRIDE), ...i32Mul, ...i32Add, ...set(ADDRESS));
  for (let q = 0; q < quads; q++) rowStart.push(...get(ADDRESS), ...v128Load(q * 16), ...set(G + q));
  const feature: number[] = [];
  feature.push(...get(RATE), ...get(VALUES), ...get(K), ...i32Add, ...f32Load(0), ...f32Mul, ...f32x4Splat, ...set(SCALE));
  feature.push(...get(INDICES), ...get(K), ...i32Add, ...i32Load(0), ...i32Const(rowBytes), ...i32Mul, ...set(ADDRESS));
  for (let q = 0; q < quads; q++) {
    feature.push(...get(ADDRESS), ...get(ADDRESS), ...v128Load(q * 16), ...get(SCALE), ...get(G + q), ...f32x4Mul, ...f32x4Sub, ...v128Store(q * 16));
  }
  return rowFeatureLoops({ rows: ROWS, offsets: OFFSETS, r: R, k: K, end: END, address: ADDRESS }, quads, rowStart, feature, []);
}

/** The module's bytes for one dimension (a multiple of 4): memory "memory" (exported), functions "forward", "update". */
export function bagModuleBytes(dim: number): Uint8Array {
  if (dim <= 0 || dim % 4 !== 0) throw new Error(`the wasm bag kernel needs a dimension that is a positive multiple of 4, got ${dim}`);
  const quads = dim / 4;
  const forwardType = [0x60, ...vector([[I32], [I32], [I32], [I32], [I32], [I32]]), 0];
  const updateType = [0x60, ...vector([[I32], [I32], [I32], [I32], [I32], [I32], [F32]]), 0];
  const name = (text: string) => [...uleb(text.length), ...Array.from(text, (c) => c.charCodeAt(0))];
  const bodies = [forwardBody(quads), updateBody(quads)].map((body) => [...uleb(body.length), ...body]);
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([forwardType, updateType])),
    ...section(3, vector([[0], [1]])),
    ...section(5, vector([[0x00, ...uleb(1)]])), // one memory, 1 page at least, no maximum (the kernel grows it)
    ...section(7, vector([[...name('memory'), 0x02, 0], [...name('forward'), 0x00, 0], [...name('update'), 0x00, 1]])),
    ...section(10, vector(bodies)),
  ]);
}

/** The parts of the WebAssembly API used here (the project's TypeScript lib has no DOM, where its types live). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule) => { exports: unknown };
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

interface BagExports {
  memory: WasmMemory;
  forward(rows: number, offsets: number, indices: number, values: number, out: number, strideBytes: number): void;
  update(rows: number, offsets: number, indices: number, values: number, grad: number, strideBytes: number, rate: number): void;
}

const compiled = new Map<number, WasmModule | null>();

/** The compiled module for a dimension, or null where this runtime has no WebAssembly SIMD. */
function bagModule(dim: number): WasmModule | null {
  if (!compiled.has(dim)) {
    let module: WasmModule | null = null;
    try {
      const bytes = bagModuleBytes(dim);
      if (wasmApi?.validate(bytes)) module = new wasmApi.Module(bytes);
    } catch {
      module = null;
    }
    compiled.set(dim, module);
  }
  return compiled.get(dim)!;
}

const PAGE = 65536;
/** The most bytes a wasm32 memory can address. */
const WASM_MEMORY_LIMIT = 65536 * PAGE;

/**
 * The WebAssembly SIMD kernel. Memory: the table at 0, then the staged offsets, the out and grad rows, then the staged
 * indices and values (grown with the batch's features).
 */
export class WasmBagKernel implements BagKernel {
  readonly name = 'wasm-simd';
  private readonly exports: BagExports;
  private readonly offsetsAt: number;
  private readonly outAt: number;
  private readonly gradAt: number;
  private readonly featuresAt: number;
  /** Staged features the memory has room for. */
  private capacity = 0;
  private size = 0;
  private f32: Float32Array;
  private i32: Int32Array;

  constructor(
    module: WasmModule,
    private readonly shape: BagKernelShape,
  ) {
    this.exports = new wasmApi!.Instance(module).exports as BagExports;
    const tableBytes = shape.tableRows * shape.dim * 4;
    this.offsetsAt = align16(tableBytes);
    this.outAt = align16(this.offsetsAt + (shape.maxBatch + 1) * 4);
    this.gradAt = this.outAt + align16(shape.maxBatch * shape.maxStride * 4);
    this.featuresAt = this.gradAt + align16(shape.maxBatch * shape.maxStride * 4);
    this.reserve(1024);
    this.f32 = new Float32Array(this.exports.memory.buffer);
    this.i32 = new Int32Array(this.exports.memory.buffer);
  }

  /** Room for `features` staged features (indices then values). */
  private reserve(features: number): void {
    if (features <= this.capacity) return;
    const capacity = Math.max(features, this.capacity * 2);
    const bytes = this.featuresAt + capacity * 8;
    if (bytes > WASM_MEMORY_LIMIT) throw new Error(`the wasm bag kernel needs ${bytes} bytes, more than WebAssembly's 4 GiB`);
    const memory = this.exports.memory;
    if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
    this.capacity = capacity;
    this.f32 = new Float32Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
  }

  private get valuesAt(): number {
    return this.featuresAt + this.capacity * 4;
  }

  stage(features: SparseRows, rows: Int32Array, size: number): void {
    const { offsets, indices, values } = features;
    let total = 0;
    for (let r = 0; r < size; r++) total += offsets[rows[r] + 1] - offsets[rows[r]];
    this.reserve(total);
    const { i32, f32 } = this;
    const offsetsAt = this.offsetsAt >> 2;
    const indicesAt = this.featuresAt >> 2;
    const valuesAt = this.valuesAt >> 2;
    let at = 0;
    i32[offsetsAt] = 0;
    for (let r = 0; r < size; r++) {
      const from = offsets[rows[r]];
      const to = offsets[rows[r] + 1];
      i32.set(indices.subarray(from, to), indicesAt + at);
      f32.set(values.subarray(from, to), valuesAt + at);
      at += to - from;
      i32[offsetsAt + r + 1] = at;
    }
    this.size = size;
  }

  forward(out: Float32Array, stride: number): void {
    this.exports.forward(this.size, this.offsetsAt, this.featuresAt, this.valuesAt, this.outAt, stride * 4);
    const at = this.outAt >> 2;
    const dim = this.shape.dim;
    if (stride === dim) out.set(this.f32.subarray(at, at + this.size * dim));
    else for (let r = 0; r < this.size; r++) out.set(this.f32.subarray(at + r * stride, at + r * stride + dim), r * stride);
  }

  update(grad: Float32Array, stride: number, learningRate: number): void {
    this.f32.set(grad.subarray(0, this.size * stride), this.gradAt >> 2);
    this.exports.update(this.size, this.offsetsAt, this.featuresAt, this.valuesAt, this.gradAt, stride * 4, learningRate);
  }

  table(): Float32Array {
    return this.f32.slice(0, this.shape.tableRows * this.shape.dim);
  }

  load(table: Float32Array): void {
    checkTableSize(table, this.shape);
    this.f32.set(table, 0);
  }
}

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/** Whether this runtime runs the wasm-simd kernel for a dimension. */
export function wasmSimdAvailable(dim: number): boolean {
  return dim > 0 && dim % 4 === 0 && bagModule(dim) !== null;
}

/**
 * The kernel for a shape: `wasm-simd` where available and the table fits WebAssembly's memory, else `js`; `prefer`
 * forces one (`wasm-simd` then throws where it is not available).
 */
export function createBagKernel(shape: BagKernelShape, prefer?: BagKernelName): BagKernel {
  if (prefer === 'js') return new JsBagKernel(shape);
  const module = shape.dim % 4 === 0 && shape.dim > 0 ? bagModule(shape.dim) : null;
  const fits = shape.tableRows * shape.dim * 4 + 2 * shape.maxBatch * shape.maxStride * 4 + (1 << 20) < WASM_MEMORY_LIMIT;
  if (module && fits) {
    try {
      return new WasmBagKernel(module, shape);
    } catch (error) {
      // The memory could not grow to the table (the process's address space): the js kernel gives the same bits.
      if (prefer === 'wasm-simd') throw error;
    }
    return new JsBagKernel(shape);
  }
  if (prefer === 'wasm-simd') throw new Error(`the wasm-simd bag kernel is not available here (dimension ${shape.dim}${fits ? '' : ', table too large'})`);
  return new JsBagKernel(shape);
}
