/**
 * Entry of a use-lite encoding thread (bundled as `dist/useLiteThread.js`; useLite.ts starts it): its own TF.js
 * backend and model, read from the parent's model folder (refused if the files are not the parent's version), warmed
 * up once, then one model call per request, the vectors sent back with their buffer transferred.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../backend';
import { embedCall, loadUseLiteModel, readUseLiteFolder, type UseLiteThreadData, type UseLiteThreadReply, type UseLiteThreadRequest } from './useLite';

const data = workerData as UseLiteThreadData;
const port = parentPort!;
const send = (reply: UseLiteThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

const loading = (async () => {
  const files = readUseLiteFolder(data.folder);
  if (files.version !== data.version) throw new Error(`${data.folder}: the model files changed (${files.version}, the encoder has ${data.version})`);
  const { tf } = await selectBackend(data.backend);
  const model = await loadUseLiteModel(tf, files);
  // The first call compiles the graph: done here, before the thread says it is ready.
  await embedCall(tf, model, [[files.vocabulary.length - 1]]);
  return { tf, model };
})();
loading.then(
  () => send({ type: 'ready' }),
  (error: unknown) => send({ type: 'error', message: message(error) }),
);

port.on('message', (request: UseLiteThreadRequest) => {
  loading
    .then(({ tf, model }) => embedCall(tf, model, request.rows))
    .then(
      (values) => send({ type: 'done', id: request.id, values }, [values.buffer as ArrayBuffer]),
      (error: unknown) => send({ type: 'error', id: request.id, message: message(error) }),
    );
});
