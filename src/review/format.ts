/** Texts the user reads about a run: progress lines and the end-of-run summary. Plain TypeScript. */
import { trustFromMetrics, type IntervalSummary, type RunSummary, type TrustSummary } from '../training/protocol';
import { DOUBTFUL_LIMIT } from '../training/doubtful';
import type { DistillProgress } from '../training/types';
import type { DoubtfulSummary, ReviewQueue } from './model';

/**
 * The time left as one duration, or as a range "low<joiner>high" where the run gave a lower end (remainingMsLow) that
 * reads differently from the higher one. Shared by the CLI (m:ss) and the editor (2 min 5 s) with their own format.
 */
export function timeLeft(ms: number, lowMs: number | undefined, format: (ms: number) => string, joiner: string): string {
  const high = format(ms);
  const low = lowMs === undefined ? high : format(lowMs);
  return low === high ? high : `${low}${joiner}${high}`;
}

const PHASE_NAMES: Record<DistillProgress['phase'], string> = {
  featurize: 'Featurizing',
  vanilla: 'Vanilla student',
  peer: 'Peer students',
  calibrate: 'Calibrating',
  final: 'Final student',
  write: 'Writing results',
};

/** "59 s", "2 min 5 s", "1 h 3 min" (an hour or more: to the minute, as seconds no longer help a reader). */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) {
    return `${seconds} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${seconds % 60} s`;
  }
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "Peer students · fold 1/2 · epoch 3/5 · 1,234 rows/s · about 20 s left" */
export function describeProgress(progress: DistillProgress): string {
  const parts = [PHASE_NAMES[progress.phase]];
  if (progress.encoder !== undefined && progress.encoded !== undefined && progress.toEncode !== undefined) {
    parts[0] = `Encoding rows with ${progress.encoder}`;
    parts.push(`${progress.encoded.toLocaleString('en-US')}/${progress.toEncode.toLocaleString('en-US')}`);
  }
  if (progress.stage !== undefined && progress.stages !== undefined && progress.stages > 1) {
    parts.push(`stage ${progress.stage}/${progress.stages}`);
  }
  if (progress.fold !== undefined && progress.folds !== undefined) {
    parts.push(`fold ${progress.fold}/${progress.folds}`);
  }
  if (progress.epoch !== undefined && progress.epochs !== undefined) {
    parts.push(`epoch ${progress.epoch}/${progress.epochs}`);
  }
  if (progress.rowsPerSecond !== undefined && progress.rowsPerSecond > 0) {
    parts.push(`${Math.round(progress.rowsPerSecond).toLocaleString('en-US')} rows/s`);
  }
  if (progress.remainingMs !== undefined) {
    // The run's time left, also while an encoder runs (its rows at its own rate, the rest at the featurizing rate).
    parts.push(`about ${timeLeft(progress.remainingMs, progress.remainingMsLow, formatDuration, ' to ')} left`);
  }
  return parts.join(' · ');
}

function percent(value: number | null): string | undefined {
  return value === null ? undefined : `${(value * 100).toFixed(1)}%`;
}

function plural(value: number, one: string, many = `${one}s`): string {
  return `${count(value)} ${value === 1 ? one : many}`;
}

/** A count as a whole number with thousands separators (16,634), however it was estimated. */
function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function wholePercent(value: number): string {
  return `${Math.round(value * 100)}%`;
}

/**
 * A teacher-accuracy interval wider than this is not summed up by its point estimate: with 50 random human labels it
 * is about 0.15 wide at an 80 % teacher (docs/BENCHMARKS.md), with one or two it spans nearly everything.
 */
const UNPINNED_INTERVAL_WIDTH = 0.4;
/** The same for the wrong labels among the flagged rows: an interval wider than this share of them. */
const UNPINNED_FLAGGED_SHARE = 0.8;

/**
 * Whether a figure's 90 % interval is too wide for its point estimate to be stated (the teacher's accuracy, or the wrong
 * labels among `flagged` rows): every place that shows the figure (trustSentence, the CLI's summary table) says the
 * range instead. False where there is no interval (no human labels): that case is said apart.
 */
export function unpinned(figure: IntervalSummary, flagged?: number): boolean {
  if (figure.low === null || figure.high === null) return false;
  return figure.high - figure.low > (flagged === undefined ? UNPINNED_INTERVAL_WIDTH : UNPINNED_FLAGGED_SHARE * flagged);
}

/**
 * What the run says about the teacher, with its 90 % intervals, in one line a data scientist reads at a glance:
 * "Teacher ≈ 93% right (90% interval 91–95%). 189 flagged, about 36 of them wrong (90% interval 20–52)."
 * One wording for the run summary, the CLI, the hover and the Label Review header.
 */
