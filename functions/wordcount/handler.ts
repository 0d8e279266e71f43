/** wordcount: counts words and characters (a node of the demo graph). */
import { defineFunction } from '@spindle/runtime';

export default defineFunction({
  input: { type: 'object', required: ['text'], properties: { text: { type: 'string', maxLength: 100000 } } },
  output: { type: 'object', required: ['words', 'characters'], properties: { words: { type: 'integer' }, characters: { type: 'integer' } } },
  handle: ({ text }, ctx) => {
    ctx.progress(0.5, 'counting');
    const words = text.split(/\s+/).filter(Boolean).length;
    return { words, characters: text.length };
  },
});
