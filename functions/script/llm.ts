/**
 * Script writing by a language model, when one is configured: Ollama's `/api/generate` (`OLLAMA_URL`,
 * `OLLAMA_MODEL`) or an OpenAI-compatible `/v1/chat/completions` (`OPENAI_BASE_URL`, `OPENAI_MODEL`, the key
 * from the `openai-api-key` secret or `OPENAI_API_KEY`). Each call has a timeout; the caller falls back to the
 * grammar when it fails.
 */
import type { Script } from './grammar.ts';

/** Which model server to ask, read from the function's environment. */
export type LlmConfig = { kind: 'ollama'; url: string; model: string } | { kind: 'openai'; url: string; model: string; apiKey: string | undefined };

/** The configured model server, or null: Ollama first (as the original MySpinBot), then an OpenAI-compatible one. */
export function llmFromEnv(env: NodeJS.ProcessEnv): LlmConfig | null {
  if (env.OLLAMA_URL) return { kind: 'ollama', url: env.OLLAMA_URL.replace(/\/+$/, ''), model: env.OLLAMA_MODEL || 'llama3.2' };
  if (env.OPENAI_BASE_URL) {
    const base = env.OPENAI_BASE_URL.replace(/\/+$/, '');
    return { kind: 'openai', url: /\/v1$/.test(base) ? base : `${base}/v1`, model: env.OPENAI_MODEL || 'gpt-4o-mini', apiKey: env.OPENAI_API_KEY };
  }
  return null;
}

const instructions = (prompt: string, sentences: number) =>
  `Write a spoken narration of exactly ${sentences} short sentences about: ${prompt}\n` +
  'Answer with a title on the first line, then the narration as plain text on the next line. No lists, no markdown, no stage directions.';

/** Splits a model's answer into a title (first line) and the narration (the rest), trimmed to plain speakable text. */
export function parseAnswer(text: string, sentences: number): Script {
  const lines = text.replace(/[*#_`>]/g, '').split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length < 2) throw new Error('the model answered without a title and a narration');
  const title = lines[0].replace(/^title:\s*/i, '').replace(/^"|"$/g, '').slice(0, 200);
  const all = lines.slice(1).join(' ').replace(/^narration:\s*/i, '');
  const narration = (all.match(/[^.!?]+[.!?]+/g) ?? [all]).slice(0, sentences).map((x) => x.trim()).join(' ').slice(0, 2000);
  if (!narration) throw new Error('the model answered with an empty narration');
  return { title, narration };
}

/** Asks the configured model; throws on a timeout, an HTTP error or an answer it cannot read. */
export async function askModel(llm: LlmConfig, prompt: string, sentences: number, seed: number, timeoutMs: number, signal: AbortSignal): Promise<Script> {
  const aborted = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  const text = instructions(prompt, sentences);
  if (llm.kind === 'ollama') {
    const res = await fetch(`${llm.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: llm.model, prompt: text, stream: false, options: { seed, temperature: 0.8 } }),
      signal: aborted,
    });
    if (!res.ok) throw new Error(`Ollama answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const body = (await res.json()) as { response?: unknown };
    if (typeof body.response !== 'string') throw new Error('Ollama answered without a "response" string');
    return parseAnswer(body.response, sentences);
  }
  const res = await fetch(`${llm.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(llm.apiKey && { authorization: `Bearer ${llm.apiKey}` }) },
    body: JSON.stringify({ model: llm.model, messages: [{ role: 'user', content: text }], seed, temperature: 0.8 }),
    signal: aborted,
  });
  if (!res.ok) throw new Error(`the model server answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const body = (await res.json()) as { choices?: Array<{ message?: { content?: unknown } }> };
  const content = body.choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw new Error('the model server answered without choices[0].message.content');
  return parseAnswer(content, sentences);
}
