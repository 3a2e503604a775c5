/**
 * The benchmark's chat-completions server, run in its own process so that the measured client does not share an
 * event loop with it. Answers every request after the delay in ms (first argument, default 50) and reports its base URL
 * to the parent over IPC, or prints it when run by hand:
 *
 *   node --import tsx test/bench/teacherServer.ts 5     # then: peerkd label data.jsonl --base-url <printed URL> ...
 */
import { labelReply, startFakeOpenAi } from '../support/fakeOpenAiServer';

const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];
const delayMs = Number(process.argv[2] ?? '50');

void startFakeOpenAi(async (request) => {
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  return labelReply(LABELS[request.text.length % LABELS.length], 0.9);
}).then((server) => {
  if (process.send) {
    process.send({ baseUrl: server.baseUrl });
    process.on('disconnect', () => void server.close().then(() => process.exit(0)));
  } else {
    console.log(server.baseUrl);
  }
});
