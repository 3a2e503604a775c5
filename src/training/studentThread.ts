/**
 * Entry of a student-training thread (bundled as `dist/studentThread.js`; studentPool.ts starts it). The features
 * (the words, and the dense embedding where the run uses one) arrive once, as typed arrays over SharedArrayBuffers
 * (no copy); each job names its rows, targets, weights and seed,
 * and gets back its epochs as they end and then the weights, with its probabilities on the rows the job asks to
 * predict (their buffers transferred, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runJob, type ThreadData, type ThreadMessage, type ThreadReply } from './studentPool';

const data = workerData as ThreadData;
const port = parentPort!;

port.on('message', (message: ThreadMessage) => {
  if ('dropDense' in message) {
    data.dense = undefined; // the run keeps the words alone: the shared vectors can be freed
    return;
  }
  const job = message;
  const send = (reply: ThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);
  Promise.resolve()
    .then(() => runJob(data, job, { onEpoch: (epoch, loss, rowsPerSecond) => send({ type: 'epoch', id: job.id, epoch, loss, rowsPerSecond }) }))
    .then(
      ({ weights, probabilities }) =>
        send({ type: 'done', id: job.id, weights, ...(probabilities ? { probabilities } : {}) }, [
          weights.embedding.buffer as ArrayBuffer,
          weights.kernel.buffer as ArrayBuffer,
          weights.bias.buffer as ArrayBuffer,
          ...(probabilities ? [probabilities.buffer as ArrayBuffer] : []),
        ]),
      (error: unknown) => send({ type: 'error', id: job.id, message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
});
