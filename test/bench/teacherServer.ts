/**
 * The benchmark's chat-completions server, run in its own process so that the measured client does not share an
 * event loop with it. Answers every request after --delay-ms and reports its base URL to the parent over IPC.
 */
import { labelReply, startFakeOpenAi } from '../support/fakeOpenAiServer';

const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];
const delayMs = Number(process.argv[2] ?? '50');

void startFakeOpenAi(async (request) => {
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  return labelReply(LABELS[request.text.length % LABELS.length], 0.9);
}).then((server) => {
  process.send?.({ baseUrl: server.baseUrl });
  process.on('disconnect', () => void server.close().then(() => process.exit(0)));
});
