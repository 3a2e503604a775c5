/**
 * What the editor command and the CLI share around a run: the teacher settings, the prompt built from the dataset
 * (label set, stratified few-shot examples), the cache location, and the wording of estimates and summaries.
 */
import * as path from 'node:path';
import { printable } from '../dataset/jsonScan';
import { inferLabelSet } from '../dataset/parse';
import type { DatasetRow } from '../dataset/types';
import { CACHE_DIR_NAME } from './cache';
import type { TeacherPrompt } from './client';
import { DEFAULT_PROMPT_TEMPLATE, selectFewShot } from './prompt';
import type { TeacherSettings } from './settings';
import type { LabelEstimate, LabelPlan, LabelProgress } from './run';
import { planLabelRun } from './run';
import { ABSTENTION_REASONS, totalAbstained, type LabelRunSummary } from './types';

export interface PreparedJob {
  plan: LabelPlan;
  prompt: TeacherPrompt;
  /** Where the label set came from, for the confirmation and the log. */
  labelSource: 'configured' | 'inferred';
}

/** Builds the plan and the prompt for a dataset. Throws a clear error when there is no label set to choose from. */
export function prepareJob(
  rows: readonly DatasetRow[],
  configuredLabels: readonly string[],
  settings: Pick<TeacherSettings, 'promptTemplate' | 'fewShotExamples' | 'relabel'>,
): PreparedJob {
  const labels = configuredLabels.length > 0 ? [...configuredLabels] : inferLabelSet(rows);
  if (labels.length < 2) {
    throw new Error(
      labels.length === 0
        ? 'No label set: configure peerkd.labels (CLI: --labels A,B,C) or give a few rows a human label first.'
        : `Only one label (${printable(labels[0])}) is known: configure peerkd.labels (CLI: --labels A,B,C) with the full label set.`,
    );
  }
  const plan = planLabelRun(rows, settings.relabel);
  const template = settings.promptTemplate.trim().length > 0 ? settings.promptTemplate : DEFAULT_PROMPT_TEMPLATE;
  const fewShot = selectFewShot(plan.humanExamples, labels, Math.max(0, Math.floor(settings.fewShotExamples)));
  return { plan, prompt: { labels, template, fewShot }, labelSource: configuredLabels.length > 0 ? 'configured' : 'inferred' };
}

/** The cache lives next to the data (or in the workspace folder), never in the extension's install directory. */
export function defaultCacheDir(root: string): string {
  return path.join(root, CACHE_DIR_NAME);
}

export function formatEstimate(estimate: LabelEstimate, model: string): string {
  const cached = estimate.cached > 0 ? ` (${estimate.cached} already answered in the cache)` : '';
  return (
    `${estimate.rows} rows need a teacher label: ${estimate.distinctTexts} distinct texts${cached}. ` +
    `About ${estimate.requests} requests to ${model}, ~${formatCount(estimate.promptTokens)} prompt tokens ` +
    `and ~${formatCount(estimate.completionTokens)} completion tokens.`
  );
}

export function formatProgress(progress: LabelProgress): string {
  return (
    `${progress.done}/${progress.total} texts: ${progress.labelled} labelled, ${progress.abstained} abstained, ` +
    `${progress.failed} failed, ${progress.rowsPerSecond.toFixed(1)} rows/s`
  );
}

/** The end-of-run summary, one fact per line (the editor shows the first line and logs them all). */
export function formatSummary(summary: LabelRunSummary): string[] {
  const abstained = totalAbstained(summary);
  const reasons = ABSTENTION_REASONS.filter((reason) => summary.abstained[reason] > 0)
    .map((reason) => `${reason} ${summary.abstained[reason]}`)
    .join(', ');
  const headline = summary.cancelled ? 'Cancelled' : summary.fatalError ? 'Stopped' : summary.failedRequests > 0 ? 'Incomplete' : 'Done';
  const lines = [
    `${headline}: ${summary.labelled} labelled, ` +
      `${abstained} abstained, ${summary.failedRequests} failed requests` +
      (summary.notAttempted > 0 ? `, ${summary.notAttempted} rows not attempted` : '') +
      ` in ${(summary.elapsedMs / 1000).toFixed(1)} s.`,
  ];
  if (abstained > 0) lines.push(`Abstained by reason: ${reasons}.`);
  lines.push(
    `Requests: ${summary.requests} sent (${summary.retries} retries), ${summary.fromCache} answers from the cache; ` +
      `tokens: ${summary.usage.promptTokens} prompt + ${summary.usage.completionTokens} completion.`,
  );
  if (summary.skippedLabelled > 0 || summary.skippedNoText > 0) {
    lines.push(
      `Skipped: ${summary.skippedLabelled} rows already labelled (relabel is off), ${summary.skippedNoText} rows without text.`,
    );
  }
  if (summary.fatalError) lines.push(`Stopped on: ${summary.fatalError}`);
  for (const sample of summary.failureSamples) lines.push(`Failure: ${sample}`);
  if (summary.failedRequests > 0 || summary.notAttempted > 0) lines.push(RESUME_HINT);
  return lines;
}

/** How to finish a run that left rows without an answer; the same words in the CLI and the editor. */
export const RESUME_HINT = 'Run again to retry: answers already received are cached and will not be requested twice.';

/**
 * How a run ended, for the exit code and the kind of message: 'failed' when it stopped on an error that every request
 * would meet, 'incomplete' when requests failed (a rerun asks only for those), 'cancelled', else 'done'.
 */
export type RunOutcome = 'failed' | 'incomplete' | 'cancelled' | 'done';

export function runOutcome(summary: LabelRunSummary): RunOutcome {
  if (summary.fatalError) return 'failed';
  if (summary.cancelled) return 'cancelled';
  return summary.failedRequests > 0 ? 'incomplete' : 'done';
}

function formatCount(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(0)}k` : String(value);
}
