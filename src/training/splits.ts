/**
 * Stratified K-fold assignment: each class's rows are shuffled (seeded) and dealt round-robin to the folds, with the
 * starting fold rotating between classes so that fold sizes differ by at most one overall.
 */
import { TextIndex } from '../dataset/hashSlots';
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

/**
 * For each row, the index of the first row with the same text (its own index when no row before it has that text).
 * Texts are told apart as the run's repeated-text check does (TextIndex: two texts of one length and the same two
 * 32-bit hashes are taken for one, about 1 in 10^7 for a million texts; such a pair would only share a fold).
 * @param texts one per row, in the run's row order.
 */
export function firstRowOfText(texts: readonly string[]): Int32Array {
  const index = new TextIndex();
  const firstOfNumber = new Int32Array(texts.length);
  const out = new Int32Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const met = index.size;
    const number = index.numberOf(texts[i]);
    if (number === met) firstOfNumber[number] = i; // a text not met before: this row is its first
    out[i] = firstOfNumber[number];
  }
  return out;
}

/**
 * `folds` (changed in place, and returned) with every row of a repeated text in the fold of the first of its rows
 * that has a fold. A peer that trained on a copy of a row it then relabels has learnt the teacher's label of that very
 * text: a file whose every row came twice showed "Teacher ≈ 100% right, 0 rows flagged" for an 80 % teacher. Rows
 * whose text is on no other row keep their fold, so a file without repeated texts is split exactly as before; a text
 * on many rows makes its fold larger than the others.
 * @param folds fold per row from stratifiedFolds (-1: left out, left as it is).
 * @param firstOfText firstRowOfText of the same rows.
 */
export function keepTextsTogether(folds: Int32Array, firstOfText: Int32Array): Int32Array {
  const foldOfText = new Int32Array(folds.length).fill(-1);
  for (let i = 0; i < folds.length; i++) {
    if (folds[i] < 0) continue;
    const first = firstOfText[i];
    if (foldOfText[first] < 0) foldOfText[first] = folds[i];
    else folds[i] = foldOfText[first];
  }
  return folds;
}
