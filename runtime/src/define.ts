/** `defineFunction`: how a function is written once. */
import type { JSONSchema } from 'json-schema-to-ts';
import type { FunctionDefinition } from './types.ts';

/**
 * Declares a control function. With `input` the body is parsed as JSON and validated (400 naming the
 * bad field) and `handle` gets the typed value; without it `handle` gets the raw request.
 *
 * @example
 * export default defineFunction({
 *   input: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const,
 *   output: { type: 'object', properties: { greeting: { type: 'string' } } } as const,
 *   handle: ({ name }) => ({ greeting: `Hello, ${name}` }),
 * });
 */
export function defineFunction<const I extends JSONSchema | undefined = undefined, const O extends JSONSchema | undefined = undefined>(
  definition: Omit<FunctionDefinition<I, O>, 'kind'>,
): FunctionDefinition<I, O> {
  return { ...definition, kind: 'control' } as FunctionDefinition<I, O>;
}
