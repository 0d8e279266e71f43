/** greet: a JSON function. The runtime validates the input against the schema (400 naming the field). */
import { defineFunction } from '@spindle/runtime';

export default defineFunction({
  input: {
    type: 'object',
    required: ['name'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
      language: { type: 'string', enum: ['en', 'fr', 'de'], default: 'en' },
    },
    additionalProperties: false,
  },
  output: {
    type: 'object',
    required: ['greeting'],
    properties: { greeting: { type: 'string' } },
  },
  handle: ({ name, language }, ctx) => {
    const hello = { en: 'Hello', fr: 'Bonjour', de: 'Hallo' }[language ?? 'en'];
    ctx.logger.info({ name }, 'greeting');
    return { greeting: `${hello}, ${name}!` };
  },
});
