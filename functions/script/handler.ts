/**
 * script: a prompt to a title and a 2–4 sentence narration about its subject. By default a seeded Tracery
 * grammar writes it (honestly `generator: "grammar"`); with `OLLAMA_URL` (and `OLLAMA_MODEL`) or
 * `OPENAI_BASE_URL` (and `OPENAI_MODEL`) in the function's environment a language model does, within
 * `SCRIPT_TIMEOUT_MS` (default 20 s), falling back to the grammar when it fails.
 */
import { defineFunction } from '@spindle/runtime';
import { hashText, writeScript } from './grammar.ts';
import { askModel, llmFromEnv } from './llm.ts';

const llm = llmFromEnv(process.env);
const timeoutMs = Number(process.env.SCRIPT_TIMEOUT_MS) > 0 ? Number(process.env.SCRIPT_TIMEOUT_MS) : 20_000;

export default defineFunction({
  input: {
    type: 'object',
    required: ['prompt'],
    properties: {
      // What to talk about: at least one character that is not white space.
      prompt: { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S' },
      seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
      sentences: { type: 'integer', minimum: 2, maximum: 4, default: 3 },
    },
    additionalProperties: false,
  },
  output: {
    type: 'object',
    required: ['title', 'narration', 'generator', 'seed'],
    properties: { title: { type: 'string' }, narration: { type: 'string' }, generator: { type: 'string' }, seed: { type: 'integer' } },
  },
  handle: async ({ prompt, seed: given, sentences = 3 }, ctx) => {
    // Without a seed the prompt picks one: the same prompt reads the same, another prompt differently.
    const seed = given ?? hashText(prompt.trim());
    if (llm) {
      ctx.progress(0.1, `asking ${llm.kind} (${llm.model})`);
      try {
        const key = llm.kind === 'openai' ? ((await ctx.secret('openai-api-key').catch(() => undefined))?.trim() ?? llm.apiKey) : undefined;
        const script = await askModel(llm.kind === 'openai' ? { ...llm, apiKey: key } : llm, prompt, sentences, seed, timeoutMs, ctx.signal);
        return { ...script, generator: `${llm.kind}:${llm.model}`, seed };
      } catch (err) {
        ctx.logger.warn({ err: (err as Error).message, model: llm.model }, 'the language model failed; the grammar writes the script');
      }
    }
    ctx.progress(0.5, 'writing with the grammar');
    return { ...writeScript(prompt, seed, sentences), generator: 'grammar', seed };
  },
});
