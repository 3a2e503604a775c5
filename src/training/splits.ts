/**
 * Stratified K-fold assignment: each class's rows are shuffled (seeded) and dealt round-robin to the folds, with the
 * starting fold rotating between classes so that fold sizes differ by at most one overall.
 */
import { SeededRandom } from './random';

/**
 * Returns fold[i] in [0, k) for each item; items with stratum -1 are not assigned (fold -1).
 * @param strata the class of each item (its label index), or -1 to leave it out.
 */
export function stratifiedFolds(strata: ArrayLike<number>, k: number, seed: number): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new Error(`folds must be an integer >= 2, got ${k}`);
  const byStratum = new Map<number, number[]>();
  for (let i = 0; i < strata.length; i++) {
    const s = strata[i];
    if (s < 0) continue;
    let members = byStratum.get(s);
    if (!members) byStratum.set(s, (members = []));
    members.push(i);
  }
  const random = new SeededRandom(seed);
  const folds = new Int32Array(strata.length).fill(-1);
  let next = 0;
  for (const stratum of [...byStratum.keys()].sort((a, b) => a - b)) {
    const members = random.shuffle(byStratum.get(stratum)!);
    for (const item of members) {
      folds[item] = next;
      next = (next + 1) % k;
    }
  }
  return folds;
}
