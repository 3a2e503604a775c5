/**
 * Independent students (the K peers of a stage, and the vanilla student beside stage 1's peers) trained at once in
 * `worker_threads`, sharing the run's features (the sparse words and, where an encoder is used, the dense embedding)
 * through SharedArrayBuffers. Each student keeps its own seed and data,
 * so the weights are the same whatever the number of threads. Where threads are unavailable (no thread entry next
 * to this code, a Worker that cannot be created, a TensorFlow.js head, or threads ≤ 1) the students train here, one
 * after the other, as before.
 */
import { Worker } from 'node:worker_threads';
import type { SparseRows } from './featurize';
import { predictStudent, trainStudent, type DenseRows, type StudentOptions, type StudentWeights, type TrainHooks, type TrainingSet } from './student';
import { startThread, threadCount, threadEntry } from './threads';

export interface StudentJob {
  /** Rows of the pool's features to train on. */
  rows: Int32Array;
  /** rows.length × classes. */
  targets: Float32Array;
  /** One per row. */
  weights: Float32Array;
  /** Whether the student reads the pool's dense features next to the words (absent = words alone). */
  dense?: boolean;
  buckets: number;
  classes: number;
  options: StudentOptions;
  /**
   * Rows of the pool's features to predict with the trained student, in the thread that trained it (`all`: every
   * row): held-out probabilities come back with the weights instead of being computed after, one student at a time,
   * in the run's thread. Each row's probabilities depend on the weights and the row only: the same whatever the threads.
   */
  predict?: Int32Array | 'all';
}

/** A trained student, and its probabilities (rows × classes) on the job's `predict` rows where it asked for them. */
export interface TrainedStudent {
  weights: StudentWeights;
  probabilities?: Float32Array;
}

export interface ThreadJob extends StudentJob {
  id: number;
}

export type ThreadReply =
  | { type: 'epoch'; id: number; epoch: number; loss: number; rowsPerSecond: number }
  | { type: 'done'; id: number; weights: StudentWeights; probabilities?: Float32Array }
  | { type: 'error'; id: number; message: string };

export interface StudentPool {
  /** Threads that train students (0: they train in this thread). */
  readonly threads: number;
  train(job: StudentJob, onEpoch?: TrainHooks['onEpoch']): Promise<StudentWeights>;
  /** train(), and the student's probabilities on the job's `predict` rows. */
  trainAndPredict(job: StudentJob, onEpoch?: TrainHooks['onEpoch']): Promise<TrainedStudent>;
  /**
   * Forgets the dense features (the run keeps the words alone): this thread and every student thread drop their
   * reference, so the shared buffer (400 MB for a million rows of 100-d vectors) can be freed. A later job that asks
   * for them fails.
   */
  dropDense(): void;
  close(): Promise<void>;
}

/** What a student thread is sent: a job, or the order to forget the dense features (StudentPool.dropDense). */
export type ThreadMessage = ThreadJob | { dropDense: true };

export interface PoolOptions {
  /** Dense features of every row (an encoder's embedding), for the jobs that ask for them. */
  dense?: DenseRows;
  /** Wanted threads; 0 = one per available core. */
  threads: number;
  /** Most students that can run at once (more threads than that would idle). */
  maxConcurrent: number;
  signal?: AbortSignal;
  /** Called between batches of in-thread training (throws to stop). */
  checkpoint?: () => void;
  tf?: TrainHooks['tf'];
  /** The thread entry; default: studentThread.js (bundle) or .ts (sources, under tsx) next to this file. */
  entry?: string | null;
  onLog?: (line: string) => void;
}

/** The thread entry next to this code: dist/studentThread.js in the bundles, src/training/studentThread.ts under tsx. */
export function defaultThreadEntry(): string | null {
  return threadEntry(__dirname, 'studentThread');
}

/** What a thread receives once: the run's features. */
export interface ThreadData {
  features: SparseRows;
  dense?: DenseRows;
}

/** A copy of a typed array over a SharedArrayBuffer, so that threads read it without a copy each (itself when it is one). */
function share<T extends Int32Array | Float32Array>(array: T, make: (buffer: SharedArrayBuffer) => T): T {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const copy = make(new SharedArrayBuffer(array.byteLength));
  copy.set(array);
  return copy;
}

/**
 * The run's features over SharedArrayBuffers. The pipeline calls it once and keeps only the result, so a million-row
 * run holds one copy of its features, not one for its own thread and one for the student threads.
 */
export function shared(features: SparseRows, dense: DenseRows | undefined): ThreadData {
  return {
    features: {
      rows: features.rows,
      offsets: share(features.offsets, (b) => new Int32Array(b)),
      indices: share(features.indices, (b) => new Int32Array(b)),
      values: share(features.values, (b) => new Float32Array(b)),
    },
    ...(dense ? { dense: { dims: dense.dims, values: share(dense.values, (b) => new Float32Array(b)) } } : {}),
  };
}

/** Trains a job's student and predicts its `predict` rows (in a student thread, or in-process). */
export async function runJob(data: ThreadData, job: StudentJob, hooks: TrainHooks = {}): Promise<TrainedStudent> {
  const weights = await trainStudent(jobSet(data, job), job.buckets, job.classes, job.options, hooks);
  if (job.predict === undefined) return { weights };
  const dense = weights.denseDim ? data.dense : undefined;
  return { weights, probabilities: predictStudent(weights, data.features, dense, job.predict === 'all' ? undefined : job.predict) };
}

