/** Figures the benchmark reports about a label-error detector and a classifier. Pure functions, unit-tested. */
import { argmax } from './calibration';

/** Fraction of the k highest-scored items that are positives (ties broken by input order). */
export function precisionAtK(scores: ArrayLike<number>, positive: ArrayLike<boolean>, k: number): number {
  const order = rankDescending(scores);
  const top = Math.min(k, order.length);
  if (top === 0) return NaN;
  let hits = 0;
  for (let i = 0; i < top; i++) if (positive[order[i]]) hits++;
  return hits / top;
}

/** Area under the ROC curve: the probability that a random positive scores above a random negative (ties count ½). */
export function auroc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const order = rankDescending(scores).reverse();
  let positives = 0;
  let negatives = 0;
  let area = 0;
  // Walk from the lowest score up, in groups of equal scores.
  for (let start = 0; start < order.length; ) {
    let end = start;
    let groupPositives = 0;
    let groupNegatives = 0;
    while (end < order.length && scores[order[end]] === scores[order[start]]) {
      if (positive[order[end]]) groupPositives++;
      else groupNegatives++;
      end++;
    }
    area += groupPositives * negatives + 0.5 * groupPositives * groupNegatives;
    positives += groupPositives;
    negatives += groupNegatives;
    start = end;
  }
  return positives && negatives ? area / (positives * negatives) : NaN;
}

function rankDescending(scores: ArrayLike<number>): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  return order;
}

/** Accuracy of arg-max predictions (rows × classes probabilities) against label indices. */
export function accuracyOf(probabilities: ArrayLike<number>, truth: ArrayLike<number>, classes: number): number {
  let right = 0;
  for (let i = 0; i < truth.length; i++) if (argmax(probabilities, i * classes, classes) === truth[i]) right++;
  return truth.length ? right / truth.length : NaN;
}
