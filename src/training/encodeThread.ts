/**
 * Entry of an encoding thread (bundled as `dist/encodeThread.js`; earlyEncoding.ts starts it while the run featurizes
 * the words): reopens a local encoder (encoders/local.ts), says which it opened, then encodes the texts block after
 * block and sends each block's vectors back (their buffer transferred). A failure is sent as an error; the run then
 * encodes what it did not get.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { EncodeThreadData, EncodeThreadReply } from './earlyEncoding';
import { LOCAL_ENCODERS } from './encoders/local';

const data = workerData as EncodeThreadData;
const port = parentPort!;
const send = (reply: EncodeThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

(async () => {
  const encoder = await LOCAL_ENCODERS[data.name].open(data.argument, data.environment);
  send({ type: 'opened', name: encoder.name, version: encoder.version, dims: encoder.dims });
  for (let from = 0; from < data.texts.length; from += data.blockRows) {
    const values = await encoder.encode(data.texts.slice(from, from + data.blockRows));
    send({ type: 'block', from, values }, [values.buffer as ArrayBuffer]);
  }
})().catch((error: unknown) => send({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