export function trustSentence(trust: TrustSummary, flagged: number): string {
  const parts: string[] = [];
  const teacher = trust.teacherAccuracy;
  if (teacher) {
    if (teacher.low === null || teacher.high === null) {
      // Without human labels the figure is the peers' agreement with the teacher: a mistake the peers learn too (a
      // rule-like teacher's, 91.7 % right, read as 100 %) is invisible to it, so it is said as unchecked.
      parts.push(`Teacher ≈ ${wholePercent(teacher.estimate)} right as the peers read it, unchecked: no human labels (mistakes the peers learn too go unseen).`);
    } else {
      const interval = `90% interval ${wholePercent(teacher.low).replace('%', '')}–${wholePercent(teacher.high)}`;
      // A handful of human labels bound nothing: "≈ 100% right (90% interval 0–100%)" would state a figure the
      // interval does not support, so the sentence says what to do instead.
      parts.push(
        unpinned(teacher)
          ? `Teacher accuracy not pinned down yet (${interval}): give more rows, picked at random, a human label.`
          : `Teacher ≈ ${wholePercent(teacher.estimate)} right (${interval}).`,
      );
    }
  }
  const wrong = trust.flaggedWrong;
  if (flagged > 0 && wrong) {
    const { low, high } = wrong;
    const bounded = low !== null && high !== null;
    // An interval spanning most of the flagged rows ("about 17 of 26 (0–26)") does not support one figure: the range
    // is said instead, as for the teacher's accuracy above.
    parts.push(
      bounded && unpinned(wrong, flagged)
        ? `${plural(flagged, 'row')} flagged, ${count(low)}–${count(high)} of them wrong (90% interval; too few human labels for one figure).`
        : `${plural(flagged, 'row')} flagged, about ${count(wrong.estimate)} of them wrong${bounded ? ` (90% interval ${count(low)}–${count(high)})` : ''}.`,
    );
  } else {
    parts.push(`${plural(flagged, 'row')} flagged.`);
  }
  return parts.join(' ');
}

/**
 * The trust sentence of a run read back from disk (the hover's and the Label Review header's, editor/runState.ts):
 * from its metrics.json in whatever shape an older run wrote it (a figure missing, null or malformed is left out,
 * trustFromMetrics), and its flagged rows.
 */
export function runTrustSentence(run: { metrics: unknown; predictions: readonly { flagged: boolean }[] }): string {
  return trustSentence(trustFromMetrics(run.metrics), run.predictions.filter((prediction) => prediction.flagged).length);
}

/** Below this many human labels a student–teacher difference is not worth acting on, whatever its size. */
export const MIN_HUMAN_LABELS_TO_COMPARE = 20;

/**
 * The final student's accuracy on the human labels beside the teacher's on the same human rows (those it labelled),
 * and what to do about it. A difference counts only when it exceeds the 90 % noise of two accuracies measured on n
 * rows (1.645·√((s(1−s) + t(1−t))/n), an unpaired bound, so a conservative one for these paired figures).
 */
export function studentVersusTeacher(
  summary: Pick<RunSummary, 'finalStudentHumanAccuracy' | 'teacherAgreementWithHumans' | 'counts' | 'finalStudentHumanRows'> & Partial<Pick<RunSummary, 'flagged' | 'doubtful'>>,
): string | undefined {
  const student = summary.finalStudentHumanAccuracy;
  const shown = percent(student);
  if (student === null || shown === undefined) return undefined;
  // The labels the student was read on: the random sample's (labels set in review are left out), where the run says.
  const humans = summary.finalStudentHumanRows ?? summary.counts.humanLabelled;
  const figure = `Final student ${shown} right on the ${plural(humans, 'human label')}`;
  const teacher = summary.teacherAgreementWithHumans;
  if (teacher === null || !Number.isFinite(teacher)) {
    return `${figure} (no teacher labels on those rows to compare with).`;
  }
  const pair = `${figure}, the teacher ${percent(teacher)} on those rows.`;
  const margin = 1.645 * Math.sqrt((student * (1 - student) + teacher * (1 - teacher)) / Math.max(humans, 1));
  // What there is to review: the flagged rows; where the run flagged none, its doubtful queue (a strong teacher on two
  // labels), or nothing. A run whose summary predates the doubtful figures is told as before.
  const doubtfulOnly = summary.flagged === 0 && summary.doubtful !== undefined;
  const rows = !doubtfulOnly ? 'the flagged rows' : summary.doubtful!.rows > 0 ? 'the doubtful rows' : undefined;
  const queue = !doubtfulOnly ? 'the flagged rows' : summary.doubtful!.rows > 0 ? 'the doubtful queue' : undefined;
  if (humans < MIN_HUMAN_LABELS_TO_COMPARE || Math.abs(student - teacher) <= margin) {
    return `${pair} Too close to call on ${plural(humans, 'label')}: ${queue ? `review ${queue} in Label Review; ` : ''}each label you set sharpens the comparison.`;
  }
  if (student > teacher) {
    return `${pair} The student beats the teacher here: its suggestions are worth taking${queue ? `; review ${queue} in Label Review, most likely wrong first` : ''}.`;
  }
  return `${pair} The teacher beats the student here: keep the teacher's labels by default${rows ? ` and use Label Review only to fix ${rows} it gets wrong` : ''}.`;
}

/**
 * What the engine did by itself, in words (undefined for a run that predates the figures, or one without teacher
 * labels): the labels it adopted and how the final student learned them, or why it adopted none.
 */
