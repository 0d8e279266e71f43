/** Small SQL helpers shared by the stores. */

/** Joins statements into one: all but the last become CTEs; `$n` placeholders are renumbered. */
export function combine(parts: Array<[string, unknown[]]>): [string, unknown[]] {
  const params: unknown[] = [];
  const renumbered = parts.map(([sql, values]) => {
    const offset = params.length;
    params.push(...values);
    return sql.trim().replace(/;\s*$/, '').replace(/\$(\d+)/g, (_m, n: string) => `$${Number(n) + offset}`);
  });
  const last = renumbered.pop()!;
  if (renumbered.length === 0) return [last, params];
  return [`WITH ${renumbered.map((s, i) => `s${i} AS (${s})`).join(', ')} ${last}`, params];
}
