/**
 * A labelling run: choose the rows that need a teacher label, answer what the cache already knows, ask the endpoint
 * for the rest through a bounded pool, and count everything for the summary. Answers are keyed by the row's text (the
 * teacher sees nothing else), so they map back to the right lines even after the file was edited during the run.
 */
import { setMaxListeners } from 'node:events';
import type { DatasetRow } from '../dataset/types';
import type { TeacherCache } from './cache';
import {
  TeacherCancelledError,
  TeacherClient,
  TeacherFatalError,
  TeacherRequestError,
  type TeacherClientOptions,
  type TeacherPrompt,
} from './client';
import { runPool } from './pool';
import { estimateTokens } from './tokens';
import { buildMessages } from './prompt';
import { describeError } from './redact';
import { emptySummary, type FewShotExample, type LabelRunSummary, type TeacherAnswer, type TeacherEndpoint } from './types';

export interface LabelPlan {
  /** Distinct texts to label, in file order. */
  texts: string[];
  /** How many candidate rows carry each text (usually one). */
  rowsPerText: Map<string, number>;
  /** Rows that need a label (several rows may share one text). */
  candidates: number;
  skippedLabelled: number;
  skippedNoText: number;
  /** Human-labelled rows, the pool the few-shot examples are drawn from. */
  humanExamples: FewShotExample[];
}

/** Whether a row should receive a teacher label: it has text, and (unless relabelling) no teacher or human label. */
export function needsTeacherLabel(row: DatasetRow, relabel: boolean): boolean {
  if (row.text === null || row.text.trim().length === 0) {
    return false;
  }
  return relabel || (row.teacher === null && row.human === null);
}

export function planLabelRun(rows: readonly DatasetRow[], relabel: boolean): LabelPlan {
  const rowsPerText = new Map<string, number>();
  const plan: LabelPlan = {
    texts: [],
    rowsPerText,
    candidates: 0,
    skippedLabelled: 0,
    skippedNoText: 0,
    humanExamples: [],
  };
  for (const row of rows) {
    if (row.human !== null && row.text !== null && row.text.trim().length > 0) {
      plan.humanExamples.push({ text: row.text, label: row.human });
    }
    if (row.text === null || row.text.trim().length === 0) {
      plan.skippedNoText += 1;
    } else if (!needsTeacherLabel(row, relabel)) {
      plan.skippedLabelled += 1;
    } else {
      plan.candidates += 1;
      rowsPerText.set(row.text, (rowsPerText.get(row.text) ?? 0) + 1);
    }
  }
  plan.texts = [...rowsPerText.keys()];
  return plan;
}