/** A job's training set: its rows of the features (read in place, not copied), with the dense features where it reads them. */
export function jobSet(data: ThreadData, job: StudentJob): TrainingSet {
  if (job.dense && !data.dense) throw new Error('the student reads dense features, but the pool has none');
  return {
    features: data.features,
    ...(job.dense ? { dense: data.dense } : {}),
    rows: job.rows,
    targets: job.targets,
    weights: job.weights,
  };
}

function abortError(): Error {
  const error = new Error('distillation cancelled');
  error.name = 'AbortError';
  return error;
}

export function createStudentPool(features: SparseRows, poolOptions: PoolOptions): StudentPool {
  // The dense features live in the pools' own data only (not in the options the closures keep), so dropDense frees them.
  const { dense, ...rest } = poolOptions;
  const options: PoolOptions = rest;
  const wanted = threadCount(options.threads, options.maxConcurrent);
  const entry = options.entry === undefined ? defaultThreadEntry() : options.entry;
  const typedHead = (job: StudentJob) => job.options.head === 'typed';
  let workers: Worker[] = [];
  if (wanted > 1 && entry) {
    try {
      const data = shared(features, dense);
      workers = Array.from({ length: wanted }, () => startThread(entry, data));
    } catch (error) {
      for (const worker of workers) void worker.terminate();
      workers = [];
      options.onLog?.(`student threads unavailable (${error instanceof Error ? error.message : String(error)}): students train one after the other`);
    }
  }
  return workers.length ? threadPool(workers, features, dense, options, typedHead) : inProcessPool(features, dense, options);
}

/** One student after the other, in this thread (the order of submission). */
function inProcessPool(features: SparseRows, dense: DenseRows | undefined, options: PoolOptions): StudentPool {
  const data: ThreadData = { features, dense };
  let queue: Promise<unknown> = Promise.resolve();
  const trainAndPredict = (job: StudentJob, onEpoch?: TrainHooks['onEpoch']) => {
    const run = queue.then(() => runJob(data, job, { tf: options.tf, checkpoint: options.checkpoint, onEpoch }));
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    threads: 0,
    trainAndPredict,
    train: (job, onEpoch) => trainAndPredict(job, onEpoch).then((trained) => trained.weights),
    dropDense() {
      data.dense = undefined;
    },
    async close() {},
  };
}

interface Pending {
  job: ThreadJob;
  onEpoch?: TrainHooks['onEpoch'];
  resolve(trained: TrainedStudent): void;
  reject(error: Error): void;
}

function threadPool(workers: Worker[], features: SparseRows, dense: DenseRows | undefined, options: PoolOptions, typedHead: (job: StudentJob) => boolean): StudentPool {
  const fallback = inProcessPool(features, dense, options);
  const waiting: Pending[] = [];
  const running = new Map<Worker, Pending>();
  const idle = [...workers];
  let nextId = 0;
  let failure: Error | undefined;

  const failAll = (error: Error) => {
    if (failure) return;
    failure = error;
    for (const pending of [...running.values(), ...waiting]) pending.reject(error);
    running.clear();
    waiting.length = 0;
    for (const worker of workers) void worker.terminate();
  };
  const onAbort = () => failAll(abortError());
  options.signal?.addEventListener('abort', onAbort);

  const dispatch = () => {
    while (idle.length && waiting.length) {
      const worker = idle.shift()!;
      const pending = waiting.shift()!;
      running.set(worker, pending);
      worker.postMessage(pending.job);
    }
  };

  for (const worker of workers) {
    worker.on('message', (reply: ThreadReply) => {
      const pending = running.get(worker);
      if (!pending || pending.job.id !== reply.id) return;
      if (reply.type === 'epoch') {
        try {
          pending.onEpoch?.(reply.epoch, reply.loss, reply.rowsPerSecond);
        } catch (error) {
          failAll(error instanceof Error ? error : new Error(String(error)));
        }
        return;
      }
      running.delete(worker);
      idle.push(worker);
      if (reply.type === 'done') pending.resolve({ weights: reply.weights, ...(reply.probabilities ? { probabilities: reply.probabilities } : {}) });
      else {
        // This student is no longer running: reject it here (failAll rejects the running and the waiting ones).
        const error = new Error(`a student thread failed: ${reply.message}`);
        pending.reject(error);
        failAll(error);
      }
      dispatch();
    });
    worker.on('error', (error) => failAll(new Error(`a student thread failed: ${error.message}`)));
    worker.on('exit', (code) => {
      if (!failure) failAll(new Error(`a student thread stopped unexpectedly (exit code ${code})`));
    });
  }

  const trainAndPredict = (job: StudentJob, onEpoch?: TrainHooks['onEpoch']): Promise<TrainedStudent> => {
    if (!typedHead(job)) return fallback.trainAndPredict(job, onEpoch);
    if (options.signal?.aborted) return Promise.reject(abortError());
    if (failure) return Promise.reject(failure);
    return new Promise<TrainedStudent>((resolve, reject) => {
      waiting.push({ job: { ...job, id: nextId++ }, onEpoch, resolve, reject });
      dispatch();
    });
  };
  return {
    threads: workers.length,
    trainAndPredict,
    train: (job, onEpoch) => trainAndPredict(job, onEpoch).then((trained) => trained.weights),
    dropDense() {
      fallback.dropDense();
      const message: ThreadMessage = { dropDense: true };
      for (const worker of workers) worker.postMessage(message);
    },
    async close() {
      options.signal?.removeEventListener('abort', onAbort);
      failure ??= new Error('the student pool is closed');
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
