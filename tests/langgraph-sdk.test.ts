/**
 * The LangGraph Platform API through the real `@langchain/langgraph-sdk` Client against a real gateway (embedded
 * PGlite and the machine's PostgreSQL): assistants, runs (wait, stream in every mode, create, join, joinStream with
 * Last-Event-ID, cancel), threads (state and history from the checkpoints), errors the SDK raises, auth, and the
 * README's example run as written.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@langchain/langgraph-sdk';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MACHINE_PG, ROOT, startPlatform, tempDir, uniqueName, type Api } from './harness.ts';

const FUNCTIONS = ['greet', 'shout', 'wordcount', 'report', 'tick'];
const demo = parse(readFileSync(join(ROOT, 'stack.yml'), 'utf8')).graphs.demo;
const ticker = {
  input: { type: 'object', required: ['ms'], properties: { ms: { type: 'integer' } } },
  nodes: { a: { function: 'tick', input: { label: 'a', ms: '{{ input.ms }}' } } },
};
const failing = { nodes: { a: { function: 'tick', input: { label: 'a', fail: true } } } };
const EXPECTED = { summary: 'HELLO, ADA! (2 words)' };

type Part = { event: string; data: any; id?: string };
async function collect(parts: AsyncIterable<Part>): Promise<Part[]> {
  const out: Part[] = [];
  for await (const p of parts) out.push({ event: p.event, data: p.data, id: p.id });
  return out;
}

const schemas: string[] = [];
afterAll(async () => {
  if (!schemas.length) return;
  const client = new pg.Client({ connectionString: MACHINE_PG });
  await client.connect();
  for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await client.end();
});

describe.each([
  ['PGlite', () => ({})],
  [
    'PostgreSQL',
    () => {
      const databaseSchema = uniqueName('lgsdk');
      schemas.push(databaseSchema);
      return { databaseUrl: MACHINE_PG, databaseSchema };
    },
  ],
])('LangGraph SDK on %s', (backend, database) => {
  let api: Api;
  let stop: () => Promise<void>;
  let client: Client;

  beforeAll(async () => {
    ({ api, stop } = await startPlatform({ natsPrefix: uniqueName('lgsdk'), ...database() }));
    for (const fn of FUNCTIONS) expect((await api.deploy(fn, fn)).status).toBe(202);
    for (const fn of FUNCTIONS) await api.waitReplicas(fn, 1);
    expect((await api.system('PUT', '/system/graphs/demo', demo)).status).toBe(201);
    expect((await api.system('PUT', '/system/graphs/ticker', ticker)).status).toBe(201);
    expect((await api.system('PUT', '/system/graphs/failing', failing)).status).toBe(201);
    client = new Client({ apiUrl: api.url, defaultHeaders: { 'x-api-key': api.password } });
  }, 120_000);
  afterAll(() => stop?.());

  it('shows graphs as assistants: search, get by name or id, graph, schemas', async () => {
    const found = await client.assistants.search({ graphId: 'demo' });
    expect(found).toHaveLength(1);
    const [assistant] = found;
    expect(assistant).toMatchObject({ graph_id: 'demo', name: 'demo', version: 1 });
    // LangGraph Platform's id for a graph's default assistant: uuid5 of the graph id.
    expect((await client.assistants.get(assistant.assistant_id)).graph_id).toBe('demo');
    expect((await client.assistants.get('demo')).assistant_id).toBe(assistant.assistant_id);
    const graph = await client.assistants.getGraph('demo');
    expect(graph.nodes.map((n) => n.id).sort()).toEqual(['__end__', '__start__', 'count', 'greet', 'report', 'shout']);
    expect(graph.edges).toEqual(
      expect.arrayContaining([
        { source: '__start__', target: 'greet' },
        { source: 'greet', target: 'shout' },
        { source: 'greet', target: 'count' },
        { source: 'shout', target: 'report' },
        { source: 'count', target: 'report' },
        { source: 'report', target: '__end__' },
      ]),
    );
    expect(graph.edges).toHaveLength(6);
    const schemas = await client.assistants.getSchemas('demo');
    expect(schemas.input_schema).toEqual(demo.input);
    expect(Object.keys((schemas.state_schema as any).properties.outputs.properties).sort()).toEqual(['count', 'greet', 'report', 'shout']);
  });

  it('runs.wait answers the final values; the run is in /runs too', async () => {
    let created: { run_id: string; thread_id?: string } | undefined;
    const values = (await client.runs.wait(null, 'demo', { input: { name: 'Ada' }, onRunCreated: (m) => (created = m) })) as any;
    expect(values.output).toEqual(EXPECTED);
    expect(values.outputs.greet).toEqual({ greeting: 'Hello, Ada!' });
    expect(values.skipped).toEqual([]);
    // Content-Location told the SDK the run; a threadless run is its own thread.
    expect(created?.thread_id).toBe(created?.run_id);
    const ours = await (await api.system('GET', `/runs/${created!.run_id}`)).json();
    expect(ours).toMatchObject({ graph: 'demo', status: 'succeeded', output: EXPECTED });
    // Our own API gives the same output: the figure bench:langgraph compares.
    const direct = await (await api.system('POST', '/graphs/demo/runs?wait=true', { input: { name: 'Ada' } })).json();
    expect(direct.output).toEqual(values.output);
  });

  it('runs.stream emits metadata first, then one event per mode, in order', async () => {
    const updates = await collect(client.runs.stream(null, 'demo', { input: { name: 'Ada' }, streamMode: 'updates' }));
    expect(updates[0].event).toBe('metadata');
    expect(updates[0].data.run_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(updates.slice(1).map((p) => p.event)).toEqual(['updates', 'updates', 'updates', 'updates']);
    const nodes = updates.slice(1).map((p) => Object.keys(p.data)[0]);
    expect(nodes[0]).toBe('greet');
    expect(nodes.slice(1, 3).sort()).toEqual(['count', 'shout']);
    expect(nodes[3]).toBe('report');
    expect(updates[4].data.report).toEqual({ outputs: { report: EXPECTED } });

    const values = await collect(client.runs.stream(null, 'demo', { input: { name: 'Ada' }, streamMode: 'values' }));
    expect(values.map((p) => p.event)).toEqual(['metadata', ...Array(6).fill('values')]);
    expect(values[1].data).toEqual({ input: { name: 'Ada' }, outputs: {}, skipped: [] });
    expect(Object.keys(values[2].data.outputs)).toEqual(['greet']);
    expect(values[6].data.output).toEqual(EXPECTED);

    const events = await collect(client.runs.stream(null, 'demo', { input: { name: 'Ada' }, streamMode: 'events' }));
    const kinds = events.slice(1).map((p) => `${p.data.event} ${p.data.name}`);
    expect(kinds[0]).toBe('on_chain_start demo');
    expect(kinds.at(-1)).toBe('on_chain_end demo');
    for (const node of ['greet', 'shout', 'count', 'report']) {
      expect(kinds.indexOf(`on_chain_start ${node}`)).toBeLessThan(kinds.indexOf(`on_chain_end ${node}`));
    }
    // shout reports progress: the one custom event among the chain events.
    expect(kinds.filter((k) => !k.startsWith('on_custom_event'))).toHaveLength(10);

    const debug = await collect(client.runs.stream(null, 'demo', { input: { name: 'Ada' }, streamMode: 'debug' }));
    const tasks = debug.slice(1).map((p) => `${p.data.type} ${p.data.payload.name} ${p.data.step}`);
    expect(tasks.filter((t) => t.startsWith('task '))).toHaveLength(4);
    expect(tasks).toContain('task_result report 3');
    expect(tasks[0]).toBe('task greet 1');

    // custom carries ctx.progress; several modes interleave in one stream.
    const custom = await collect(client.runs.stream(null, 'ticker', { input: { ms: 0 }, streamMode: ['custom', 'updates'] }));
    expect(custom.map((p) => p.event)).toEqual(['metadata', 'custom', 'updates']);
    expect(custom[1].data).toEqual({ node: 'a', fraction: 0.5, message: 'tick a' });
  });

  it('a failed run: runs.wait raises, runs.stream ends with an error event', async () => {
    await expect(client.runs.wait(null, 'failing', { input: {} })).rejects.toThrow(/NodeFailedError: .*"a"/);
    const parts = await collect(client.runs.stream(null, 'failing', { input: {}, streamMode: 'updates' }));
    expect(parts.map((p) => p.event)).toEqual(['metadata', 'error']);
    expect(parts[1].data.error).toBe('NodeFailedError');
  });

  it('threads: state and history come from the checkpoints, runs are listed, search, delete', async () => {
    const thread = await client.threads.create({ metadata: { team: backend } });
    expect(thread.status).toBe('idle');
    await client.runs.wait(thread.thread_id, 'demo', { input: { name: 'Ada' } });
    const state = await client.threads.getState<{ output: unknown; outputs: Record<string, unknown> }>(thread.thread_id);
    expect(state.values.output).toEqual(EXPECTED);
    expect(Object.keys(state.values.outputs).sort()).toEqual(['count', 'greet', 'report', 'shout']);
    expect(state.next).toEqual([]);
    expect(state.checkpoint).toMatchObject({ thread_id: thread.thread_id, checkpoint_ns: '' });
    expect(state.checkpoint.checkpoint_id).toEqual(expect.any(String));
    expect(state.parent_checkpoint?.checkpoint_id).toEqual(expect.any(String));
    expect(state.metadata).toMatchObject({ graph_id: 'demo', source: 'loop' });

    const history = await client.threads.getHistory<{ outputs?: Record<string, unknown> }>(thread.thread_id, { limit: 20 });
    expect(history[0].checkpoint.checkpoint_id).toBe(state.checkpoint.checkpoint_id);
    // One checkpoint per superstep: input, greet, shout ∥ count, report (and the start).
    expect(history.length).toBeGreaterThanOrEqual(4);
    expect(history.at(-1)!.next).toEqual(['greet']);
    expect(history[1].parent_checkpoint?.checkpoint_id).toBe(history[2].checkpoint.checkpoint_id);
    const older = await client.threads.getHistory(thread.thread_id, { limit: 1, before: { configurable: { checkpoint_id: history[0].checkpoint.checkpoint_id } } });
    expect(older[0].checkpoint.checkpoint_id).toBe(history[1].checkpoint.checkpoint_id);

    // A second run on the thread: its state is the latest run's, its history holds both.
    await client.runs.wait(thread.thread_id, 'demo', { input: { name: 'Grace' } });
    expect(((await client.threads.getState(thread.thread_id)).values as any).output).toEqual({ summary: 'HELLO, GRACE! (2 words)' });
    expect((await client.threads.getHistory(thread.thread_id, { limit: 100 })).length).toBe(history.length * 2);
    // The state at one checkpoint of the first run (looked up by id, not by scanning the history); an unknown id is a 404.
    expect(await client.threads.getState(thread.thread_id, history[2].checkpoint.checkpoint_id as string)).toEqual(history[2]);
    expect(await client.threads.getState(thread.thread_id, history[0].checkpoint.checkpoint_id as string)).toEqual(history[0]);
    await expect(client.threads.getState(thread.thread_id, 'no-such-checkpoint')).rejects.toMatchObject({ status: 404 });
    const listed = await client.runs.list(thread.thread_id);
    expect(listed.map((r) => r.status)).toEqual(['success', 'success']);
    expect((await client.runs.get(thread.thread_id, listed[0].run_id)).assistant_id).toBe((await client.assistants.get('demo')).assistant_id);

    expect((await client.threads.search({ metadata: { team: backend } })).map((t) => t.thread_id)).toEqual([thread.thread_id]);
    expect((await client.threads.get(thread.thread_id)).values).toMatchObject({ output: { summary: 'HELLO, GRACE! (2 words)' } });
    await client.threads.delete(thread.thread_id);
    await expect(client.threads.get(thread.thread_id)).rejects.toMatchObject({ status: 404 });
  });

  it('runs.create in the background, join, joinStream from a Last-Event-ID, and a run of our API seen through the SDK', async () => {
    const run = await client.runs.create(null, 'demo', { input: { name: 'Ada' } });
    expect(run.status).toMatch(/pending|running/);
    expect(run.thread_id).toBe(run.run_id);
    expect(((await client.runs.join(run.thread_id, run.run_id)) as any).output).toEqual(EXPECTED);
    expect((await client.runs.get(run.thread_id, run.run_id)).status).toBe('success');
    const all = await collect(client.runs.joinStream(run.thread_id, run.run_id, { streamMode: ['updates'] }));
    expect(all.map((p) => p.event)).toEqual(['metadata', 'updates', 'updates', 'updates', 'updates']);
    // Resumed after the second update: the last two only, no metadata again.
    const rest = await collect(client.runs.joinStream(run.thread_id, run.run_id, { streamMode: ['updates'], lastEventId: all[2].id }));
    expect(rest.map((p) => p.data)).toEqual(all.slice(3).map((p) => p.data));

    // A run started by POST /graphs/demo/runs is a thread of its own for the SDK.
    const { runId } = await (await api.system('POST', '/graphs/demo/runs', { input: { name: 'Ada' } })).json();
    expect(((await client.runs.join(runId, runId)) as any).output).toEqual(EXPECTED);
    expect(((await client.threads.getState(runId)).values as any).output).toEqual(EXPECTED);
  });

  it.runIf(backend === 'PGlite')('a dropped runs.stream reconnects by itself and resumes after the last event it got', async () => {
    // A fetch whose first stream breaks once two updates have arrived, as a dropped connection would.
    let cut = true;
    const requests: string[] = [];
    const breaking: typeof fetch = async (url, init) => {
      const lastEventId = new Headers(init?.headers).get('last-event-id');
      requests.push(`${init?.method ?? 'GET'} ${new URL(String(url)).pathname}${lastEventId ? ` after ${lastEventId}` : ''}`);
      const res = await fetch(url, init);
      if (!cut || !String(url).endsWith('/runs/stream')) return res;
      cut = false;
      const reader = res.body!.getReader();
      let seen = '';
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) return controller.close();
          controller.enqueue(value);
          seen += new TextDecoder().decode(value);
          if ((seen.match(/event: updates/g) ?? []).length >= 2) {
            await reader.cancel();
            controller.error(new TypeError('terminated'));
          }
        },
      });
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const flaky = new Client({ apiUrl: api.url, apiKey: null, defaultHeaders: { 'x-api-key': api.password }, callerOptions: { fetch: breaking } });
    const parts = await collect(flaky.runs.stream(null, 'demo', { input: { name: 'Ada' }, streamMode: 'updates' }));
    expect(cut).toBe(false);
    // The second request followed the Location header, sending the last event id it had.
    expect(requests).toEqual(['POST /runs/stream', expect.stringMatching(/^GET \/threads\/[0-9a-f-]{36}\/runs\/[0-9a-f-]{36}\/stream after \d+$/)]);
    // Every node's update once, in order, across the two connections.
    const nodes = parts.filter((p) => p.event === 'updates').map((p) => Object.keys(p.data)[0]);
    expect(nodes).toHaveLength(4);
    expect(new Set(nodes).size).toBe(4);
    expect([nodes[0], nodes[3]]).toEqual(['greet', 'report']);
  });

  it('cancel stops a running run', async () => {
    const thread = await client.threads.create();
    const run = await client.runs.create(thread.thread_id, 'ticker', { input: { ms: 10_000 } });
    // A second run on a busy thread is refused (LangGraph's default multitask strategy, reject).
    await expect(client.runs.create(thread.thread_id, 'ticker', { input: { ms: 0 } })).rejects.toMatchObject({ status: 409 });
    await client.runs.cancel(thread.thread_id, run.run_id, true);
    expect((await client.runs.get(thread.thread_id, run.run_id)).status).toBe('interrupted');
    expect(await client.runs.join(thread.thread_id, run.run_id)).toEqual({ __error__: { error: 'UserInterrupt', message: 'run cancelled' } });
    expect((await client.threads.get(thread.thread_id)).status).toBe('idle');
    const parts = await collect(client.runs.joinStream(thread.thread_id, run.run_id));
    expect(parts.at(-1)).toMatchObject({ event: 'error', data: { error: 'UserInterrupt' } });

    // onDisconnect 'cancel': a streaming caller that leaves cancels its run.
    const leave = new AbortController();
    let left = '';
    for await (const part of client.runs.stream(null, 'ticker', { input: { ms: 10_000 }, onDisconnect: 'cancel', signal: leave.signal })) {
      if (part.event === 'metadata') {
        left = part.data.run_id;
        leave.abort();
      }
    }
    for (let i = 0; i < 100 && (await client.runs.get(left, left)).status !== 'interrupted'; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await client.runs.get(left, left)).status).toBe('interrupted');
  });

  it('errors the SDK raises: unknown assistant 404, bad input 422 naming the field, unknown thread 404', async () => {
    await expect(client.assistants.get('nope')).rejects.toMatchObject({ status: 404, message: expect.stringMatching(/assistant \\"nope\\" not found/) });
    await expect(client.runs.wait(null, 'nope', { input: {} })).rejects.toMatchObject({ status: 404 });
    await expect(client.runs.wait(null, 'demo', { input: {} })).rejects.toMatchObject({ status: 422, message: expect.stringContaining('field \\"input.name\\" is required') });
    await expect(client.runs.wait(null, 'demo', { input: { name: 3 } })).rejects.toMatchObject({ status: 422, message: expect.stringContaining('input.name') });
    await expect(client.runs.create(null, 'demo', { input: { name: 'Ada' }, streamMode: 'messages' as any })).rejects.toMatchObject({ status: 422, message: expect.stringContaining('stream_mode') });
    await expect(client.runs.create(null, 'demo', { input: { name: 'Ada' }, interruptBefore: ['greet'] })).rejects.toMatchObject({ status: 422, message: expect.stringContaining('interrupt_before') });
    await expect(client.threads.getState('6a0e3f57-8c3c-4d0e-9d6e-6b2b1d3a4c5e')).rejects.toMatchObject({ status: 404 });
    await expect(client.threads.create({ threadId: 'not-a-uuid' })).rejects.toMatchObject({ status: 422, message: expect.stringContaining('thread_id') });
  });

  it('accepts the admin password as x-api-key, Bearer or basic auth; a wrong key is a 401', async () => {
    const as = (headers: Record<string, string>) => new Client({ apiUrl: api.url, apiKey: null, defaultHeaders: headers });
    expect(await as({ authorization: `Bearer ${api.password}` }).assistants.search()).toHaveLength(3);
    expect(await as({ authorization: api.auth }).assistants.search()).toHaveLength(3);
    const wrong: Array<Record<string, string>> = [{ 'x-api-key': 'wrong' }, { authorization: 'Bearer wrong' }, {}];
    for (const headers of wrong) {
      await expect(as(headers).assistants.search()).rejects.toMatchObject({ status: 401 });
    }
  });

  it.runIf(backend === 'PGlite')("the README's example runs as written", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /```ts\n(\/\/ Run a Spindle graph with the LangGraph SDK[\s\S]*?)```/.exec(readme);
    expect(block, 'README has the LangGraph SDK example').not.toBeNull();
    // A folder outside the repo whose node_modules is the repo's, so the example imports what a user installs.
    const dir = await tempDir('spindle-lg-example-');
    try {
      await mkdir(dir, { recursive: true });
      await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      await writeFile(join(dir, 'example.mts'), block![1]);
      const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(dir, 'example.mts')], {
        cwd: dir,
        env: { ...process.env, SPINDLE_URL: api.url, SPINDLE_ADMIN_PASSWORD: api.password },
        timeout: 30_000,
      });
      expect(stdout).toMatch(/^updates \{"greet":/m);
      expect(stdout).toContain(`output: ${JSON.stringify(EXPECTED)}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
