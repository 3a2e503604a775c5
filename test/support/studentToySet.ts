/**
 * A small learnable student training set shared by the kernel tests and their child processes
 * (training-student-kernel.test.ts; a child loads this file, not the test file, which would run the tests again).
 */
import { SeededRandom } from '../../src/training/random';
import type { SparseRows } from '../../src/training/featurize';
import { trainStudent, DEFAULT_STUDENT, type DenseRows } from '../../src/training/student';

/** A small learnable set: 4 classes, each with its own words, over 300 table rows; dense features optional. */
export function toySet(withDense: boolean) {
  const random = new SeededRandom(3);
  const rows = 240;
  const classes = 4;
  const offsets = new Int32Array(rows + 1);
  const indices: number[] = [];
  const values: number[] = [];
  const targets = new Float32Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    const label = r % classes;
    for (let k = 0; k < 8; k++) {
      indices.push(random.next() < 0.6 ? label * 50 + Math.floor(random.next() * 50) : 200 + Math.floor(random.next() * 100));
      values.push(0.35);
    }
    offsets[r + 1] = indices.length;
    targets[r * classes + label] = 0.9;
    targets[r * classes + ((label + 1) % classes)] = 0.1;
  }
  const features: SparseRows = { rows, offsets, indices: Int32Array.from(indices), values: Float32Array.from(values) };
  const dense: DenseRows | undefined = withDense ? { dims: 3, values: Float32Array.from({ length: rows * 3 }, () => random.next() * 2 - 1) } : undefined;
  const subset = Int32Array.from({ length: 200 }, (_, i) => (i * 7) % rows);
  const subsetTargets = new Float32Array(subset.length * classes);
  subset.forEach((row, i) => subsetTargets.set(targets.subarray(row * classes, (row + 1) * classes), i * classes));
  return { features, dense, subset, targets: subsetTargets, classes, tableRows: 300 };
}


/**
 * Trains the toy student (with dense features) and returns its weights' bits as hex, in this process. Without label
 * smoothing unless `labelSmoothing` says otherwise (the pinned bits predate it; the peers train that way). `smoothTargets`
 * smooths the targets before training instead, as (1 − ε)·q + ε/C.
 */
export async function toyWeightsHex(kernel?: 'js' | 'wasm-simd', labelSmoothing = 0, smoothTargets = 0): Promise<string> {
  const set = toySet(true);
  if (smoothTargets > 0) set.targets = set.targets.map((q) => (1 - smoothTargets) * q + smoothTargets / set.classes);
  const weights = await trainStudent(
    { features: set.features, dense: set.dense, rows: set.subset, targets: set.targets, weights: new Float32Array(set.subset.length).fill(1) },
    set.tableRows,
    set.classes,
    { ...DEFAULT_STUDENT, epochs: 2, minRowUpdates: 0, seed: 9, labelSmoothing },
    { kernel },
  );
  return [weights.embedding, weights.kernel, weights.bias].map((values) => Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('hex')).join(':');
}

