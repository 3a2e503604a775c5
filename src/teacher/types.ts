/**
 * Contracts of the teacher labeller: what a run is configured with, what each row's answer is, and the run summary.
 * Plain TypeScript (no `vscode`): shared by the editor command, the CLI, the tests and the benchmark.
 */

/** Where the teacher lives and how hard to push it. Mirrors the `peerkd.teacher.*` settings. */
export interface TeacherEndpoint {
  /** OpenAI-compatible base URL, e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`. */
  baseUrl: string;
  /** Model (Azure: deployment) name. */
  model: string;
  /** Never persisted by PeerKD; redacted from every message that leaves the teacher module. */
  apiKey?: string;
  temperature: number;
  maxConcurrency: number;
  requestTimeoutMs: number;
  maxRetries: number;
}

/** Retry pacing; tests and the benchmark shorten it. */
export interface BackoffOptions {
  /** First retry waits about this long (before jitter); doubles on each attempt. */
  initialDelayMs: number;
  /** No single wait (Retry-After included) exceeds this. */
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 60_000 };

export interface FewShotExample {
  text: string;
  label: string;
}

/** Why the teacher produced no label for a row. Counted in the summary; the row keeps no teacher label. */
export type AbstentionReason = 'empty' | 'malformed' | 'not-in-label-set' | 'refusal';

export const ABSTENTION_REASONS: readonly AbstentionReason[] = ['empty', 'malformed', 'not-in-label-set', 'refusal'];

/** The validated answer for one text: exactly one label of the set, or an abstention. */
export type TeacherAnswer =
  | { kind: 'label'; label: string; confidence: number | null }
  | { kind: 'abstain'; reason: AbstentionReason; detail: string };

/** How a request is phrased; the client steps down this ladder when an endpoint rejects a feature (HTTP 400/422). */
export type RequestMode = 'json-schema+logprobs' | 'plain+logprobs' | 'plain';

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface LabelRunSummary {
  /** Rows that needed a label (before the cache). */
  candidates: number;
  /** Rows skipped because they already carry a teacher or human label (relabel off). */
  skippedLabelled: number;
  /** Rows skipped because they have no usable text. */
  skippedNoText: number;
  /** Answers taken from the disk cache (no request made). */
  fromCache: number;
  /** Rows that received a label (from the cache or the endpoint). */
  labelled: number;
  abstained: Record<AbstentionReason, number>;
  /** Rows whose request failed after every retry (they keep no label and are retried on the next run). */
  failedRequests: number;
  /** Rows not attempted because the run was cancelled or stopped. */
  notAttempted: number;
  /** HTTP requests sent, retries included. */
  requests: number;
  retries: number;
  usage: TokenUsage;
  elapsedMs: number;
  cancelled: boolean;
  /** Set when the run stopped on an error that would fail every row (bad key, unknown model, ...). Key-redacted. */
  fatalError?: string;
  /** The first few failure messages (key-redacted), for the log. */
  failureSamples: string[];
}

export function emptySummary(): LabelRunSummary {
  return {
    candidates: 0,
    skippedLabelled: 0,
    skippedNoText: 0,
    fromCache: 0,
    labelled: 0,
    abstained: { empty: 0, malformed: 0, 'not-in-label-set': 0, refusal: 0 },
    failedRequests: 0,
    notAttempted: 0,
    requests: 0,
    retries: 0,
    usage: { promptTokens: 0, completionTokens: 0 },
    elapsedMs: 0,
    cancelled: false,
    failureSamples: [],
  };
}

export function totalAbstained(summary: LabelRunSummary): number {
  return ABSTENTION_REASONS.reduce((sum, reason) => sum + summary.abstained[reason], 0);
}
