/**
 * The Batch API path for very large jobs: upload one JSONL of chat-completion requests, poll the batch, download the
 * output and merge it with the same validation and the same cache as live requests. The batch id is remembered next
 * to the cache, so a run that is cancelled or crashes while the batch is processing picks the same batch up again
 * instead of paying for a second one.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { APIError, toFile } from 'openai';
import { sleep } from './backoff';
import { hashableText } from './cache';
import { MAX_ERROR_CHARS, TeacherClient } from './client';
import { clip } from './prompt';
import { describeError } from './redact';
import { startSummary, type LabelPlan, type LabelRunOptions, type LabelRunResult } from './run';
import type { TeacherAnswer } from './types';

export interface BatchRunOptions extends LabelRunOptions {
  /** How often to ask for the batch status (default 30 s). */
  pollIntervalMs?: number;
  /** Status lines for the log ("uploaded", "batch b is in_progress (3/10)", ...). */
  onStatus?: (line: string) => void;
}

interface PendingBatch {
  batchId: string;
  /** custom_id values of the requests in that batch. */
  customIds: string[];
}

const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

export function customIdOf(text: string): string {
  return `peerkd-${createHash('sha256').update(hashableText(text)).digest('hex').slice(0, 40)}`;
}

export async function runBatchLabelling(plan: LabelPlan, options: BatchRunOptions): Promise<LabelRunResult> {
  const started = Date.now();
  const summary = startSummary(plan);
  const answers = new Map<string, TeacherAnswer>();
  const status = options.onStatus ?? (() => undefined);
  const pending: string[] = [];
  for (const text of plan.texts) {
    const cached = options.cache?.get(text);
    if (cached) {
      answers.set(text, cached);
      summary.fromCache += 1;
    } else {
      pending.push(text);
    }
  }
  const finish = (failedTexts: readonly string[]): LabelRunResult => {
    summary.failedRequests = failedTexts.length;
    // Rows whose request failed are neither answered nor "not attempted".
    let accountedRows = failedTexts.reduce((sum, text) => sum + (plan.rowsPerText.get(text) ?? 1), 0);
    for (const [text, answer] of answers) {
      const rows = plan.rowsPerText.get(text) ?? 1;
      accountedRows += rows;
      if (answer.kind === 'label') summary.labelled += rows;
      else summary.abstained[answer.reason] += rows;
    }
    summary.notAttempted = Math.max(0, plan.candidates - accountedRows);
    summary.cancelled = options.signal?.aborted ?? false;
    summary.elapsedMs = Date.now() - started;
    return { answers, summary };
  };
  if (pending.length === 0) return finish([]);

  const client = new TeacherClient(options.endpoint, options.prompt, { ...options.client, initialMode: 'json-schema+logprobs' });
  const sdk = client.sdk;
  const requestOptions = { maxRetries: options.endpoint.maxRetries, timeout: options.endpoint.requestTimeoutMs };
  // Cancelling stops every request but the one that creates the batch (whose id, once it exists, must reach the state
  // file, or the next run would pay for a second batch): without the signal a status poll or a download that hung went
  // on through every timeout and retry (minutes) after Ctrl-C or the notification's Cancel.
  const cancellable = { ...requestOptions, signal: options.signal };
  const stateFile = options.cache ? `${options.cache.file}.batch.json` : undefined;
  const textById = new Map(pending.map((text) => [customIdOf(text), text]));
  try {
    let batch = readPendingBatch(stateFile);
    if (batch && !batch.customIds.some((id) => textById.has(id))) batch = undefined;
    if (batch) {
      status(`Resuming batch ${batch.batchId} (${batch.customIds.length} requests).`);
    } else {
      const lines = pending.map((text) =>
        JSON.stringify({ custom_id: customIdOf(text), method: 'POST', url: '/v1/chat/completions', body: client.requestBody(text) }),
      );
      const file = await sdk.files.create(
        { file: await toFile(Buffer.from(`${lines.join('\n')}\n`, 'utf8'), 'peerkd-teacher-batch.jsonl'), purpose: 'batch' },
        cancellable,
      );
      summary.requests += 1;
      const created = await sdk.batches.create(
        { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' },
        requestOptions,
      );
      summary.requests += 1;
      if (client.redact(created.id) !== created.id) {
        // The id is written to disk and into the log: one that carries the key is not kept anywhere.
        throw new Error('the server returned a batch id that contains the API key');
      }
      batch = { batchId: created.id, customIds: [...textById.keys()] };
      if (stateFile) {
        fs.mkdirSync(path.dirname(stateFile), { recursive: true });
        fs.writeFileSync(stateFile, JSON.stringify(batch));
      }
      status(`Uploaded ${lines.length} requests as batch ${created.id}.`);
    }

    let current = await sdk.batches.retrieve(batch.batchId, cancellable);
    summary.requests += 1;
    while (!TERMINAL.has(current.status)) {
      const counts = current.request_counts;
      status(`Batch ${current.id} is ${current.status}${counts ? ` (${counts.completed + counts.failed}/${counts.total})` : ''}.`);
      options.onProgress?.({
        done: summary.fromCache + (counts ? counts.completed + counts.failed : 0),
        total: plan.texts.length,
        labelled: 0,
        abstained: 0,
        failed: counts?.failed ?? 0,
        fromCache: summary.fromCache,
        rowsPerSecond: 0,
      });
      try {
        await sleep(options.pollIntervalMs ?? 30_000, options.signal);
      } catch {
        // Cancelling stops waiting, not the batch: it is already paid for, and the next run collects it.
        status(`Stopped waiting; batch ${current.id} keeps running and the next run collects its results.`);
        return finish([]);
      }
      current = await sdk.batches.retrieve(batch.batchId, cancellable);
      summary.requests += 1;
    }
    status(`Batch ${current.id} ${current.status}.`);

    const failed: string[] = [];
    const seen = new Set<string>();
    for (const fileId of [current.output_file_id, current.error_file_id]) {
      if (!fileId) continue;
      const content = await (await sdk.files.content(fileId, cancellable)).text();
      summary.requests += 1;
      for (const line of content.split('\n')) {
        if (line.trim().length === 0) continue;
        let item: { custom_id?: string; response?: { status_code?: number; body?: unknown } | null; error?: unknown };
        try {
          item = JSON.parse(line) as typeof item;
        } catch {
          continue;
        }
        const text = item.custom_id ? textById.get(item.custom_id) : undefined;
        if (text === undefined || seen.has(item.custom_id!)) continue;
        seen.add(item.custom_id!);
        let problem: string | undefined;
        if (item.response?.status_code === 200 && item.response.body) {
          client.recordUsage(item.response.body);
          try {
            const answer = client.answerFrom(item.response.body);
            answers.set(text, answer);
            options.cache?.put(text, answer);
          } catch (error) {
            // Not a chat completion: a failed request (asked again next run), not an abstention to cache.
            problem = clip(describeError(error, options.endpoint.apiKey), MAX_ERROR_CHARS);
          }
        } else {
          // Redacted before it is cut, so that the cut cannot split the key and leave half of it readable.
          problem = client.redact(JSON.stringify(item.error ?? item.response?.body ?? null) ?? 'null').slice(0, 200);
        }
        if (problem !== undefined) {
          failed.push(text);
          if (summary.failureSamples.length < 5) summary.failureSamples.push(`batch request failed: ${problem}`);
        }
      }
    }
    // Requests the batch never answered (expired, cancelled) count as failed: the next run asks for them again.
    for (const id of batch.customIds) {
      const text = textById.get(id);
      if (text !== undefined && !seen.has(id)) failed.push(text);
    }
    if (stateFile) fs.rmSync(stateFile, { force: true });
    summary.usage = { ...client.stats.usage };
    if (current.status !== 'completed' && !summary.fatalError) {
      summary.failureSamples.push(`batch ${current.id} ended as ${current.status}`);
    }
    return finish(failed);
  } catch (error) {
    if (options.signal?.aborted) {
      status('Stopped; a batch already created keeps running and the next run collects its results.');
      return finish([]);
    }
    const message = clip(describeError(error, options.endpoint.apiKey), MAX_ERROR_CHARS);
    summary.fatalError =
      error instanceof APIError && error.status === 404
        ? `${message} (this endpoint may not offer the Batch API: turn off peerkd.teacher.useBatchApi / drop --batch)`
        : message;
    return finish([]);
  }
}

function readPendingBatch(stateFile: string | undefined): PendingBatch | undefined {
  if (!stateFile) return undefined;
  try {
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as PendingBatch;
    return typeof state.batchId === 'string' && Array.isArray(state.customIds) ? state : undefined;
  } catch {
    return undefined;
  }
}
