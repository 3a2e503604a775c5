import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/training/random';
import { createBagKernel, wasmSimdAvailable, bagModuleBytes, type BagKernel, type BagKernelShape } from '../../src/training/bagKernel';
import { trainStudent, predictStudent, DEFAULT_STUDENT } from '../../src/training/student';
import type { SparseRows } from '../../src/training/featurize';
import { toySet, toyWeightsHex } from '../support/studentToySet';

// The two kernels must agree bit for bit (tolerance 0): a seed gives the same student with or without WebAssembly
// SIMD. Both are also checked against a float64 reference to a relative tolerance of 1e-4 of the row's magnitude.

/** Random CSR rows over `tableRows` table rows: 0–12 features per row, repeats within a row, values of both signs. */
function randomFeatures(random: SeededRandom, rows: number, tableRows: number): SparseRows {
  const offsets = new Int32Array(rows + 1);
  const indices: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < rows; r++) {
    const count = Math.floor(random.next() * 13);
    for (let k = 0; k < count; k++) {
      // Half the features from a few hot rows (repeats within a row and a batch, as common words do).
      indices.push(random.next() < 0.5 ? Math.floor(random.next() * Math.min(3, tableRows)) : Math.floor(random.next() * tableRows));
      values.push(random.next() < 0.1 ? 0 : (random.next() * 2 - 1) * 3);
    }
    offsets[r + 1] = indices.length;
  }
  return { rows, offsets, indices: Int32Array.from(indices), values: Float32Array.from(values) };
}

function randomArray(random: SeededRandom, length: number, scale: number): Float32Array {
  return Float32Array.from({ length }, () => (random.next() * 2 - 1) * scale);
}

const bits = (values: Float32Array) => Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));

/** Float64 forward of the staged rows, for the reference check. */
function referenceForward(features: SparseRows, rows: Int32Array, size: number, table: Float32Array, dim: number): { values: Float64Array; magnitude: Float64Array } {
  const values = new Float64Array(size * dim);
  const magnitude = new Float64Array(size * dim);
  for (let r = 0; r < size; r++) {
    for (let k = features.offsets[rows[r]]; k < features.offsets[rows[r] + 1]; k++) {
      for (let d = 0; d < dim; d++) {
        const term = features.values[k] * table[features.indices[k] * dim + d];
        values[r * dim + d] += term;
        magnitude[r * dim + d] += Math.abs(term);
      }
    }
  }
  return { values, magnitude };
}

