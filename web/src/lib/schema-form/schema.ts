/**
 * The logic behind the generated forms (function input, graph run input): which control a JSON Schema gets,
 * a value filled with the schema's defaults, what to send (optional fields left empty are dropped), and the
 * validation messages per field. Messages are phrased by the same describeIssue() the API uses, so the
 * form says what a 400 from the gateway would say.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { describeIssue } from '@spindle/schemas/validate';
import type { JsonSchema } from '../types.ts';

/** The control a schema gets. `json` is the raw JSON fallback for what the form cannot draw (oneOf, $ref, …). */
export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'array' | 'object' | 'json';

/** The schema's type, picked once: an enum wins, then the first non-null type. */
export function kindOf(schema: JsonSchema): FieldKind {
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return 'enum';
  const types = Array.isArray(schema.type) ? schema.type.filter((t) => t !== 'null') : schema.type ? [schema.type] : [];
  const t = types[0] ?? (schema.properties ? 'object' : schema.items ? 'array' : undefined);
  if (t === 'string' || t === 'number' || t === 'integer' || t === 'boolean') return t;
  if (t === 'object' && schema.properties) return 'object';
  if (t === 'array' && schema.items && typeof schema.items === 'object') return 'array';
  return 'json';
}

/** True when the form can draw the whole schema (the root must be an object with properties). */
export function formable(schema: JsonSchema | undefined | null): schema is JsonSchema {
  return !!schema && kindOf(schema) === 'object';
}

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

/**
 * A starting value for a schema: its `default`, else for objects every property's starting value, for
 * arrays `minItems` starting items, for booleans false; strings, numbers and enums without a default stay
 * empty (undefined) so a required one is flagged rather than silently sent.
 */
export function initialValue(schema: JsonSchema): unknown {
  if (schema.default !== undefined) return clone(schema.default);
  switch (kindOf(schema)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries(schema.properties ?? {})) {
        const v = initialValue(sub);
        if (v !== undefined) out[key] = v;
      }
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => initialValue(schema.items!));
    case 'boolean':
      return false;
    default:
      return undefined;
  }
}

/** Merges an example (a graph's `example`) over the starting value, so every field of the form has a value to show. */
export function withExample(schema: JsonSchema, example: unknown): unknown {
  const base = initialValue(schema);
  if (example === undefined || example === null) return base;
  if (kindOf(schema) === 'object' && typeof example === 'object' && !Array.isArray(example) && base && typeof base === 'object') {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(example)) out[k] = schema.properties?.[k] ? withExample(schema.properties[k], v) : clone(v);
    return out;
  }
  return clone(example);
}

/** The value to send: empty optional strings, unset numbers and empty optional objects are left out. */
export function cleaned(schema: JsonSchema, value: unknown): unknown {
  const kind = kindOf(schema);
  if (kind === 'object' && value && typeof value === 'object' && !Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    const required = new Set(schema.required ?? []);
    for (const [key, v] of Object.entries(value)) {
      const sub = schema.properties?.[key];
      const c = sub ? cleaned(sub, v) : v;
      if (c === undefined) continue;
      if (!required.has(key) && (c === '' || (sub && kindOf(sub) === 'object' && Object.keys(c as object).length === 0))) continue;
      out[key] = c;
    }
    return out;
  }
  if (kind === 'array' && Array.isArray(value)) return value.map((v) => cleaned(schema.items!, v));
  if ((kind === 'number' || kind === 'integer') && (value === '' || value === null || Number.isNaN(value))) return undefined;
  return value;
}

/** A JSON pointer (`/a/0/b`) for a path of keys. */
export const pointer = (path: Array<string | number>): string => path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, validateFormats: false });
const compiled = new WeakMap<object, ValidateFunction | Error>();

/**
 * Every problem of `value` against `schema`, keyed by the JSON pointer of the field to fix (`/name`,
 * `/items/0/text`, `` for the whole value). A schema AJV cannot compile yields one message at the root.
 */
export function validate(schema: JsonSchema, value: unknown): Map<string, string> {
  let fn = compiled.get(schema);
  if (!fn) {
    try {
      fn = ajv.compile(schema);
    } catch (err) {
      fn = err as Error;
    }
    compiled.set(schema, fn);
  }
  const problems = new Map<string, string>();
  if (fn instanceof Error) {
    problems.set('', `the schema cannot be used for checking: ${fn.message}`);
    return problems;
  }
  if (fn(cleaned(schema, value))) return problems;
  for (const err of fn.errors ?? []) {
    const issue = describeIssue(err);
    if (!problems.has(issue.path)) problems.set(issue.path, issue.message);
  }
  return problems;
}

/** A label for a property: its title, else its key. */
export const labelOf = (key: string, schema: JsonSchema): string => (typeof schema.title === 'string' && schema.title ? schema.title : key);
