/**
 * `/system/graphs` and the runs API through `app.inject()`: definition validation (400 naming node and
 * field), input schemas compiled at deploy, bounded bodies, and the checks on `/runs` queries and run
 * starts. No run is started here (a run would call functions); tests/graphs.test.ts runs graphs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { injectPlatform, type InjectedPlatform } from './inject-support.ts';

let p: InjectedPlatform;
beforeAll(async () => {
  p = await injectPlatform();
  expect((await p.deploy('tick')).statusCode).toBe(202);
});
afterAll(() => p?.close());

const putGraph = (name: string, json: unknown) => p.request({ method: 'PUT', url: `/system/graphs/${name}`, json });
const putText = (name: string, payload: string) => p.request({ method: 'PUT', url: `/system/graphs/${name}`, payload, headers: { 'content-type': 'application/json' } });

function expectError(res: LightMyRequestResponse, status: number, message: string | RegExp): void {
  expect(res.statusCode, res.body.slice(0, 300)).toBe(status);
  if (typeof message === 'string') expect(res.json().error.message).toBe(message);
  else expect(res.json().error.message).toMatch(message);
}

/** `{"a":{"a":...1}}`, `levels` deep, as text. */
const deepJson = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const tick = { nodes: { a: { function: 'tick' } } };

describe('graph definitions', () => {
  it('deploys, lists, describes and removes a graph, counting versions', async () => {
    const created = await putGraph('pair', { nodes: { a: { function: 'tick' }, b: { function: 'tick', needs: ['a'] } } });
    expect([created.statusCode, created.json().version]).toEqual([201, 1]);
    const updated = await putGraph('pair', tick);
    expect([updated.statusCode, updated.json().version]).toEqual([200, 2]);
    expect((await p.request({ method: 'GET', url: '/system/graphs' })).json().map((g: { name: string }) => g.name)).toContain('pair');
    expect((await p.request({ method: 'GET', url: '/system/graphs/pair' })).json()).toMatchObject({ name: 'pair', version: 2, definition: tick });
    expect((await p.request({ method: 'DELETE', url: '/system/graphs/pair' })).statusCode).toBe(204);
    expectError(await p.request({ method: 'GET', url: '/system/graphs/pair' }), 404, 'graph "pair" is not deployed');
    expectError(await p.request({ method: 'DELETE', url: '/system/graphs/pair' }), 404, 'graph "pair" is not deployed');
  });

  it('refuses invalid definitions with 400 naming the node and field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ nodes: { a: { function: 'nope' } } }, /node "a" field "function": function "nope" is not deployed/],
      [{ nodes: { a: { function: 'tick', needs: ['b'] }, b: { function: 'tick', needs: ['a'] } } }, /cycle through nodes "a", "b"/],
      [{ nodes: { a: { function: 'tick', input: { x: '{{ nodes.ghost.output }}' } } } }, /node "a" field "input": .*"ghost"/],
      [{ nodes: { a: { function: 'tick', needs: ['ghost'] } } }, /node "a" field "needs": names node "ghost"/],
      [{ nodes: { a: { function: 'tick', input: { x: '{{ outputs.a }}' } } } }, /node "a" field "input": .*not a path/],
      [{ nodes: { a: { function: 'tick', when: 'nodes.a.output.x ~ 3' } } }, /node "a" field "when"/],
      [{ nodes: { a: { function: 'tick', colour: 'red' } } }, /field "nodes.a.colour" is not a known field/],
      [{ nodes: {} }, /nodes/],
      [{}, /nodes/],
      [{ nodes: { a: { function: 'tick', retry: { attempts: 0 } } } }, /nodes.a.retry.attempts/],
    ];
    for (const [definition, message] of cases) expectError(await putGraph('bad', definition), 400, message);
    expectError(await putGraph('Bad_Name', tick), 400, /^graph name "Bad_Name" is invalid/);
    expectError(await p.request({ method: 'GET', url: '/system/graphs/Bad_Name' }), 400, /^graph name "Bad_Name" is invalid/);
    expectError(await p.request({ method: 'GET', url: '/system/graphs/bad' }), 404, 'graph "bad" is not deployed');
  });

  it('compiles and bounds the input schema at deploy', async () => {
    const node = '"nodes":{"a":{"function":"tick"}}';
    expectError(await putText('deep', `{"input":${'{"type":"object","properties":{"a":'.repeat(3000)}{"type":"string"}${'}}'.repeat(3000)},${node}}`), 400, 'field "input" is nested deeper than 64 levels');
    expectError(await putText('deep', `{"nodes":{"a":{"function":"tick","input":${deepJson(10_000)}}}}`), 400, 'field "nodes.a.input" is nested deeper than 64 levels');
    expectError(await putText('deep', `{"example":${deepJson(10_000)},${node}}`), 400, 'field "example" is nested deeper than 64 levels');
    const properties = Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`p${i}`, { type: 'string' }]));
    expectError(await putGraph('wide', { input: { type: 'object', properties }, ...tick }), 400, 'field "input" has more than 1000 keys and items in all');
    for (const [input, message] of [
      [{ type: 'nope' }, /^field "input" is not a JSON Schema Spindle can use: schema is invalid/],
      [{ $ref: 'http://example.com/other.json' }, /^field "input" is not a JSON Schema Spindle can use: can't resolve reference/],
      [{ $ref: '#' }, /^field "input" refers to itself without end/],
      [{ $async: true, type: 'object' }, /"\$async"/],
    ] as const) {
      expectError(await putGraph('uncompilable', { input, ...tick }), 400, message);
    }
    expect((await p.request({ method: 'GET', url: '/system/graphs' })).json()).toEqual([]);
  });
});

