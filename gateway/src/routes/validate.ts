/** Turns a schema violation into a 400 that names the field. */
import { checkJsonBounds, fieldName, type SchemaIssue, type Validator } from '@spindle/schemas';
import { BadRequestError } from '../errors.ts';

/** The 400 for an issue: `field "x.y" <message>`, or `request body <message>` for the body as a whole. */
export function issueError(issue: SchemaIssue): BadRequestError {
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

/** Validates a function or secret name from a URL or body. */
export function validName(name: string, what = 'function'): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) {
    throw new BadRequestError(`${what} name "${name}" is invalid: use lowercase letters, digits and "-" (a DNS-1123 label, at most 63 characters)`);
  }
  return name;
}