export function adoptedSentence(summary: Pick<RunSummary, 'adopted' | 'counts'>): string | undefined {
  const adopted = summary.adopted;
  if (!adopted || summary.counts.teacherLabelled === 0) return undefined;
  if (adopted.labels === 0) {
    return 'The engine changed no teacher label by itself: the human labels do not show that its advice would gain (the final student is the plain-KD student).';
  }
  const weighting = adopted.weighting > 0 ? ', each row weighted by how sure the advice is of its label' : '';
  return `The engine replaced ${plural(adopted.labels, 'teacher label')} by its advice (the do-no-harm test passed); the final student learned them${weighting}.`;
}

/** The same in a few words, for `peerkd distill`'s summary table (undefined where adoptedSentence says nothing). */
export function adoptedFigure(summary: Pick<RunSummary, 'adopted' | 'counts'>): string | undefined {
  const adopted = summary.adopted;
  if (!adopted || summary.counts.teacherLabelled === 0) return undefined;
  if (adopted.labels === 0) return '0 (final student = plain KD)';
  return `${adopted.labels}${adopted.weighting > 0 ? ' (final student: rows weighted by how sure the advice is)' : ''}`;
}

export function summaryMessage(datasetName: string, summary: RunSummary): string {
  const parts = [`PeerKD: ${datasetName} done.`];
  if (summary.trust) {
    parts.push(trustSentence(summary.trust, summary.flagged));
  } else {
    const teacher = percent(summary.estimatedTeacherAccuracy);
    if (teacher) {
      parts.push(`Estimated teacher accuracy ${teacher}.`);
    }
    parts.push(`${plural(summary.flagged, 'row')} flagged.`);
  }
  // A run that flags nothing while its doubtful queue holds rows (a strong teacher on two labels): where to look.
  const offer = summary.doubtful ? flaggedEmptyOffer(summary.flagged, summary.doubtful) : null;
  if (offer) {
    parts.push(offer);
  }
  const comparison = studentVersusTeacher(summary);
  if (comparison) {
    parts.push(comparison);
  }
  const adopted = adoptedSentence(summary);
  if (adopted) {
    parts.push(adopted);
  }
  const skipped: string[] = [];
  if (summary.counts.invalidLines > 0) {
    skipped.push(plural(summary.counts.invalidLines, 'invalid line'));
  }
  if (summary.counts.skippedNoText > 0) {
    skipped.push(`${plural(summary.counts.skippedNoText, 'row')} without text`);
  }
  if (skipped.length > 0) {
    parts.push(`Skipped ${skipped.join(' and ')} (see Problems).`);
  }
  return parts.join(' ');
}

/**
 * What each Label Review queue is, one line for the panel's header (the queue shown) and the empty state of a queue:
 * "Doubtful: not flagged — the run thinks each is more likely right than wrong, but these 64 rows hold about 30 of the
 * 64 errors it expects among the rows it did not flag." `flagged`: the flagged queue's size.
 */
export function queueDescriptions(flagged: number, doubtful: DoubtfulSummary): Record<ReviewQueue, string> {
  const doubt =
    doubtful.maxP < 0.5
      ? 'the run thinks each teacher label more likely right than wrong'
      : "the run prefers the teacher's label to any single other label, or doubts it too little to flag";
  const capped = doubtful.rows === DOUBTFUL_LIMIT && doubtful.expectedErrors >= DOUBTFUL_LIMIT + 0.5 ? ` (at most ${count(DOUBTFUL_LIMIT)} are listed)` : '';
  return {
    flagged:
      flagged === 0
        ? 'Flagged: none — the run doubts no teacher label enough to suggest another.'
        : `Flagged: ${plural(flagged, 'row')} whose teacher label the run doubts enough to suggest another, most likely wrong first.`,
    doubtful:
      doubtful.rows === 0
        ? `Doubtful: none — the run expects ${doubtful.expectedErrors > 0 ? 'less than one teacher error' : 'no teacher error'} among the rows it did not flag.`
        : `Doubtful: not flagged — ${doubt}, but these ${plural(doubtful.rows, 'row')} hold about ${count(doubtful.expectedInQueue)} of the ${count(doubtful.expectedErrors)} errors it expects among the rows it did not flag${capped}. Each suggests the most likely other label; decide them one by one (no bulk accept here).`,
    unlabelled: 'No teacher label: rows the teacher abstained on; the suggestion is the peers\' advice and p its probability.',
  };
}

/**
 * The flagged queue's empty state when the doubtful queue is not empty (null otherwise): what to review instead. On a
 * two-label task with a strong teacher a run can flag nothing while the rows it ranks first hold most of its errors.
 */
export function flaggedEmptyOffer(flagged: number, doubtful: Pick<DoubtfulSummary, 'rows' | 'expectedErrors'> & Partial<DoubtfulSummary>): string | null {
  if (flagged > 0 || doubtful.rows === 0) return null;
  return `The run flagged no rows, but it expects about ${count(doubtful.expectedErrors)} teacher errors among the rows it did not flag: its doubtful queue lists the ${plural(doubtful.rows, 'row')} it ranks first.`;
}