describe('runs', () => {
  beforeAll(async () => {
    const typed = { input: { type: 'object', required: ['ticks'], properties: { ticks: { type: 'integer' } } }, ...tick };
    expect((await putGraph('typed', typed)).statusCode).toBe(201);
  });
  const start = (graph: string, payload: string) => p.request({ method: 'POST', url: `/graphs/${graph}/runs`, payload, headers: { 'content-type': 'application/json' } });

  it('refuses a run start before anything runs: unknown graph 404, bad input 400 naming the field', async () => {
    expectError(await start('nope', '{"input":{}}'), 404, /graph "nope"/);
    expectError(await start('Bad_Name', '{"input":{}}'), 400, /^graph name "Bad_Name" is invalid/);
    expectError(await start('typed', '{"input":{}}'), 400, 'field "input.ticks" is required');
    expectError(await start('typed', '{"input":{"ticks":"3"}}'), 400, /^field "input.ticks" must be integer/);
    expectError(await start('typed', '[1]'), 400, 'request body must be a JSON object: {"input": ...}');
    expectError(await start('typed', `{"input":${deepJson(65)}}`), 400, 'field "input" is nested deeper than 64 levels');
    expectError(await start('typed', `{"input":[${new Array(150_000).fill(0).join(',')}]}`), 400, 'request body has more than 100000 keys and items in all');
    expect((await p.request({ method: 'GET', url: '/runs' })).json()).toEqual({ runs: [], next: null });
  });

  it('checks /runs queries: limit, status, graph and cursor', async () => {
    for (const query of ['limit=0', 'limit=201', 'limit=1.5', 'limit=ten']) expectError(await p.request({ method: 'GET', url: `/runs?${query}` }), 400, 'query "limit" must be a whole number from 1 to 200');
    expectError(await p.request({ method: 'GET', url: '/runs?status=weird' }), 400, 'query "status" must be one of queued, running, succeeded, failed, cancelled');
    expectError(await p.request({ method: 'GET', url: '/runs?cursor=garbage' }), 400, /^query "cursor"/);
    expectError(await p.request({ method: 'GET', url: '/runs?graph=Bad_Name' }), 400, /^graph name "Bad_Name" is invalid/);
    for (const query of ['', 'limit=1', 'limit=200', 'status=failed', 'graph=typed', 'status=queued&graph=typed&limit=5']) {
      const res = await p.request({ method: 'GET', url: `/runs?${query}` });
      expect([res.statusCode, res.json()], query).toEqual([200, { runs: [], next: null }]);
    }
  });

  it('answers 404 for a run that does not exist', async () => {
    const id = '00000000-0000-0000-0000-000000000000';
    for (const [method, url] of [
      ['GET', `/runs/${id}`],
      ['GET', `/runs/${id}/events`],
      ['POST', `/runs/${id}/cancel`],
    ] as const) {
      const res = await p.request({ method, url });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().error.code).toBe('SPINDLE_NOT_FOUND');
    }
  });
});