export interface LabelEstimate {
  rows: number;
  distinctTexts: number;
  cached: number;
  /** Requests the run will send, retries not included. */
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

export { estimateTokens };

export function estimateRun(plan: LabelPlan, prompt: TeacherPrompt, cache?: TeacherCache): LabelEstimate {
  const uncached = plan.texts.filter((text) => !cache?.get(text));
  const frame = buildMessages(prompt.template, prompt.labels, prompt.fewShot, '', 'json-schema+logprobs');
  const frameTokens = frame.reduce((sum, message) => sum + estimateTokens(message.content) + 4, 0);
  const longestLabel = Math.max(...prompt.labels.map((label) => label.length));
  return {
    rows: plan.candidates,
    distinctTexts: plan.texts.length,
    cached: plan.texts.length - uncached.length,
    requests: uncached.length,
    promptTokens: uncached.reduce((sum, text) => sum + frameTokens + estimateTokens(text), 0),
    completionTokens: uncached.length * (estimateTokens(longestLabel > 0 ? '{"label": ""}' : '') + Math.ceil(longestLabel / 3) + 2),
  };
}

export interface LabelProgress {
  /** Distinct texts answered or failed so far (cache hits included). */
  done: number;
  total: number;
  labelled: number;
  abstained: number;
  failed: number;
  fromCache: number;
  /** Texts per second answered by the endpoint (cache hits excluded). */
  rowsPerSecond: number;
}

export interface LabelRunOptions {
  endpoint: TeacherEndpoint;
  prompt: TeacherPrompt;
  cache?: TeacherCache;
  signal?: AbortSignal;
  client?: TeacherClientOptions;
  onProgress?: (progress: LabelProgress) => void;
  /** Called once per failed request with a key-redacted message. */
  onFailure?: (text: string, message: string) => void;
}

export interface LabelRunResult {
  /** Answer per text, for texts that got one (a label or an abstention). */
  answers: Map<string, TeacherAnswer>;
  summary: LabelRunSummary;
}

const FAILURE_SAMPLES = 5;

/**
 * Texts in a row that may fail on transient errors (429, 5xx, timeouts, lost connections, each after every retry)
 * before the run stops as if on a fatal error: a server that is down or overloaded for good would otherwise be asked
 * (maxRetries + 1) times for every row, hours of backoff on a large dataset. At least twice the concurrency, because
 * the requests in flight when the server goes down all fail together. An answer in between starts the count again.
 */
export function consecutiveFailuresToStop(maxConcurrency: number): number {
  return Math.max(10, 2 * maxConcurrency);
}

/** A run's summary before any request: what the plan already knows (candidates and the rows it skipped). */
export function startSummary(plan: LabelPlan): LabelRunSummary {
  return { ...emptySummary(), candidates: plan.candidates, skippedLabelled: plan.skippedLabelled, skippedNoText: plan.skippedNoText };
}

export async function runLabelling(plan: LabelPlan, options: LabelRunOptions): Promise<LabelRunResult> {
  const started = Date.now();
  const summary = startSummary(plan);
  const answers = new Map<string, TeacherAnswer>();
  const stop = new AbortController();
  // Every in-flight request and backoff wait listens on this one signal.
  setMaxListeners(0, stop.signal);
  const onOuterAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (options.signal?.aborted) {
    stop.abort();
  }

  let failed = 0;
  let failedRows = 0;
  let failedInARow = 0;
  const failuresToStop = consecutiveFailuresToStop(options.endpoint.maxConcurrency);
  let cacheWriteFailed = false;
  let answeredLive = 0;
  let labelledTexts = 0;
  const remember = (text: string, answer: TeacherAnswer) => {
    answers.set(text, answer);
    if (answer.kind === 'label') {
      labelledTexts += 1;
    }
  };
  const report = () => {
    if (!options.onProgress) {
      return;
    }
    const seconds = (Date.now() - started) / 1000;
    options.onProgress({
      done: answers.size + failed,
      total: plan.texts.length,
      labelled: labelledTexts,
      abstained: answers.size - labelledTexts,
      failed,
      fromCache: summary.fromCache,
      rowsPerSecond: seconds > 0 ? answeredLive / seconds : 0,
    });
  };

  const pending: string[] = [];
  for (const text of plan.texts) {
    const cached = options.cache?.get(text);
    if (cached) {
      remember(text, cached);
      summary.fromCache += 1;
    } else {
      pending.push(text);
    }
  }
  report();

  const client = pending.length > 0 ? new TeacherClient(options.endpoint, options.prompt, options.client) : undefined;
  if (client) {
    const ask = async (text: string) => {
      try {
        const answer = await client.classify(text, stop.signal);
        failedInARow = 0;
        remember(text, answer);
        answeredLive += 1;
        try {
          options.cache?.put(text, answer);
        } catch (error) {
          // The answer still reaches the dataset; only the resume guarantee is lost, so say so once.
          if (!cacheWriteFailed) {
            cacheWriteFailed = true;
            summary.failureSamples.push(`could not write the answer cache: ${describeError(error, options.endpoint.apiKey)}`);
          }
        }
      } catch (error) {
        if (error instanceof TeacherCancelledError) {
          return;
        }
        const message = describeError(error, options.endpoint.apiKey);
        if (error instanceof TeacherFatalError) {
          if (!summary.fatalError) {
            summary.fatalError = message;
          }
          stop.abort();
          return;
        }
        failed += 1;
        failedRows += plan.rowsPerText.get(text) ?? 1;
        // Each failure said once: a server that is down failed every request alike, and the summary printed the same
        // line five times where another failure could have been shown.
        if (summary.failureSamples.length < FAILURE_SAMPLES && !summary.failureSamples.includes(message)) {
          summary.failureSamples.push(message);
        }
        options.onFailure?.(text, message);
        failedInARow = error instanceof TeacherRequestError && error.transient ? failedInARow + 1 : 0;
        if (failedInARow >= failuresToStop && !summary.fatalError) {
          summary.fatalError = `the last ${failedInARow} texts each failed after every retry; the endpoint seems down or overloaded (last error: ${message})`;
          stop.abort();
        }
      }
      report();
    };
    // One request is in flight until the endpoint has answered one in a way that does not stop the run: a wrong key,
    // model or URL is then one refused request, not one per slot of the pool (up to 256, each sent with the wrong key
    // before the first refusal came back), and an endpoint without structured output or logprobs is found out once
    // rather than by every slot. Any answer opens the pool, an error or a timeout too: a first text that hangs or
    // fails holds the others back one request, not through all its retries.
    await runPool(pending, options.endpoint.maxConcurrency, ask, stop.signal, client.firstUsableResponse);
    summary.requests = client.stats.requests;
    summary.retries = client.stats.retries;
    summary.usage = { ...client.stats.usage };
  }
  options.signal?.removeEventListener('abort', onOuterAbort);

  summary.cancelled = options.signal?.aborted ?? false;
  summary.failedRequests = failed;
  countRows(summary, plan, answers, failedRows);
  summary.elapsedMs = Date.now() - started;
  return { answers, summary };
}

/** Labelled, abstained and not-attempted count rows: rows that share a text share its answer. */
function countRows(
  summary: LabelRunSummary,
  plan: LabelPlan,
  answers: Map<string, TeacherAnswer>,
  failedRows: number,
): void {
  let answeredRows = 0;
  for (const [text, answer] of answers) {
    const rows = plan.rowsPerText.get(text) ?? 1;
    answeredRows += rows;
    if (answer.kind === 'label') {
      summary.labelled += rows;
    } else {
      summary.abstained[answer.reason] += rows;
    }
  }
  summary.notAttempted = Math.max(0, plan.candidates - answeredRows - failedRows);
}
