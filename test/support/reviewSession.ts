/**
 * Label Review on a dataset file without vscode: the review session (src/review/session.ts) over the file's text, with
 * the review log wired as the extension wires it (src/editor/labelEdits.ts: the dataset's log beside its runs). The
 * decisions are written back to the file when `review` returns.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { appendReviewLog, reviewLogFile } from '../../src/review/reviewLog';
import { ReviewSession } from '../../src/review/session';
import type { RunArtefacts } from '../../src/training/artifacts';
import { FakeReviewDocument } from './fakeReviewDocument';

export async function reviewInSession(dataset: string, run: RunArtefacts, review: (session: ReviewSession) => Promise<void>): Promise<void> {
  const document = new FakeReviewDocument(await readFile(dataset, 'utf8'));
  const logFile = reviewLogFile(dirname(run.runDir), dataset);
  const session = new ReviewSession({ predictions: run.predictions, labels: run.settings.labels, fields: run.settings.fields, runId: run.runId }, document, {
    humanField: () => run.settings.fields.human,
    reviewLog: (entries) => appendReviewLog(logFile, entries),
  });
  await review(session);
  await writeFile(dataset, document.lines.join('\n'));
}
