/**
 * The script writer: the grammar (seeded, varied with the prompt) and the language-model path against a small
 * real HTTP server that speaks Ollama's `/api/generate` and OpenAI's `/v1/chat/completions` wire formats. That
 * server stands in for a model server this machine cannot run; it checks the protocol, timeouts and fallback.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectOf, writeScript } from './grammar.ts';
import { askModel, llmFromEnv, parseAnswer } from './llm.ts';

describe('the grammar', () => {
  it('is about the prompt, has the asked number of sentences, and is the same for the same prompt and seed', () => {
    expect(subjectOf('Tell me about the history of tea!')).toBe('the history of tea');
    expect(subjectOf('a short talk on volcanoes')).toBe('volcanoes');
    for (const n of [2, 3, 4]) {
      const s = writeScript('the history of tea', 1, n);
      expect(s.narration.match(/[.!?](\s|$)/g)).toHaveLength(n);
      expect(s.narration).toContain('the history of tea');
      expect(writeScript('the history of tea', 1, n)).toEqual(s);
    }
    const seeds = new Set(Array.from({ length: 8 }, (_, seed) => writeScript('the history of tea', seed, 4).narration));
    expect(seeds.size).toBeGreaterThan(4);
    expect(writeScript('volcanoes', 1, 3).narration).not.toBe(writeScript('glaciers', 1, 3).narration.replaceAll('glaciers', 'volcanoes'));
  });

  it("takes the prompt as text, never as Tracery grammar (no recursion, no exponential expansion)", () => {
    expect(writeScript('#subject#', 1, 2).narration).toContain('#subject#');
    const bomb = Array.from({ length: 40 }, (_, i) => (i === 0 ? '[r0:x]' : `[r${i}:#r${i - 1}##r${i - 1}#]`)).join('') + '#r39#';
    const s = writeScript(bomb, 1, 2);
    expect(s.narration.length).toBeLessThan(2000);
    expect(s.title).toContain('[r0:x]');
  });
});

describe('a language model over HTTP', () => {
  let server: Server;
  let url: string;
  const seen: Array<{ path: string; body: any; auth?: string }> = [];
  const body = async (req: IncomingMessage) => {
    let text = '';
    for await (const c of req) text += c;
    return JSON.parse(text);
  };
  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const b = await body(req);
      seen.push({ path: req.url!, body: b, auth: req.headers.authorization });
      if (b.model === 'slow') return; // never answers: the caller's timeout must end it
      res.setHeader('content-type', 'application/json');
      if (req.url === '/api/generate') return res.end(JSON.stringify({ model: b.model, response: 'Tea Time\nTea is old. It came from China. People love it.', done: true }));
      if (req.url === '/v1/chat/completions') return res.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: '**Title: Tea**\nTea is old. It is loved.' } }] }));
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('reads the configuration: Ollama first, then an OpenAI-compatible server (with or without /v1)', () => {
    expect(llmFromEnv({})).toBeNull();
    expect(llmFromEnv({ OLLAMA_URL: 'http://h:11434/', OLLAMA_MODEL: 'qwen' })).toEqual({ kind: 'ollama', url: 'http://h:11434', model: 'qwen' });
    expect(llmFromEnv({ OPENAI_BASE_URL: 'http://h/v1', OPENAI_MODEL: 'm', OPENAI_API_KEY: 'k' })).toEqual({ kind: 'openai', url: 'http://h/v1', model: 'm', apiKey: 'k' });
    expect(llmFromEnv({ OPENAI_BASE_URL: 'http://h' })?.url).toBe('http://h/v1');
  });

  it('asks Ollama /api/generate (model, prompt, stream: false, the seed) and keeps the asked sentences', async () => {
    const s = await askModel({ kind: 'ollama', url, model: 'tiny' }, 'tea', 2, 42, 2000, new AbortController().signal);
    expect(s).toEqual({ title: 'Tea Time', narration: 'Tea is old. It came from China.' });
    expect(seen.at(-1)).toMatchObject({ path: '/api/generate', body: { model: 'tiny', stream: false, options: { seed: 42 } } });
    expect(seen.at(-1)!.body.prompt).toContain('exactly 2 short sentences about: tea');
  });

  it('asks an OpenAI-compatible /v1/chat/completions with the key as a bearer token', async () => {
    const s = await askModel({ kind: 'openai', url: `${url}/v1`, model: 'gpt', apiKey: 'sk-test' }, 'tea', 2, 1, 2000, new AbortController().signal);
    expect(s).toEqual({ title: 'Tea', narration: 'Tea is old. It is loved.' });
    expect(seen.at(-1)).toMatchObject({ path: '/v1/chat/completions', auth: 'Bearer sk-test', body: { model: 'gpt', messages: [{ role: 'user' }] } });
  });

  it('gives up after the timeout, and on an answer it cannot read', async () => {
    const started = Date.now();
    await expect(askModel({ kind: 'ollama', url, model: 'slow' }, 'tea', 2, 1, 300, new AbortController().signal)).rejects.toThrow(/timeout|aborted/i);
    expect(Date.now() - started).toBeLessThan(3000);
    await expect(askModel({ kind: 'ollama', url: `${url}/nope`, model: 'x' }, 'tea', 2, 1, 2000, new AbortController().signal)).rejects.toThrow(/404/);
    expect(() => parseAnswer('just one line', 2)).toThrow(/title/);
  });
});
