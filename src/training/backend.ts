/**
 * TensorFlow.js backend selection. `auto` tries, in order: `@tensorflow/tfjs-node-gpu` (CUDA), `@tensorflow/tfjs-node`
 * (native CPU), `@tensorflow/tfjs-backend-wasm`, then the plain JavaScript `cpu` backend, and reports why each one
 * before the winner was skipped. A preference other than `auto` forces one backend and fails if it cannot start.
 *
 * The native packages are optional and never bundled (esbuild marks them external): they are loaded with a run-time
 * `require` made by `createRequire`, which esbuild leaves alone. A native package brings its own copy of tfjs-core,
 * so the engine must use the `tf` namespace returned here rather than a static import.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as bundledTf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendPreference } from './types';

export type TensorFlow = typeof bundledTf;

export interface BackendSelection {
  /** The TensorFlow.js backend name in use: `tensorflow` (native, GPU or CPU), `wasm` or `cpu`. */
  name: string;
  /** The package that provided it. */
  source: string;
  skipped: { name: string; reason: string }[];
  tf: TensorFlow;
}

interface Candidate {
  preference: Exclude<BackendPreference, 'auto'>;
  label: string;
  load(): Promise<{ tf: TensorFlow; name: string }>;
}

const runtimeRequire = createRequire(__filename);

function loadNative(packageName: string): () => Promise<{ tf: TensorFlow; name: string }> {
  return async () => {
    const tf = runtimeRequire(packageName) as TensorFlow;
    await tf.setBackend('tensorflow');
    await tf.ready();
    if (tf.getBackend() !== 'tensorflow') throw new Error(`${packageName} loaded but its backend did not start`);
    return { tf, name: 'tensorflow' };
  };
}

/**
 * Where the .wasm binaries are: next to the bundle (esbuild.mjs copies them into dist/), else in the installed
 * package (running from source, e.g. under tsx in tests).
 */
export function wasmDirectory(): string {
  const candidates = [__dirname, path.join(__dirname, '..'), path.join(__dirname, 'dist')];
  for (const dir of candidates) if (existsSync(path.join(dir, 'tfjs-backend-wasm.wasm'))) return dir + path.sep;
  try {
    return path.join(path.dirname(runtimeRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  } catch {
    throw new Error(`tfjs-backend-wasm.wasm not found next to ${__dirname} nor in node_modules/@tensorflow/tfjs-backend-wasm`);
  }
}

const CANDIDATES: Candidate[] = [
  { preference: 'tensorflow-gpu', label: '@tensorflow/tfjs-node-gpu', load: loadNative('@tensorflow/tfjs-node-gpu') },
  { preference: 'tensorflow', label: '@tensorflow/tfjs-node', load: loadNative('@tensorflow/tfjs-node') },
  {
    preference: 'wasm',
    label: '@tensorflow/tfjs-backend-wasm',
    async load() {
      const dir = wasmDirectory();
      if (!existsSync(path.join(dir, 'tfjs-backend-wasm.wasm'))) throw new Error(`tfjs-backend-wasm.wasm missing in ${dir}`);
      setWasmPaths(dir);
      if (!(await bundledTf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
      await bundledTf.ready();
      return { tf: bundledTf, name: 'wasm' };
    },
  },
  {
    preference: 'cpu',
    label: '@tensorflow/tfjs (cpu)',
    async load() {
      if (!(await bundledTf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
      await bundledTf.ready();
      return { tf: bundledTf, name: 'cpu' };
    },
  },
];

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/Cannot find module/.test(message)) return 'not installed';
  return message.split('\n')[0];
}

let cached: Promise<BackendSelection> | undefined;
let cachedPreference: BackendPreference | undefined;

/** Selects (once per process and preference) and initialises a backend. */
export function selectBackend(preference: BackendPreference = 'auto'): Promise<BackendSelection> {
  if (cached && cachedPreference === preference) return cached;
  cachedPreference = preference;
  cached = doSelect(preference);
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}

/**
 * The backend this process already selected (the run's or predict's `--backend`), else the `auto` one: for code that
 * runs inside a run without being handed its preference (a model-based encoder), so that it never switches the
 * process's TensorFlow.js backend under the run.
 */
export function activeBackend(): Promise<BackendSelection> {
  return cached ?? selectBackend('auto');
}

async function doSelect(preference: BackendPreference): Promise<BackendSelection> {
  // Production mode: skips debug checks and the cpu backend's console banner advertising tfjs-node.
  bundledTf.enableProdMode();
  const order = preference === 'auto' ? CANDIDATES : CANDIDATES.filter((candidate) => candidate.preference === preference);
  if (order.length === 0) throw new Error(`unknown backend '${preference}' (expected auto, tensorflow-gpu, tensorflow, wasm or cpu)`);
  const skipped: { name: string; reason: string }[] = [];
  for (const candidate of order) {
    try {
      const { tf, name } = await candidate.load();
      return { name, source: candidate.label, skipped, tf };
    } catch (error) {
      skipped.push({ name: candidate.label, reason: reasonOf(error) });
    }
  }
  const details = skipped.map((entry) => `${entry.name}: ${entry.reason}`).join('; ');
  throw new Error(`no TensorFlow.js backend could start for preference '${preference}' (${details})`);
}
