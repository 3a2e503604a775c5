/**
 * A small synthetic dataset for engine tests: three topics, each row six words (topic words alternating with
 * `filler` random filler words), every 9th teacher label wrong, every 12th row (from the 6th) human-labelled.
 */
import { SeededRandom } from '../../src/training/random';
import type { TrainingRow } from '../../src/training/types';

export const SYNTHETIC_LABELS = ['sport', 'money', 'tech'];
const WORDS: Record<string, string[]> = {
  sport: ['goal', 'match', 'team', 'coach', 'league', 'score'],
  money: ['stock', 'bank', 'profit', 'market', 'shares', 'rates'],
  tech: ['software', 'chip', 'internet', 'computer', 'phone', 'code'],
};

export function syntheticRows(count: number, filler: number): TrainingRow[] {
  const random = new SeededRandom(7);
  return Array.from({ length: count }, (_, i) => {
    const label = SYNTHETIC_LABELS[i % 3];
    const text = Array.from({ length: 6 }, (_, k) => (k % 2 ? WORDS[label][random.int(6)] : `w${random.int(filler)}`)).join(' ');
    return { id: `r${i}`, line: i + 1, text, teacher: i % 9 === 0 ? SYNTHETIC_LABELS[(i + 1) % 3] : label, human: i % 12 === 5 ? label : null, teacherConfidence: null };
  });
}

/** Four news labels and four words of each, for the CLI tests' small datasets (cli-export, cli-id-fidelity). */
export const NEWS_LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];
export const NEWS_WORDS: Readonly<Record<string, readonly string[]>> = {
  World: ['summit', 'minister', 'election', 'vote'],
  Sports: ['match', 'goal', 'team', 'coach'],
  Business: ['stocks', 'profit', 'market', 'bank'],
  'Sci/Tech': ['chip', 'software', 'space', 'robot'],
};
