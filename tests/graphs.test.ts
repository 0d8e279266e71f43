/** Graphs against real replicas, Postgres checkpoints (embedded PGlite here) and NATS: the executor and the runs API. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, uniqueName, type Api } from './harness.ts';
import { sseData } from './sse.ts';

let api: Api;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ api, stop } = await startPlatform({ natsPrefix: uniqueName('gtest') }));
  for (const fn of ['greet', 'shout', 'wordcount', 'report', 'tick', 'fails-first']) {
    const res = await api.deploy(fn, fn);
    expect(res.status, await res.clone().text()).toBe(202);
  }
  for (const fn of ['greet', 'shout', 'wordcount', 'report', 'tick', 'fails-first']) await api.waitReplicas(fn, 1);
}, 120_000);
afterAll(() => stop?.());

async function putGraph(name: string, definition: unknown): Promise<Response> {
  return api.system('PUT', `/system/graphs/${name}`, definition);
}

async function runAndWait(name: string, input: unknown): Promise<{ status: number; body: any }> {
  const res = await api.system('POST', `/graphs/${name}/runs?wait=true`, { input });
  return { status: res.status, body: await res.json() };
}

/** Reads a run's SSE stream until it ends; returns the parsed events. */
async function readEvents(runId: string, headers: Record<string, string> = {}): Promise<any[]> {
  const res = await api.system('GET', `/runs/${runId}/events`, undefined, headers);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  return sseData(await res.text());
}

const diamond = {
  description: 'a → (b ∥ c) → d',
  nodes: {
    a: { function: 'tick', input: { label: 'a', ticks: '{{ input.start }}' } },
    b: { function: 'tick', input: { label: 'b', ms: 150, ticks: '{{ nodes.a.output.ticks }}' } },
    c: { function: 'tick', input: { label: 'c', ms: 150, ticks: '{{ nodes.a.output.ticks }}' } },
    d: { function: 'tick', input: { label: 'd: {{ nodes.b.output.label }}+{{ nodes.c.output.label }}', ticks: '{{ nodes.b.output.ticks }}' } },
  },
};

describe('graph definitions', () => {
  it('deploys, lists, describes and removes graphs', async () => {
    const created = await putGraph('diamond', diamond);
    expect(created.status).toBe(201);
    expect((await created.json()).version).toBe(1);
    const updated = await putGraph('diamond', diamond);
    expect(updated.status).toBe(200);
    expect((await updated.json()).version).toBe(2);
    const list = await (await api.system('GET', '/system/graphs')).json();
    expect(list.map((g: { name: string }) => g.name)).toContain('diamond');
    expect((await (await api.system('GET', '/system/graphs/diamond')).json()).definition.nodes.a.function).toBe('tick');
    await putGraph('doomed', diamond);
    expect((await api.system('DELETE', '/system/graphs/doomed')).status).toBe(204);
    expect((await api.system('GET', '/system/graphs/doomed')).status).toBe(404);
    expect((await fetch(`${api.url}/system/graphs`)).status).toBe(401);
  });

  it('rejects invalid definitions with 400 naming the node and field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ nodes: { a: { function: 'nope' } } }, /node "a" field "function": function "nope" is not deployed/],
      [{ nodes: { a: { function: 'tick', needs: ['b'] }, b: { function: 'tick', needs: ['a'] } } }, /cycle through nodes "a", "b"/],
      [{ nodes: { a: { function: 'tick', input: { x: '{{ nodes.ghost.output }}' } } } }, /node "a" field "input": .*"ghost"/],
      [{ nodes: { a: { function: 'tick', needs: ['ghost'] } } }, /node "a" field "needs": names node "ghost"/],
      [{ nodes: { a: { function: 'tick', input: { x: '{{ outputs.a }}' } } } }, /node "a" field "input": .*not a path/],
      [{ nodes: { a: { function: 'tick', when: 'nodes.a.output.x ~ 3' } } }, /node "a" field "when"/],
      [{ nodes: { a: { function: 'tick', colour: 'red' } } }, /field "nodes.a.colour" is not a known field/],
      [{ nodes: {} }, /nodes/],
      [{ nodes: { a: { function: 'tick', retry: { attempts: 0 } } } }, /nodes.a.retry.attempts/],
    ];
    for (const [definition, message] of cases) {
      const res = await putGraph('bad', definition);
      expect(res.status, JSON.stringify(definition)).toBe(400);
      expect((await res.json()).error.message).toMatch(message);
    }
    expect((await putGraph('Bad_Name', diamond)).status).toBe(400);
  });
});

