/**
 * The mapping language of graph nodes. In any string of a node's `input` (or the graph's `output`),
 * `{{ path }}` is replaced: a string that is exactly one `{{ path }}` becomes the value itself (any
 * JSON type), otherwise the value is interpolated as text. Paths start at `input` (the run input) or
 * `nodes.<id>.output` (an upstream node's output), then name fields and array indexes with dots:
 * `{{ input.prompt }}`, `{{ nodes.tts.output.audio }}`, `{{ nodes.split.output.items.0 }}`.
 *
 * `when` is a condition on the same paths: `PATH` (truthy), `!PATH` (falsy), or `PATH OP LITERAL` with
 * OP one of `==`, `!=`, `>`, `>=`, `<`, `<=` and LITERAL a JSON value (`"text"`, `3`, `true`, `null`).
 */

/** What mappings read: the run input and the outputs of finished nodes. */
export interface Scope {
  input: unknown;
  nodes: Record<string, { output: unknown }>;
}

const TEMPLATE = /\{\{\s*([^{}]+?)\s*\}\}/g;
const WHOLE = /^\{\{\s*([^{}]+?)\s*\}\}$/;
const PATH = /^(input|nodes)((?:\.[A-Za-z0-9_-]+)*)$/;

/** A reference found in a mapping: the path text and, for `nodes.*`, the node it names. */
export interface Reference {
  path: string;
  node?: string;
}

/** Parses a path, or returns an error message saying what a path must look like. */
export function parsePath(path: string): { segments: string[]; node?: string } | string {
  const m = PATH.exec(path.trim());
  if (!m) return `"${path}" is not a path: start with "input" or "nodes.<id>.output", then ".field" or ".0"`;
  const segments = m[2] ? m[2].slice(1).split('.') : [];
  if (m[1] === 'input') return { segments: ['input', ...segments] };
  if (segments.length < 2 || segments[1] !== 'output') return `"${path}" must read a node's output: nodes.<id>.output[.field]`;
  return { segments: ['nodes', ...segments], node: segments[0] };
}

/** Every `{{ path }}` in `value` (recursively through arrays and objects). */
export function references(value: unknown): string[] {
  const found: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') for (const m of v.matchAll(TEMPLATE)) found.push(m[1]);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return found;
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

/** Replaces every `{{ path }}` in `value` from `scope`; missing values become null (or "" inside text). */
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

const CONDITION = /^\s*(!)?\s*(?:\{\{\s*)?([A-Za-z0-9_.-]+?)(?:\s*\}\})?\s*(?:(==|!=|>=|<=|>|<)\s*(.+?))?\s*$/;

/** A parsed `when`: the path it reads and a test of the value found there. */
export interface Condition {
  path: string;
  test(value: unknown): boolean;
}

/** Parses a `when` expression, or returns an error message. */
export function parseCondition(text: string): Condition | string {
  const m = CONDITION.exec(text);
  if (!m) return `"${text}" is not a condition: write PATH, !PATH or PATH OP VALUE (OP one of == != > >= < <=)`;
  const [, not, path, op, literal] = m;
  const parsed = parsePath(path);
  if (typeof parsed === 'string') return parsed;
  if (!op) return { path, test: (v) => (not ? !v : Boolean(v)) };
  if (not) return `"${text}": use != instead of ! with a comparison`;
  let expected: unknown;
  try {
    expected = JSON.parse(literal);
  } catch {
    return `"${literal}" in "${text}" is not a JSON value (quote strings: "speech")`;
  }
  const compare = (v: unknown): boolean => {
    switch (op) {
      case '==':
        return JSON.stringify(v) === JSON.stringify(expected);
      case '!=':
        return JSON.stringify(v) !== JSON.stringify(expected);
      default: {
        if (typeof v !== typeof expected || (typeof v !== 'number' && typeof v !== 'string')) return false;
        const a = v as number | string;
        const b = expected as number | string;
        return op === '>' ? a > b : op === '>=' ? a >= b : op === '<' ? a < b : a <= b;
      }
    }
  };
  return { path, test: compare };
}

/** Evaluates a parsed condition against the scope. */
export function holds(condition: Condition, scope: Scope): boolean {
  return condition.test(lookup(scope, condition.path));
}
