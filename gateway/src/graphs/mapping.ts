/**
 * Evaluating graph mappings: `{{ path }}` in a node's `input` (or the graph's `output`) is replaced from
 * the run's scope, and `when` conditions are tested against it. The syntax (paths, templates, conditions)
 * lives in @spindle/schemas, where the CLI checks it too; see its mapping.ts for the language.
 */
import { parsePath, TEMPLATE, WHOLE, type Condition } from '@spindle/schemas';

/** What mappings read: the run input and the outputs of finished nodes. */
export interface Scope {
  input: unknown;
  nodes: Record<string, { output: unknown }>;
}

function lookup(scope: Scope, path: string): unknown {
  const parsed = parsePath(path);
  if (typeof parsed === 'string') throw new Error(parsed);
  let v: unknown = scope;
  for (const key of parsed.segments) {
    if (v === null || v === undefined || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Replaces every `{{ path }}` in `value` from `scope`; missing values become null (or "" inside text). Recurses as deep as the mapping, which the definition's bounds limit. */
export function resolve(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) return lookup(scope, whole[1]) ?? null;
    return value.replace(TEMPLATE, (_m, path: string) => {
      const v = lookup(scope, path);
      return v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, scope));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, scope)]));
  return value;
}

/** Evaluates a parsed condition against the scope. */
export function holds(condition: Condition, scope: Scope): boolean {
  return condition.test(lookup(scope, condition.path));
}
