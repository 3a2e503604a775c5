/**
 * The one limit on labels, and the checks of a label list a user gives explicitly (`--labels`, `peerkd.labels`).
 * A label longer than MAX_LABEL_LENGTH is refused where it enters (the dataset, the list), so every later stage —
 * training, the review panel's messages — can rely on it.
 */

/** Longest label, in UTF-16 code units (JavaScript string length). */
export const MAX_LABEL_LENGTH = 200;

/** Why `label` is not a usable label, or undefined when it is. */
export function labelLengthProblem(label: string): string | undefined {
  return label.length > MAX_LABEL_LENGTH
    ? `label ${JSON.stringify(label.slice(0, 40) + '…')} is ${label.length} characters long; labels are at most ${MAX_LABEL_LENGTH}`
    : undefined;
}

/**
 * Why an explicitly given label list is unusable (no label, an empty entry, a duplicate, a label too long), or
 * undefined. The list is taken as given: nothing is dropped or merged silently.
 */
export function labelListProblem(labels: readonly string[]): string | undefined {
  if (labels.length === 0 || labels.every((label) => label.trim().length === 0)) {
    return 'the label list names no label';
  }
  const seen = new Set<string>();
  for (let index = 0; index < labels.length; index++) {
    const label = labels[index];
    if (label.trim().length === 0) return `label ${index + 1} of the list is empty`;
    if (seen.has(label)) return `label ${JSON.stringify(label)} is listed twice`;
    seen.add(label);
    const tooLong = labelLengthProblem(label);
    if (tooLong) return tooLong;
  }
  return undefined;
}

/**
 * A label set as one line of text, `World, Sports, Business`: each label as written, but in double quotes where it
 * could not be read back from the list (`"Arts, Culture"` holds the separator, `" World"` white space at an end,
 * `"\"x\""` quotes, `""` nothing), so that a list of four labels never reads as five. Control characters are left to
 * the output that shows them (the CLI's Terminal escapes them as everywhere else, `\x1b`).
 */
export function labelListText(labels: readonly string[]): string {
  return labels.map((label) => (label.length === 0 || /[,"]|^\s|\s$/.test(label) ? `"${label.replace(/["\\]/g, (c) => `\\${c}`)}"` : label)).join(', ');
}

/**
 * Characters that show as nothing: the zero-width space, direction marks, the soft hyphen, the word joiner, a byte
 * order mark (pasted from a web page or an LLM's answer with a label). The zero-width (non-)joiners are left out: they
 * change how emoji and Arabic or Indic script are drawn. Variation selectors are left to emoji.
 */
export const INVISIBLE_CHARACTERS = /[\u00ad\u200b\u200e\u200f\u2060-\u2064\ufeff]/g;

/** What a reader sees of a label: its NFC form without invisible characters, trimmed, runs of white space as one space. */
export function lookAlikeKey(label: string): string {
  return label.normalize('NFC').replace(INVISIBLE_CHARACTERS, '').trim().replace(/\s+/g, ' ');
}

/** What a reader sees of a label, case folded: labels with the same fold are the same but for case or look-alikes. */
export function lookAlikeFold(label: string): string {
  return lookAlikeKey(label).toLocaleLowerCase('en-US');
}

/**
 * The label of `labels` that `label` looks like without being it: the same to a reader (`same`: another Unicode form,
 * other white space — a run refuses a file holding both), or the same but for case (`case`: trained as two labels).
 */
export function lookAlikeLabel(labels: readonly string[], label: string): { label: string; how: 'same' | 'case' } | undefined {
  if (labels.includes(label)) return undefined;
  const key = lookAlikeKey(label);
  const same = labels.find((candidate) => lookAlikeKey(candidate) === key);
  if (same !== undefined) return { label: same, how: 'same' };
  const folded = lookAlikeFold(label);
  const cased = labels.find((candidate) => lookAlikeFold(candidate) === folded);
  return cased === undefined ? undefined : { label: cased, how: 'case' };
}

/** How a label set holding a label with a comma is written on the command line (`--labels`). */
export const LABEL_LIST_JSON_EXAMPLE = `'["Arts, Culture","Sports"]'`;

/**
 * `A,B,C` (spaces around each label trimmed) → the labels; or a JSON list of strings, `["Arts, Culture","Sports"]`, for
 * labels that hold a comma (taken as written). Throws an Error naming `option` when unusable.
 */
export function parseLabelList(spec: string, option: string): string[] {
  const fail = (problem: string) => new Error(`${option} ${JSON.stringify(spec.length > 60 ? spec.slice(0, 60) + '…' : spec)}: ${problem}`);
  let labels: string[];
  if (spec.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(spec);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || !parsed.every((label) => typeof label === 'string')) {
      throw fail(`a list that starts with [ is a JSON list of labels, each in double quotes (${LABEL_LIST_JSON_EXAMPLE})`);
    }
    labels = parsed;
  } else {
    labels = spec.split(',').map((label) => label.trim());
  }
  const problem = labelListProblem(labels);
  if (problem) throw fail(problem);
  return labels;
}
