/** Shared by the tests of metrics.json's missing figures (training-metrics-nulls, cli-metrics-nulls). */

/** Words a user must never read where a figure is missing. */
export const NOT_A_FIGURE = /\b(NaN|null|undefined|Infinity)\b/;

/** Paths of the numbers in a value that are not finite (NaN, ±Infinity): what JSON would silently turn into null. */
export function nonFinite(value: unknown, at = 'metrics'): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [`${at} = ${value}`];
  if (Array.isArray(value)) return value.flatMap((item, i) => nonFinite(item, `${at}[${i}]`));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([key, item]) => nonFinite(item, `${at}.${key}`));
  return [];
}

/** The metrics.json of older runs, and hand-edited ones: every reader reads them without a crash or a "NaN". */
export const OLDER_METRICS: [string, unknown][] = [
  ['no trust block (before the intervals)', { estimatedTeacherAccuracy: 0.9, humanCheck: { studentAccuracy: 0.8 } }],
  ['trust null', { trust: null }],
  ['empty object', {}],
  ['null', null],
  ['an array', []],
  ['teacher estimate null (every row human)', { estimatedTeacherAccuracy: null, trust: { teacherAccuracy: { estimate: null, low: null, high: null }, flaggedWrong: { estimate: 0, low: null, high: null } } }],
  ['bounds missing', { trust: { teacherAccuracy: { estimate: 0.9 }, flaggedWrong: { estimate: 3 } } }],
  ['figures as strings', { estimatedTeacherAccuracy: '0.9', trust: { teacherAccuracy: { estimate: '0.9', low: '0.8', high: '1' }, flaggedWrong: { estimate: 'NaN', low: null, high: null } } }],
  ['bounds the wrong way round', { trust: { teacherAccuracy: { estimate: 0.9, low: 0.95, high: 0.8 }, flaggedWrong: { estimate: 3, low: 5, high: 1 } } }],
  ['teacherAccuracy missing, flaggedWrong null', { trust: { flaggedWrong: null } }],
];
