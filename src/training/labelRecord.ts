/**
 * Label → number objects that hold any label. Labels are user data: `__proto__`, `constructor` or `toString` are
 * labels like any other. A plain `{}` drops `record['__proto__'] = p` (it sets the prototype instead) and answers
 * `record['constructor']` with Object's constructor; these records have no prototype, and lookups check own keys.
 * Plain objects (not Maps) because predictions.jsonl and `peerkd predict` write them as JSON objects.
 */

/** An empty label → number record without a prototype. */
export function labelRecord(entries: Iterable<readonly [string, number]> = []): Record<string, number> {
  const record = Object.create(null) as Record<string, number>;
  for (const [label, value] of entries) record[label] = value;
  return record;
}

/** The record copied into one without a prototype (e.g. after JSON.parse), keeping every own key in order. */
export function toLabelRecord(record: Readonly<Record<string, number>>): Record<string, number> {
  return labelRecord(Object.entries(record));
}

/** The value of `label` in `record`, or undefined when the record has no such own key (inherited keys never count). */
export function probabilityOf(record: Readonly<Record<string, number>>, label: string): number | undefined {
  return Object.hasOwn(record, label) ? record[label] : undefined;
}
