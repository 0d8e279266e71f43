/** Files `spindle new` writes. */

/** A working JSON control function: input and output JSON Schemas, and a handler that greets. */
export function controlHandler(name: string): string {
  return `/** ${name}: replies with a greeting. Try it: echo '{"name":"Ada"}' | spindle invoke ${name} */
import { defineFunction } from '@spindle/runtime';

export default defineFunction({
  // The runtime parses the body as JSON and answers 400 naming the field when it breaks this schema.
  input: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
    },
    additionalProperties: false,
  },
  output: {
    type: 'object',
    required: ['message'],
    properties: {
      message: { type: 'string' },
    },
    additionalProperties: false,
  },
  handle: ({ name }, ctx) => {
    ctx.logger.info({ name }, 'greeting');
    return { message: \`Hello, \${name ?? 'world'}!\` };
  },
});
`;
}
