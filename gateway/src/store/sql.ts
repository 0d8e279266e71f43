/**
 * Small SQL helpers shared by the stores. Placeholders are numbered as values are added, never by
 * reading SQL text back: a `$1` inside a string literal or a comment is left alone.
 */

/** Collects a query's parameters: `p(value)` appends the value and returns its placeholder. */
export interface Params {
  (value: unknown): string;
  /** The values in placeholder order: the query's parameter array. */
  readonly values: unknown[];
}

/**
 * A fresh parameter list. Build every part of one query with the same `p`, so numbering runs on.
 * @example
 * const p = params();
 * const text = `SELECT * FROM runs WHERE graph = ${p(graph)} AND status = ${p('running')}`;
 * await pool.query(text, p.values);
 */
export function params(): Params {
  const values: unknown[] = [];
  const p = (value: unknown) => `$${values.push(value)}`;
  return Object.assign(p, { values });
}

/**
 * One statement from several (each without a trailing `;`): all but the last become data-modifying
 * CTEs of the last, so Postgres applies them atomically in one round trip. The texts are joined, not read.
 */
export function oneStatement(statements: readonly string[]): string {
  if (statements.length === 0) throw new Error('oneStatement: no statements');
  const last = statements[statements.length - 1];
  if (statements.length === 1) return last;
  return `WITH ${statements
    .slice(0, -1)
    .map((s, i) => `s${i} AS (${s})`)
    .join(', ')} ${last}`;
}
