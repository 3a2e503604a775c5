/**
 * Entry of the training child process, bundled as `dist/worker.js` and started by client.ts with
 * `child_process.fork`. The only place where the editor's side loads TensorFlow.js, and only once a run starts
 * (after the handshake), through the method's pipeline.ts and model.ts. The runtime is in workerRuntime.ts.
 */
import { serveWorker, type DistillationEngine } from './workerRuntime';

/** The real method, loaded only once a run starts so that the handshake does not wait for TensorFlow.js. */
export async function loadDefaultEngine(): Promise<DistillationEngine> {
  const [pipeline, model] = await Promise.all([import('./pipeline.js'), import('./model.js')]);
  return { runDistillation: pipeline.runDistillation, saveModel: model.saveModel as DistillationEngine['saveModel'] };
}

serveWorker(loadDefaultEngine);
