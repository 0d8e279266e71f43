/**
 * Deep and huge JSON against a real gateway: every document the API accepts is bounded before anything
 * recursive reads it, and graph input schemas are compiled at deploy time. Each case is a 400 (or 413)
 * naming the field, never a 500, and never a graph that is accepted and then fails on every run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, uniqueName, type Api } from './harness.ts';

let api: Api;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ api, stop } = await startPlatform({ natsPrefix: uniqueName('bounds') }));
  for (const fn of ['tick', 'greet', 'deep-output']) {
    const res = await api.deploy(fn, fn);
    expect(res.status, await res.clone().text()).toBe(202);
  }
}, 120_000);
afterAll(() => stop?.());

/** `{"a":{"a":...1}}`, `levels` deep, as text (JSON.stringify itself overflows a few thousand levels down). */
const deepJson = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
/** An object schema nesting `levels` object schemas. */
const deepSchemaJson = (levels: number) => `${'{"type":"object","properties":{"a":'.repeat(levels)}{"type":"string"}${'}}'.repeat(levels)}`;

function send(method: string, path: string, text: string): Promise<Response> {
  return fetch(api.url + path, { method, headers: { authorization: api.auth, 'content-type': 'application/json' }, body: text });
}

async function expectError(res: Response, status: number, message: string | RegExp): Promise<void> {
  const body = await res.json();
  expect(res.status, JSON.stringify(body).slice(0, 300)).toBe(status);
  if (typeof message === 'string') expect(body.error.message).toBe(message);
  else expect(body.error.message).toMatch(message);
}

const node = '"nodes":{"a":{"function":"tick"}}';

describe('graph definitions', () => {
  it('refuses an input schema nested 3,000 levels deep at deploy, naming the field', async () => {
    const name = uniqueName('deep').replace(/_/g, '-');
    await expectError(await send('PUT', `/system/graphs/${name}`, `{"input":${deepSchemaJson(3000)},${node}}`), 400, 'field "input" is nested deeper than 64 levels');
    expect((await api.system('GET', `/system/graphs/${name}`)).status).toBe(404);
  });

  it('refuses an input schema with thousands of properties (AJV would overflow compiling it)', async () => {
    const properties = Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`p${i}`, { type: 'string' }]));
    await expectError(await api.system('PUT', '/system/graphs/wide', { input: { type: 'object', properties }, nodes: { a: { function: 'tick' } } }), 400, 'field "input" has more than 1000 keys and items in all');
  });

  it('compiles the input schema at deploy: a schema AJV refuses is a 400 at PUT, not a 500 at every run', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ type: 'nope' }, /^field "input" is not a JSON Schema Spindle can use: schema is invalid/],
      [{ $ref: 'http://example.com/other.json' }, /^field "input" is not a JSON Schema Spindle can use: can't resolve reference/],
      [{ $ref: '#' }, /^field "input" refers to itself without end/],
      [{ $async: true, type: 'object' }, /"\$async"/],
    ];
    for (const [input, message] of cases) {
      await expectError(await api.system('PUT', '/system/graphs/uncompilable', { input, nodes: { a: { function: 'tick' } } }), 400, message);
    }
    expect((await api.system('GET', '/system/graphs/uncompilable')).status).toBe(404);
  });

  it('names a deep node input, and bounds what the schema does not describe', async () => {
    await expectError(await send('PUT', '/system/graphs/deep-node', `{"nodes":{"a":{"function":"tick","input":${deepJson(10_000)}}}}`), 400, 'field "nodes.a.input" is nested deeper than 64 levels');
    await expectError(await send('PUT', '/system/graphs/deep-example', `{"example":${deepJson(10_000)},${node}}`), 400, 'field "example" is nested deeper than 64 levels');
  });

  it('fails a node whose function answers JSON deeper than the bounds, with a message saying so', async () => {
    await api.waitReplicas('deep-output', 1);
    expect((await api.system('PUT', '/system/graphs/deep-out', { nodes: { a: { function: 'deep-output' } } })).status).toBe(201);
    const shallow = await api.system('POST', '/graphs/deep-out/runs?wait=true', { input: { levels: 10 } });
    expect(shallow.status).toBe(200);
    const res = await api.system('POST', '/graphs/deep-out/runs?wait=true&timeout=30', { input: { levels: 20_000 } });
    const run = await res.json();
    expect(run.status).toBe('failed');
    expect(run.error).toBe('node "a" failed after 1 attempt: output field "a" is nested deeper than 64 levels');
  });

  it('still deploys and runs a graph with an input schema', async () => {
    const definition = { input: { type: 'object', required: ['ticks'], properties: { ticks: { type: 'integer' } } }, nodes: { a: { function: 'tick' } } };
    expect((await api.system('PUT', '/system/graphs/typed', definition)).status).toBe(201);
    await expectError(await api.system('POST', '/graphs/typed/runs', { input: {} }), 400, 'field "input.ticks" is required');
    const res = await api.system('POST', '/graphs/typed/runs?wait=true', { input: { ticks: 1 } });
    expect(res.status).toBe(200);
    expect((await res.json()).output).toEqual({ ticks: 2 });
  });
});

describe('run inputs and other bodies', () => {
  it('refuses a deep run input with a 400 naming "input"', async () => {
    expect((await api.system('PUT', '/system/graphs/open', { nodes: { a: { function: 'tick' } } })).status).toBe(201);
    await expectError(await send('POST', '/graphs/open/runs', `{"input":${deepJson(10_000)}}`), 400, 'field "input" is nested deeper than 64 levels');
    await expectError(await send('POST', '/graphs/open/runs', `{"input":${deepJson(65)}}`), 400, 'field "input" is nested deeper than 64 levels');
    expect((await send('POST', '/graphs/open/runs', `{"input":${deepJson(60)}}`)).status).toBe(202);
  });

  it('refuses a huge number of keys: 400 within the body limit, 413 past it', async () => {
    await expectError(await send('POST', '/graphs/open/runs', `{"input":[${new Array(150_000).fill(0).join(',')}]}`), 400, 'request body has more than 100000 keys and items in all');
    await expectError(await send('POST', '/graphs/open/runs', `{"input":[${new Array(600_000).fill(0).join(',')}]}`), 413, /too large/);
  });

  it('bounds deploy requests: a deep field (known or not) is a 400 naming it', async () => {
    const base = `"service":"deep-fn","image":"bundle://sha256:${'0'.repeat(64)}"`;
    await expectError(await send('POST', '/system/functions', `{${base},"labels":${deepJson(10_000)}}`), 400, 'field "labels" is nested deeper than 64 levels');
    await expectError(await send('POST', '/system/functions', `{${base},"extra":${deepJson(10_000)}}`), 400, 'field "extra" is nested deeper than 64 levels');
    await expectError(await send('POST', '/system/scale-function/tick', `{"replicas":1,"x":${deepJson(10_000)}}`), 400, 'field "x" is nested deeper than 64 levels');
  });

  it('a replica bounds a JSON function input before its schema reads it', async () => {
    await api.waitReplicas('greet', 1);
    const res = await api.invoke('greet', { body: `{"name":"Ada","x":${deepJson(10_000)}}`, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ code: 'SPINDLE_INVALID_INPUT', field: 'x', message: 'field "x" is nested deeper than 64 levels' });
  });
});
