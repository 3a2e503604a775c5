/**
 * A run's work plan, for its progress fraction and its time left (issue 11: "progress and an honest ETA from the
 * start").
 *
 * Work is counted in units (one student's epoch over one row; the pipeline weighs its other steps in the same unit)
 * of four kinds whose wall time per unit differs from run to run:
 * - `prepare`: tokenising and hashing the rows (one core), the unit the pipeline's weights were measured against;
 * - `encode`: encoding the rows with a pretrained encoder, loading it included (its cost per row depends on the
 *   encoder: use-lite took about 150 times glove's per row on the 2-core machine, and glove is the pipeline's weight);
 * - `train`: the students (as many cores as the pool has threads);
 * - `settle`: the calibration after each stage and the run's own predictions and explanations at the end (its cost
 *   grows with the rows the advice has to weigh: a noisy teacher costs more than a right one).
 *
 * The time left is each kind's units still to do at that kind's wall time per unit measured so far in this run; a
 * kind not measured yet borrows the rate of the first one (`prepare`), which is what the pipeline's weights were
 * measured against, never the encoder's (priced at it, the rest of a run after use-lite read 40 times too long).
 * Wall time counts as `train` while any student trains (whatever else runs beside it), else as the kind the pipeline
 * is in. Work that may not be needed (the final student, which is the vanilla one where the advice
 * adopts no label) is planned as `maybe` until the run knows: the fraction counts it, and the time left is then a
 * range, from without it to with it. Assumes one run on one clock; nothing here reads the rows.
 */
export type WorkKind = 'prepare' | 'encode' | 'train' | 'settle';

const KINDS: readonly WorkKind[] = ['prepare', 'encode', 'train', 'settle'];

/** The time left is shown once this share of the plan is done (before, one rate is a guess on too little). */
const FIRST_ESTIMATE_FRACTION = 0.02;

/** Students' progress reports before their own rate is trusted: the first of two students training at once reports
 * one epoch after both have run one, which would halve the rate. */
const TRAIN_REPORTS_BEFORE_RATE = 2;

/**
 * The students' rate is read over about this much of their recent wall time, not since the first: the students of a
 * run differ (during the encoder trial, half of them reading the embedding too, a unit took about 1.5× the wall time
 * of the words-only students after it, measured at a million rows), so the rate follows the students training now.
 */
const TRAIN_RATE_WINDOW_MS = 20_000;

