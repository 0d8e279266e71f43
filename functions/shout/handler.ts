/** shout: upper-cases text (a node of the demo graph). */
import { defineFunction } from '@spindle/runtime';

export default defineFunction({
  input: { type: 'object', required: ['text'], properties: { text: { type: 'string', maxLength: 100000 } } },
  output: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } },
  handle: ({ text }) => ({ text: text.toUpperCase() }),
});
