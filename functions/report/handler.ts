/** report: joins the demo graph's two branches into one line. */
import { defineFunction } from '@spindle/runtime';

export default defineFunction({
  input: {
    type: 'object',
    required: ['loud', 'words'],
    properties: { loud: { type: 'string' }, words: { type: 'integer' } },
  },
  output: { type: 'object', required: ['summary'], properties: { summary: { type: 'string' } } },
  handle: ({ loud, words }) => ({ summary: `${loud} (${words} word${words === 1 ? '' : 's'})` }),
});