export class WorkPlan {
  private readonly planned: Record<WorkKind, number> = { prepare: 0, encode: 0, train: 0, settle: 0 };
  private readonly done: Record<WorkKind, number> = { prepare: 0, encode: 0, train: 0, settle: 0 };
  private readonly wallMs: Record<WorkKind, number> = { prepare: 0, encode: 0, train: 0, settle: 0 };
  private readonly maybe: Record<WorkKind, number> = { prepare: 0, encode: 0, train: 0, settle: 0 };
  private kind: Exclude<WorkKind, 'train'> = 'prepare';
  private students = 0;
  private trainReports = 0;
  /** (train wall ms, train units done) at each student report, oldest first, trimmed to the window. */
  private readonly trainMarks: { wallMs: number; done: number }[] = [];
  private shownFraction = 0;
  private since: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.since = now();
  }

  /** Adds (or, negative, removes) planned units of one kind. */
  plan(kind: WorkKind, units: number): void {
    this.planned[kind] += units;
  }

  /**
   * Plans `units` of one kind as a part whose size is estimated again later (an encoder's work once its rate is known,
   * the explanations once a calibration has counted the flagged rows): `replan(units)` replaces the part's size.
   */
  planPart(kind: WorkKind, units: number): { readonly units: number; replan(units: number): void } {
    let size = units;
    this.plan(kind, size);
    return {
      get units() {
        return size;
      },
      replan: (next: number) => {
        this.plan(kind, next - size);
        size = next;
      },
    };
  }

  /** Adds (or removes) units of one kind that may not be needed (see the class comment). */
  planMaybe(kind: WorkKind, units: number): void {
    this.maybe[kind] += units;
  }

  /** Units of one kind done so far (absolute), e.g. rows featurized × their weight. */
  setDone(kind: WorkKind, units: number): void {
    this.done[kind] = units;
  }

  /** More units of one kind done; a student's epoch is one report of `train`. */
  add(kind: WorkKind, units: number): void {
    this.done[kind] += units;
    if (kind !== 'train') return;
    this.trainReports++;
    this.charge();
    this.trainMarks.push({ wallMs: this.wallMs.train, done: this.done.train });
    // Keep one mark at least a window old (the start of the window), and those after it.
    while (this.trainMarks.length > 2 && this.wallMs.train - this.trainMarks[1].wallMs >= TRAIN_RATE_WINDOW_MS) this.trainMarks.shift();
  }

  /** The pipeline moves on to a kind of work outside the students (their time counts as `train` while any trains). */
  enter(kind: Exclude<WorkKind, 'train'>): void {
    this.charge();
    this.kind = kind;
  }

  studentStarted(): void {
    this.charge();
    this.students++;
  }

  studentFinished(): void {
    this.charge();
    this.students = Math.max(0, this.students - 1);
  }

  /** Everything planned is done (the run's last report). */
  complete(): void {
    for (const kind of KINDS) {
      this.planned[kind] += this.maybe[kind];
      this.maybe[kind] = 0;
      this.done[kind] = Math.max(this.done[kind], this.planned[kind]);
    }
  }

  /**
   * Units still to do after the `prepare` and `encode` kinds (the time left beside an encoder's own estimate), with
   * the work that may not be needed or, `withMaybe` false, without it (the lower end of the range, as remaining()).
   */
  plannedAfterPrepare(withMaybe = true): number {
    const left = (kind: WorkKind) => Math.max(0, this.planned[kind] + (withMaybe ? this.maybe[kind] : 0) - this.done[kind]);
    return left('train') + left('settle');
  }

  /** The share of the plan done, in [0, 1]; never goes back, even where the plan grows again. */
  fraction(): number {
    const planned = KINDS.reduce((sum, kind) => sum + this.planned[kind] + this.maybe[kind], 0);
    const done = KINDS.reduce((sum, kind) => sum + Math.min(this.done[kind], this.planned[kind] + this.maybe[kind]), 0);
    this.shownFraction = Math.max(this.shownFraction, planned > 0 ? Math.min(1, done / planned) : 0);
    return this.shownFraction;
  }

  /**
   * Milliseconds left at each kind's measured rate: `ms` with the work that may not be needed, `lowMs` without it
   * (equal where none is pending); undefined until FIRST_ESTIMATE_FRACTION of the plan is done.
   */
  remaining(): { ms: number; lowMs: number } | undefined {
    this.charge();
    if (this.fraction() <= FIRST_ESTIMATE_FRACTION) return undefined;
    const totalDone = KINDS.reduce((sum, kind) => sum + this.done[kind], 0);
    const totalWall = KINDS.reduce((sum, kind) => sum + this.wallMs[kind], 0);
    const fallback = this.msPerUnit('prepare') ?? (totalDone > 0 ? totalWall / totalDone : 0);
    const rate = (kind: WorkKind) => (kind === 'train' ? this.trainRate() : this.msPerUnit(kind)) ?? fallback;
    const left = (withMaybe: boolean) =>
      KINDS.reduce((sum, kind) => sum + Math.max(0, this.planned[kind] + (withMaybe ? this.maybe[kind] : 0) - this.done[kind]) * rate(kind), 0);
    return { ms: left(true), lowMs: left(false) };
  }

  /**
   * One kind's wall time per unit over all of its work so far (remaining() reads the students' over a recent window
   * instead); undefined before it has any. After featurizing, `prepare`'s is the rate the pipeline's weights are in.
   */
  msPerUnit(kind: WorkKind): number | undefined {
    this.charge();
    return this.done[kind] > 0 && this.wallMs[kind] > 0 ? this.wallMs[kind] / this.done[kind] : undefined;
  }

  /** remaining().ms: the time left counting the work that may not be needed. */
  remainingMs(): number | undefined {
    return this.remaining()?.ms;
  }

  /** The students' wall time per unit over the window (since their start while it is shorter); undefined before they report. */
  private trainRate(): number | undefined {
    if (this.trainReports < TRAIN_REPORTS_BEFORE_RATE) return undefined;
    const first = this.trainMarks[0];
    const last = this.trainMarks[this.trainMarks.length - 1];
    const windowed = this.wallMs.train - first.wallMs >= TRAIN_RATE_WINDOW_MS && last.done > first.done;
    if (windowed) return (last.wallMs - first.wallMs) / (last.done - first.done);
    return this.done.train > 0 && this.wallMs.train > 0 ? this.wallMs.train / this.done.train : undefined;
  }

  /** The wall time since the last charge goes to the kind in progress. */
  private charge(): void {
    const now = this.now();
    this.wallMs[this.students > 0 ? 'train' : this.kind] += now - this.since;
    this.since = now;
  }
}