describe('runs', () => {
  it('runs the default demo graph: fan-out and fan-in over control functions', async () => {
    const { parse } = await import('yaml');
    const { readFile } = await import('node:fs/promises');
    const stack = parse(await readFile(new URL('../stack.yml', import.meta.url), 'utf8'));
    expect((await putGraph('demo', stack.graphs.demo)).status).toBe(201);
    const { status, body } = await runAndWait('demo', stack.graphs.demo.example);
    expect(status).toBe(200);
    expect(body.output).toEqual({ summary: 'HELLO, ADA! (2 words)' });
  });

  it('runs a diamond: b and c in parallel, d waits for both', async () => {
    await putGraph('diamond', diamond);
    const { status, body } = await runAndWait('diamond', { start: 10 });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe('succeeded');
    expect(body.output).toEqual({ label: 'd: b+c', ticks: 13 });
    const run = await (await api.system('GET', `/runs/${body.runId}`)).json();
    const nodes = Object.fromEntries(run.nodes.map((n: any) => [n.node, n]));
    expect(Object.keys(nodes).sort()).toEqual(['a', 'b', 'c', 'd']);
    for (const n of Object.values(nodes) as any[]) expect(n).toMatchObject({ status: 'succeeded', attempts: 1 });
    // b and c overlapped: each started before the other finished.
    expect(new Date(nodes.b.startedAt).getTime()).toBeLessThan(new Date(nodes.c.finishedAt).getTime());
    expect(new Date(nodes.c.startedAt).getTime()).toBeLessThan(new Date(nodes.b.finishedAt).getTime());
    expect(new Date(nodes.d.startedAt).getTime()).toBeGreaterThanOrEqual(new Date(nodes.b.finishedAt).getTime());
    expect(nodes.b.output).toEqual({ label: 'b', ticks: 12 });
  });

  it('streams events in order, replays them to a late subscriber, and resumes after Last-Event-ID', async () => {
    await putGraph('diamond', diamond);
    const started = await (await api.system('POST', '/graphs/diamond/runs', { input: { start: 0 } })).json();
    expect(started.runId).toMatch(/^[0-9a-f-]{36}$/);
    const live = await readEvents(started.runId);
    expect(live.map((e) => e.seq)).toEqual(live.map((_, i) => i + 1));
    expect(live[0].type).toBe('run.started');
    expect(live.at(-1).type).toBe('run.succeeded');
    const types = live.map((e) => `${e.type}:${e.node ?? ''}`);
    expect(types.indexOf('node.succeeded:a')).toBeLessThan(types.indexOf('node.started:b'));
    expect(types.indexOf('node.succeeded:b')).toBeLessThan(types.indexOf('node.started:d'));
    expect(types).toContain('node.progress:c');
    const late = await readEvents(started.runId);
    expect(late).toEqual(live);
    const resumed = await readEvents(started.runId, { 'last-event-id': '3' });
    expect(resumed).toEqual(live.slice(3));
  });

  it('skips a node whose condition does not hold, and what depends on it', async () => {
    await putGraph('gated', {
      nodes: {
        check: { function: 'tick', input: { label: 'check' } },
        big: { function: 'tick', when: 'nodes.check.output.ticks > 5', input: { label: 'big' } },
        after: { function: 'tick', needs: ['big'], input: { label: 'after' } },
        small: { function: 'tick', when: 'nodes.check.output.ticks == 1', input: { label: 'small' } },
      },
      output: { small: '{{ nodes.small.output.label }}', big: '{{ nodes.big.output }}' },
    });
    const { body } = await runAndWait('gated', {});
    expect(body.status).toBe('succeeded');
    expect(body.output).toEqual({ small: 'small', big: null });
    const run = await (await api.system('GET', `/runs/${body.runId}`)).json();
    const status = Object.fromEntries(run.nodes.map((n: any) => [n.node, n.status]));
    expect(status).toEqual({ check: 'succeeded', big: 'skipped', after: 'skipped', small: 'succeeded' });
  });

  it('retries a node that fails, and succeeds on the second attempt', async () => {
    const key = uniqueName('retry');
    await putGraph('retrying', { nodes: { f: { function: 'fails-first', input: { key, failures: 1 }, retry: { attempts: 3, backoffMs: 20 } } } });
    const { body } = await runAndWait('retrying', {});
    expect(body.status).toBe('succeeded');
    expect(body.output).toEqual({ key, attempt: 2 });
    const run = await (await api.system('GET', `/runs/${body.runId}`)).json();
    expect(run.nodes[0]).toMatchObject({ node: 'f', status: 'succeeded', attempts: 2 });
    const events = await readEvents(body.runId);
    expect(events.filter((e) => e.type === 'node.retrying')).toHaveLength(1);

    const key2 = uniqueName('noretry');
    await putGraph('failing', { nodes: { f: { function: 'fails-first', input: { key: key2, failures: 5 }, retry: { attempts: 2, backoffMs: 10 } } } });
    const failed = await runAndWait('failing', {});
    expect(failed.status).toBe(500);
    expect(failed.body.status).toBe('failed');
    expect(failed.body.error).toMatch(/node "f" failed after 2 attempts: 503/);
  });

  it('fails a node that runs past its timeoutMs', async () => {
    await putGraph('slowpoke', { nodes: { s: { function: 'tick', input: { label: 's', ms: 3000 }, timeoutMs: 200 } } });
    const t0 = Date.now();
    const { body } = await runAndWait('slowpoke', {});
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(body.status).toBe('failed');
    expect(body.error).toMatch(/504: .*timeout of 200 ms/);
  });

  it('cancels a run mid-flight', async () => {
    await putGraph('long', { nodes: { a: { function: 'tick', input: { label: 'a', ms: 5000 } }, b: { function: 'tick', needs: ['a'] } } });
    const { runId } = await (await api.system('POST', '/graphs/long/runs', { input: {} })).json();
    for (let i = 0; i < 100; i++) {
      const run = await (await api.system('GET', `/runs/${runId}`)).json();
      if (run.nodes.some((n: any) => n.node === 'a' && n.status === 'running')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const t0 = Date.now();
    const cancelled = await api.system('POST', `/runs/${runId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect((await cancelled.json()).status).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(2000);
    const events = await readEvents(runId);
    expect(events.at(-1).type).toBe('run.cancelled');
    expect(events.some((e) => e.node === 'b')).toBe(false);
    expect((await api.system('POST', `/runs/${runId}/cancel`)).status).toBe(409);
  });

  it('lists runs with filters and a cursor; bad queries are 400', async () => {
    await putGraph('listed', { nodes: { a: { function: 'tick' } } });
    for (let i = 0; i < 3; i++) await runAndWait('listed', {});
    const page1 = await (await api.system('GET', '/runs?graph=listed&limit=2')).json();
    expect(page1.runs).toHaveLength(2);
    expect(page1.next).toBeTruthy();
    const page2 = await (await api.system('GET', `/runs?graph=listed&limit=2&cursor=${page1.next}`)).json();
    expect(page2.runs).toHaveLength(1);
    expect(page2.next).toBeNull();
    const ids = [...page1.runs, ...page2.runs].map((r: any) => r.runId);
    expect(new Set(ids).size).toBe(3);
    const failed = await (await api.system('GET', '/runs?status=failed')).json();
    expect(failed.runs.every((r: any) => r.status === 'failed')).toBe(true);
    expect((await api.system('GET', '/runs?status=weird')).status).toBe(400);
    expect((await api.system('GET', '/runs?limit=0')).status).toBe(400);
    expect((await api.system('GET', '/runs?cursor=garbage')).status).toBe(400);
    expect((await api.system('GET', '/runs/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await api.system('POST', '/graphs/nope/runs', { input: {} })).status).toBe(404);
    const badInput = await api.system('POST', '/graphs/demo/runs', { input: { name: 3 } });
    expect(badInput.status).toBe(400);
    expect((await badInput.json()).error.message).toContain('input.name');
  });
});