test('wasm-simd is available on the Node versions the extension supports (else the js kernel is the one that runs)', () => {
  const wasm = (globalThis as { WebAssembly?: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
  assert.ok(wasm?.validate(bagModuleBytes(32)), 'the assembled module validates');
  assert.equal(wasmSimdAvailable(32), true);
  assert.equal(createBagKernel({ tableRows: 10, dim: 32, maxStride: 32, maxBatch: 4 }).name, 'wasm-simd');
});

test('dimensions that are not a multiple of 4 use the js kernel; asking for wasm-simd there says why', () => {
  assert.equal(wasmSimdAvailable(6), false);
  assert.equal(createBagKernel({ tableRows: 10, dim: 6, maxStride: 6, maxBatch: 4 }).name, 'js');
  assert.throws(() => createBagKernel({ tableRows: 10, dim: 6, maxStride: 6, maxBatch: 4 }, 'wasm-simd'), /wasm-simd bag kernel is not available here \(dimension 6\)/);
  // A table beyond WebAssembly's 4 GiB (2^25 rows × 64 dims × 4 bytes = 8 GiB) cannot be a wasm memory.
  assert.throws(() => createBagKernel({ tableRows: 1 << 25, dim: 64, maxStride: 64, maxBatch: 4 }, 'wasm-simd'), /not available here \(dimension 64, table too large\)/);
});

test('property: wasm-simd and js kernels give the same bits on random shapes, batches and steps', () => {
  for (let trial = 0; trial < 40; trial++) {
    const random = new SeededRandom(1000 + trial);
    const dim = [4, 8, 12, 32, 36, 64][trial % 6];
    const tableRows = 1 + Math.floor(random.next() * 50);
    const denseDim = trial % 3 === 0 ? 3 : 0;
    const stride = dim + denseDim;
    const maxBatch = 1 + Math.floor(random.next() * 40);
    const features = randomFeatures(random, 60, tableRows);
    const shape: BagKernelShape = { tableRows, dim, maxStride: stride, maxBatch };
    const kernels: BagKernel[] = [createBagKernel(shape, 'js'), createBagKernel(shape, 'wasm-simd')];
    // A random start for the table: a few updates with a random gradient.
    for (let step = 0; step < 6; step++) {
      const size = 1 + Math.floor(random.next() * maxBatch);
      const rows = Int32Array.from({ length: size }, () => Math.floor(random.next() * features.rows));
      const grad = randomArray(random, size * stride, step === 0 ? 1 : 0.2);
      const rate = random.next() * 0.5;
      const outs = kernels.map(() => new Float32Array(size * stride).fill(7));
      const before = Float32Array.from(kernels[0].table());
      kernels.forEach((kernel, i) => {
        kernel.stage(features, rows, size);
        kernel.forward(outs[i], stride);
        kernel.update(grad, stride, rate);
      });
      assert.deepEqual(bits(outs[1]), bits(outs[0]), `trial ${trial} step ${step}: forward`);
      assert.deepEqual(bits(kernels[1].table()), bits(kernels[0].table()), `trial ${trial} step ${step}: update`);
      // The forward is the float64 sum, rounded; the dense part of each row is left as it was.
      const reference = referenceForward(features, rows, size, before, dim);
      for (let r = 0; r < size; r++) {
        for (let d = 0; d < dim; d++) {
          const error = Math.abs(outs[0][r * stride + d] - reference.values[r * dim + d]);
          assert.ok(error <= 1e-4 * reference.magnitude[r * dim + d] + 1e-30, `trial ${trial}: forward ${outs[0][r * stride + d]} vs ${reference.values[r * dim + d]}`);
        }
        for (let d = dim; d < stride; d++) assert.equal(outs[0][r * stride + d], 7);
      }
    }
  }
});

test('property: a batch whose features outgrow the staged space grows the wasm memory and still agrees', () => {
  const random = new SeededRandom(5);
  const dim = 32;
  const tableRows = 3000;
  const rows = 8;
  const offsets = Int32Array.from({ length: rows + 1 }, (_, r) => r * 5000);
  const indices = Int32Array.from({ length: rows * 5000 }, () => Math.floor(random.next() * tableRows));
  const values = randomArray(random, rows * 5000, 1);
  const features: SparseRows = { rows, offsets, indices, values };
  const shape = { tableRows, dim, maxStride: dim, maxBatch: rows };
  const [js, wasm] = [createBagKernel(shape, 'js'), createBagKernel(shape, 'wasm-simd')];
  const all = Int32Array.from({ length: rows }, (_, r) => r);
  const grad = randomArray(random, rows * dim, 1);
  const outs = [new Float32Array(rows * dim), new Float32Array(rows * dim)];
  for (const [i, kernel] of [js, wasm].entries()) {
    kernel.stage(features, all, rows);
    kernel.update(grad, dim, 0.1);
    kernel.stage(features, all, rows);
    kernel.forward(outs[i], dim);
  }
  assert.deepEqual(bits(wasm.table()), bits(js.table()));
  assert.deepEqual(bits(outs[1]), bits(outs[0]));
  assert.ok(outs[0].some((value) => value !== 0));
});

test('trainStudent: the wasm-simd and js kernels train the same student, bit for bit (with dense features and a row subset)', async () => {
  for (const withDense of [false, true]) {
    const set = toySet(withDense);
    const options = { ...DEFAULT_STUDENT, epochs: 3, minRowUpdates: 0, seed: 4 };
    const train = (kernel: 'js' | 'wasm-simd') =>
      trainStudent(
        { features: set.features, dense: set.dense, rows: set.subset, targets: set.targets, weights: new Float32Array(set.subset.length).fill(1) },
        set.tableRows,
        set.classes,
        options,
        { kernel },
      );
    const [js, wasm] = [await train('js'), await train('wasm-simd')];
    assert.deepEqual(bits(wasm.embedding), bits(js.embedding));
    assert.deepEqual(bits(wasm.kernel), bits(js.kernel));
    assert.deepEqual(bits(wasm.bias), bits(js.bias));
    assert.equal(wasm.embedding.length, set.tableRows * options.dim);
    // It learnt: most training rows predicted as their main class.
    const probabilities = predictStudent(wasm, set.features, set.dense, set.subset);
    let right = 0;
    set.subset.forEach((row, i) => {
      const p = probabilities.subarray(i * set.classes, (i + 1) * set.classes);
      if (p.indexOf(Math.max(...p)) === row % set.classes) right++;
    });
    assert.ok(right / set.subset.length > 0.8, `accuracy ${right / set.subset.length}`);
  }
});

test('trainStudent: a feature outside the embedding table is an error naming the row, not a silent NaN', async () => {
  const features: SparseRows = { rows: 2, offsets: Int32Array.from([0, 1, 2]), indices: Int32Array.from([0, 12]), values: Float32Array.from([1, 1]) };
  const set = { features, targets: Float32Array.from([1, 0, 0, 1]), weights: Float32Array.from([1, 1]) };
  for (const kernel of ['js', 'wasm-simd'] as const) {
    await assert.rejects(trainStudent(set, 10, 2, { ...DEFAULT_STUDENT, epochs: 1, minRowUpdates: 0 }, { kernel }), /feature row 1 names embedding row 12, outside the table's 10 rows/);
  }
});

test('predictStudent runs the same kernels: wasm-simd and js give the same probabilities, bit for bit, on any rows', async () => {
  for (const withDense of [false, true]) {
    const set = toySet(withDense);
    const trained = await trainStudent(
      { features: set.features, dense: set.dense, rows: set.subset, targets: set.targets, weights: new Float32Array(set.subset.length).fill(1) },
      set.tableRows,
      set.classes,
      { ...DEFAULT_STUDENT, epochs: 2, minRowUpdates: 0, seed: 9 },
    );
    // More rows than one prediction chunk (1,024), in an order that is not the features' own.
    const rows = Int32Array.from({ length: 2500 }, (_, i) => (i * 37) % set.features.rows);
    const wasm = predictStudent(trained, set.features, set.dense, rows, 'wasm-simd');
    assert.deepEqual(bits(wasm), bits(predictStudent(trained, set.features, set.dense, rows, 'js')));
    assert.ok(wasm.every(Number.isFinite));
  }
});

test('predictStudent: a feature outside the embedding table is an error naming the row, not a silent NaN or a read past the table', () => {
  const features: SparseRows = { rows: 2, offsets: Int32Array.from([0, 1, 2]), indices: Int32Array.from([0, 12]), values: Float32Array.from([1, 1]) };
  const weights = { buckets: 10, dim: 4, denseDim: 0, classes: 2, embedding: new Float32Array(40), kernel: new Float32Array(8), bias: new Float32Array(2) };
  for (const kernel of ['js', 'wasm-simd'] as const) {
    assert.throws(() => predictStudent(weights, features, undefined, undefined, kernel), /feature row 1 names embedding row 12, outside the table's 10 rows/);
  }
});

test('where WebAssembly SIMD is missing the js kernel runs by default, and trains the same student as wasm-simd', () => {
  // A child process whose WebAssembly rejects every SIMD module (as a runtime without SIMD would).
  const script = `
    WebAssembly.validate = () => false;
    const { wasmSimdAvailable, createBagKernel } = require(${JSON.stringify(require.resolve('../../src/training/bagKernel'))});
    const { toyWeightsHex } = require(${JSON.stringify(require.resolve('../support/studentToySet'))});
    process.stdout.write(JSON.stringify({ available: wasmSimdAvailable(32), name: createBagKernel({ tableRows: 4, dim: 32, maxStride: 32, maxBatch: 2 }).name }) + '\\n');
    toyWeightsHex().then((hex) => process.stdout.write(hex));
  `;
  const child = spawnSync(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  const [first, hex] = child.stdout.split('\n');
  assert.deepEqual(JSON.parse(first), { available: false, name: 'js' });
  return toyWeightsHex('wasm-simd').then((wasmHex) => assert.ok(hex === wasmHex, 'the js fallback in the child trained other weights than wasm-simd here'));
});

test('the trained bits are pinned: a speed-up of the kernel or the head (e.g. no gradient for the dense inputs) changes no weight', async () => {
  // sha256 of the toy student's weights with dense features (embedding, kernel, bias), as trained at commit cb7051c
  // and before; update it only for a change that is meant to change what the student learns, and say so. Trained
  // without label smoothing (as the peers are): ε = 0 must leave every bit as it was before smoothing existed.
  for (const kernel of ['js', 'wasm-simd'] as const) {
    assert.equal(createHash('sha256').update(await toyWeightsHex(kernel)).digest('hex'), '8702b1a17a221f3e99ff700f8593bdd6d43a9184c6ccfc52c698acf538220b6b', kernel);
  }
});

test('label smoothing ε trains exactly the student that (1 − ε)·q + ε/C as targets would; ε outside [0, 1) is refused', async () => {
  for (const kernel of ['js', 'wasm-simd'] as const) {
    const smoothed = await toyWeightsHex(kernel, 0.1);
    assert.equal(smoothed, await toyWeightsHex(kernel, 0, 0.1), kernel);
    assert.notEqual(smoothed, await toyWeightsHex(kernel), 'ε = 0.1 changes what the student learns');
  }
  const set = toySet(false);
  for (const labelSmoothing of [-0.1, 1, Number.NaN]) {
    await assert.rejects(
      trainStudent({ features: set.features, rows: set.subset, targets: set.targets, weights: new Float32Array(set.subset.length).fill(1) }, set.tableRows, set.classes, { ...DEFAULT_STUDENT, labelSmoothing }),
      /label smoothing must be in \[0, 1\)/,
    );
  }
});
