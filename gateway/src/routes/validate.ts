/** Turns a schema violation into a 400 that names the field. */
import { checkJsonBounds, fieldName, isValidName, NAMESPACE, parseFunctionRef, type SchemaIssue, type Validator } from '@spindle/schemas';
import { BadRequestError, NotFoundError } from '../errors.ts';

/** The 400 for an issue: `field "x.y" <message>`, or `request body <message>` for the body as a whole. */
function issueError(issue: SchemaIssue): BadRequestError {
  return new BadRequestError(issue.path ? `field "${fieldName(issue.path)}" ${issue.message}` : `request body ${issue.message}`);
}

/** Throws a 400 when a JSON body is deeper or larger than DOCUMENT_BOUNDS; call it before anything recursive reads the body. */
export function boundedBody(body: unknown): void {
  const issue = checkJsonBounds(body);
  if (issue) throw issueError(issue);
}

/** Returns `body` typed, or throws a BadRequestError naming the offending field. */
export function validBody<T>(validator: Validator<T>, body: unknown): T {
  if (body === undefined || body === null || typeof body !== 'object') throw new BadRequestError('request body must be a JSON object');
  boundedBody(body);
  const issue = validator.check(body);
  if (issue) throw issueError(issue);
  return body as T;
}

/** Validates a graph or secret name from a URL or body (functions: functionName). */
export function validName(name: string, what = 'function'): string {
  if (!isValidName(name)) {
    const shown = name.length > 80 ? `${name.slice(0, 80)}…` : name;
    throw new BadRequestError(`${what} name ${JSON.stringify(shown)} is invalid: use lowercase letters, digits and "-" (a DNS-1123 label, at most 63 characters)`);
  }
  return name;
}

/** The bare name of a function reference (`NAME` or `NAME.openfaas-fn`): 400 when malformed, 404 for another namespace. */
export function functionName(raw: string): string {
  const ref = parseFunctionRef(raw);
  if (ref.problem) throw ref.problem.kind === 'namespace' ? new NotFoundError(ref.problem.message) : new BadRequestError(ref.problem.message);
  return ref.name;
}

/** 404 for a namespace other than Spindle's one (an absent namespace means it). */
export function checkNamespace(ns: string | undefined): void {
  if (ns && ns !== NAMESPACE) throw new NotFoundError(`namespace ${JSON.stringify(ns.slice(0, 80))} does not exist: Spindle has one namespace, ${NAMESPACE}`);
}

/** A whole-number query parameter within [min, max] (`fallback` when absent), or a 400 naming it. */
export function wholeNumber(query: Record<string, string | undefined>, name: string, min: number, max: number, fallback: number): number {
  const raw = query[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new BadRequestError(`query "${name}" must be a whole number from ${min} to ${max}, got "${raw.slice(0, 40)}"`);
  return n;
}
