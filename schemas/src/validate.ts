/** AJV validators compiled from the schemas, with errors that name the offending field. */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: false, coerceTypes: false });

/** One schema violation, with the JSON path of the field (`/envVars/FOO`, `` for the root). */
export interface SchemaIssue {
  path: string;
  message: string;
}

/** A compiled validator: `check` returns the issue (first one) or null; `is` narrows the type. */
export interface Validator<T> {
  check(value: unknown): SchemaIssue | null;
  is(value: unknown): value is T;
}

/** Renders an AJV error as `field "x.y": must be ...`, naming the field a person has to fix. */
export function describeIssue(err: ErrorObject): SchemaIssue {
  let path = err.instancePath;
  let message = err.message ?? 'is invalid';
  if (err.keyword === 'required') {
    path = `${path}/${(err.params as { missingProperty: string }).missingProperty}`;
    message = 'is required';
  }
  if (err.keyword === 'additionalProperties') {
    path = `${path}/${(err.params as { additionalProperty: string }).additionalProperty}`;
    message = 'is not a known field';
  }
  if (err.keyword === 'propertyNames') {
    const name = (err.params as { propertyName?: string }).propertyName;
    if (name !== undefined) path = `${path}/${name}`;
    message = 'is not a valid name (lowercase letters, digits and "-", at most 63 characters)';
  }
  if (err.keyword === 'pattern' && /name|service|secrets/.test(path)) {
    message = 'must be a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit)';
  }
  if (err.keyword === 'enum') {
    const allowed = (err.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v));
    message = allowed.length === 1 ? `must be ${allowed[0]}` : `must be one of ${allowed.join(', ')}`;
  }
  return { path, message };
}

/** Formats a JSON pointer as a dotted field name: `/envVars/FOO` → `envVars.FOO`. */
export function fieldName(path: string): string {
  return path.replace(/^\//, '').replace(/\//g, '.') || '(body)';
}

/** Compiles a schema once; the result is safe to call on any input. */
export function compile<T>(schema: object): Validator<T> {
  const fn: ValidateFunction = ajv.compile(schema);
  return {
    check(value) {
      if (fn(value)) return null;
      return describeIssue(fn.errors![0]);
    },
    is(value): value is T {
      return fn(value) as boolean;
    },
  };
}
