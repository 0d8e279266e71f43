/**
 * The syntax of graph mappings, shared by the gateway (which evaluates them) and the CLI (which checks a
 * stack before deploying it). In any string of a node's `input` (or the graph's `output`), `{{ path }}`
 * names a value: paths start at `input` (the run input) or `nodes.<id>.output` (an upstream node's
 * output), then name fields and array indexes with dots: `{{ input.prompt }}`, `{{ nodes.tts.output.audio }}`,
 * `{{ nodes.split.output.items.0 }}`.
 *
 * `when` is a condition on the same paths: `PATH` (truthy), `!PATH` (falsy), or `PATH OP LITERAL` with
 * OP one of `==`, `!=`, `>`, `>=`, `<`, `<=` and LITERAL a JSON value (`"text"`, `3`, `true`, `null`).
 */

/** `{{ path }}` anywhere in a string. */
export const TEMPLATE = /\{\{\s*([^{}]+?)\s*\}\}/g;
/** A string that is exactly one `{{ path }}`: replaced by the value itself, of any JSON type. */
export const WHOLE = /^\{\{\s*([^{}]+?)\s*\}\}$/;
const PATH = /^(input|nodes)((?:\.[A-Za-z0-9_-]+)*)$/;

/** Parses a path, or returns an error message saying what a path must look like. */
export function parsePath(path: string): { segments: string[]; node?: string } | string {
  const m = PATH.exec(path.trim());
  if (!m) return `"${path}" is not a path: start with "input" or "nodes.<id>.output", then ".field" or ".0"`;
  const segments = m[2] ? m[2].slice(1).split('.') : [];
  if (m[1] === 'input') return { segments: ['input', ...segments] };
  if (segments.length < 2 || segments[1] !== 'output') return `"${path}" must read a node's output: nodes.<id>.output[.field]`;
  return { segments: ['nodes', ...segments], node: segments[0] };
}

/** Every `{{ path }}` in `value`, through arrays and objects (with an explicit stack: depth is bounded elsewhere, recursion is not needed). */
export function references(value: unknown): string[] {
  const found: string[] = [];
  const stack = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') for (const m of v.matchAll(TEMPLATE)) found.push(m[1]);
    else if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    else if (v && typeof v === 'object') stack.push(...Object.values(v).reverse());
  }
  return found;
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
