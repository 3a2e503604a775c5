/**
 * "Why is this row flagged?" in words, for the hover (markdown) and the Label Review panel (the row's text in
 * segments, its explained words marked): plain TypeScript without Node or DOM, so the webview bundle imports it.
 */
import { wordSpans } from '../training/featurize';
import { EXPLANATION_LIMITS, type RowExplanation } from '../training/types';
import { cutText, showBidiControls, showInvisible } from './prettyRow';

/** Longest piece of user data (word, label, id) a hover shows; the rest is cut with an ellipsis. */
export const MAX_SHOWN_CHARS = 80;

function shown(text: string): string {
  return text.length > MAX_SHOWN_CHARS ? `${cutText(text, MAX_SHOWN_CHARS)}…` : text;
}

/** A piece of a row's text: plain, or an explained word with its contribution to the logit difference. */
export type TextSegment =
  | { text: string }
  | { text: string; word: string; contribution: number; direction: 'towards' | 'away' };

/**
 * The row's text cut into segments, each occurrence of an explained word marked: `towards` for the words that push
 * the peer to the suggested label (explanation.words), `away` for those that push back to the teacher's
 * (explanation.against). Words are matched as the featurizer reads them (lower-cased runs of letters and digits).
 * Linear in the text: only the selected row is explained.
 */
export function explanationSegments(text: string, explanation: Pick<RowExplanation, 'words' | 'against'>): TextSegment[] {
  const marks = new Map<string, { contribution: number; direction: 'towards' | 'away' }>();
  for (const [word, contribution] of explanation.words) marks.set(word, { contribution, direction: 'towards' });
  for (const [word, contribution] of explanation.against ?? []) if (!marks.has(word)) marks.set(word, { contribution, direction: 'away' });
  const segments: TextSegment[] = [];
  let at = 0;
  for (const span of wordSpans(text)) {
    const mark = marks.get(span.word);
    if (!mark) continue;
    if (span.start > at) segments.push({ text: text.slice(at, span.start) });
    segments.push({ text: text.slice(span.start, span.end), word: span.word, ...mark });
    at = span.end;
  }
  if (at < text.length) segments.push({ text: text.slice(at) });
  return segments;
}

/**
 * Escapes markdown's special characters in user data (labels, ids), shown inline: a line break becomes a space (it
 * would end a table row, or make `===` under it a heading).
 */
export function escapeMarkdown(text: string): string {
  return showInvisible(text.replace(/[|\\`*_{}[\]()#+\-.!<>~=]/g, (char) => `\\${char}`).replace(/\r\n?|\n/g, ' '));
}

/**
 * A code span that nothing in `text` can close: a fence longer than its longest backtick run, padded when the text
 * starts or ends with a backtick; line breaks become spaces. explanations.jsonl is a file: its words are not trusted
 * to be the letters and digits the tokenizer makes.
 */
export function codeSpan(text: string): string {
  const flat = showBidiControls(text.replace(/\r\n?|\n/g, ' '));
  const longestRun = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(2)}`;
}

/**
 * Markdown: the words that push the peer towards the suggested label and away from the teacher's, with their shares
 * of the logit difference (and what the rest adds), then the most similar human-labelled rows with their labels.
 */
export function explanationMarkdown(explanation: RowExplanation): string {
  const towards = escapeMarkdown(shown(explanation.towards));
  const away = escapeMarkdown(shown(explanation.away));
  const lines = [`**Why flagged** · the peer that never saw this row scores '${towards}' over '${away}' by ${signed(explanation.logit_difference)} (logit)`];
  if (explanation.words.length > 0) {
    const words = explanation.words.slice(0, EXPLANATION_LIMITS.words).map(([word, contribution]) => `${codeSpan(shown(word))} ${signed(contribution)}`).join(' · ');
    lines.push(`Words for '${towards}': ${words}`);
  } else {
    lines.push(`No word of the row pushes towards '${towards}'.`);
  }
  if (explanation.against && explanation.against.length > 0) {
    const against = explanation.against.slice(0, EXPLANATION_LIMITS.words).map(([word, contribution]) => `${codeSpan(shown(word))} ${signed(contribution)}`).join(' · ');
    lines.push(`Words for '${away}': ${against}`);
  }
  const rest = [`other words ${signed(explanation.other_words)}`, `bias ${signed(explanation.bias)}`];
  if (explanation.dense !== 0) rest.push(`word vectors ${signed(explanation.dense)}`);
  lines.push(`(${rest.join(', ')})`);
  if (explanation.similar.length > 0) {
    const similar = explanation.similar.slice(0, EXPLANATION_LIMITS.similar).map((row) => `line ${row.line} (${escapeMarkdown(shown(row.id))}): '${escapeMarkdown(shown(row.label))}', similarity ${row.similarity.toFixed(2)}`);
    lines.push(`Most similar rows with a human label: ${similar.join(' · ')}`);
  } else {
    lines.push('No row with a human label shares a word with this one.');
  }
  return lines.join('\n\n');
}
