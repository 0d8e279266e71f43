/** Turns a schema violation into a 400 that names the field. */
import { fieldName, type Validator } from '@spindle/schemas';
import { BadRequestError } from '../errors.ts';

/** Returns `body` typed, or throws a BadRequestError naming the offending field. */
export function validBody<T>(validator: Validator<T>, body: unknown): T {
  if (body === undefined || body === null || typeof body !== 'object') throw new BadRequestError('request body must be a JSON object');
  const issue = validator.check(body);
  if (issue) throw new BadRequestError(`field "${fieldName(issue.path)}" ${issue.message}`);
  return body as T;
}

/** Validates a function or secret name from a URL or body. */
export function validName(name: string, what = 'function'): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) {
    throw new BadRequestError(`${what} name "${name}" is invalid: use lowercase letters, digits and "-" (a DNS-1123 label, at most 63 characters)`);
  }
  return name;
}
