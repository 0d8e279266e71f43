/**
 * The LangGraph Platform routes through `app.inject()`: what they refuse before anything runs (422 naming the
 * field, 404 for unknown assistants, threads and runs, 400 for a bad Last-Event-ID, 401 without credentials) and
 * the thread records. No run is started here (a run would call functions); tests/langgraph-sdk.test.ts runs them
 * through the real SDK.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { injectPlatform, type InjectedPlatform } from '../routes/inject-support.ts';

let p: InjectedPlatform;
beforeAll(async () => {
  p = await injectPlatform();
  expect((await p.deploy('tick')).statusCode).toBe(202);
  const graph = { input: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } }, nodes: { a: { function: 'tick' } } };
  expect((await p.request({ method: 'PUT', url: '/system/graphs/one', json: graph })).statusCode).toBe(201);
});
afterAll(() => p?.close());

function expectError(res: LightMyRequestResponse, status: number, message: RegExp): void {
  expect(res.statusCode, res.body.slice(0, 300)).toBe(status);
  expect(res.json().error.message).toMatch(message);
}

const UNKNOWN = '6a0e3f57-8c3c-4d0e-9d6e-6b2b1d3a4c5e';

describe('LangGraph Platform routes', () => {
  it('refuse run requests before anything runs, naming the field', async () => {
    const run = (json: unknown, url = '/runs') => p.request({ method: 'POST', url, json });
    expectError(await run({}), 422, /field "assistant_id" is required/);
    expectError(await run({ assistant_id: 'nope' }), 404, /assistant "nope" not found/);
    expectError(await run({ assistant_id: 'one', input: {} }), 422, /field "input.name" is required/);
    expectError(await run({ assistant_id: 'one', input: { name: 'Ada' }, stream_mode: ['values', 'tasks'] }), 422, /field "stream_mode.1" must be one of/);
    expectError(await run({ assistant_id: 'one', input: { name: 'Ada' }, command: { resume: 1 } }), 422, /field "command" is not supported/);
    expectError(await run({ assistant_id: 'one', input: { name: 'Ada' }, multitask_strategy: 'enqueue' }), 422, /field "multitask_strategy"/);
    expectError(await run({ assistant_id: 'one', input: { name: 'A\u0000da' } }), 422, /NUL/);
    expectError(await run({ assistant_id: 'one', input: { name: 'Ada' } }, `/threads/${UNKNOWN}/runs/wait`), 404, /thread .* not found/);
    expectError(await run({ assistant_id: 'one', input: { name: 'Ada' }, if_not_exists: 'create' }, '/threads/not-a-uuid/runs'), 422, /UUID/);
    expectError(await p.request({ method: 'POST', url: '/runs', payload: '[1]', headers: { 'content-type': 'application/json' } }), 422, /JSON object/);
  });

  it('answer 404 for unknown threads and runs, 400 for a bad Last-Event-ID, 422 for a bad query', async () => {
    for (const url of [`/threads/${UNKNOWN}`, '/threads/not-a-uuid', `/threads/${UNKNOWN}/state`, `/threads/${UNKNOWN}/runs`, `/threads/${UNKNOWN}/runs/${UNKNOWN}`, `/runs/${UNKNOWN}/stream`, '/runs/not-a-uuid/stream', `/runs/${'-'.repeat(36)}/stream`]) {
      expectError(await p.request({ method: 'GET', url }), 404, /not found/);
    }
    expectError(await p.request({ method: 'POST', url: `/threads/${UNKNOWN}/history`, json: {} }), 404, /not found/);
    expectError(await p.request({ method: 'POST', url: `/threads/${UNKNOWN}/history`, json: { limit: 0 } }), 422, /field "limit"/);
    expectError(await p.request({ method: 'GET', url: '/assistants/nope/graph' }), 404, /assistant "nope" not found/);
    const thread = (await p.request({ method: 'POST', url: '/threads', json: {} })).json();
    expectError(await p.request({ method: 'GET', url: `/threads/${thread.thread_id}/runs?limit=0` }), 422, /query "limit"/);
    expectError(await p.request({ method: 'GET', url: `/threads/${thread.thread_id}/runs?status=done` }), 422, /query "status"/);
  });

  it('keep thread records: create (409 on a taken id unless if_exists do_nothing), search by metadata, patch, delete', async () => {
    const created = await p.request({ method: 'POST', url: '/threads', json: { thread_id: UNKNOWN.replace('6a', '7a'), metadata: { team: 'x' } } });
    expect(created.statusCode).toBe(200);
    const t = created.json();
    expect(t).toMatchObject({ status: 'idle', metadata: { team: 'x' }, values: {} });
    expectError(await p.request({ method: 'POST', url: '/threads', json: { thread_id: t.thread_id } }), 409, /already exists/);
    expect((await p.request({ method: 'POST', url: '/threads', json: { thread_id: t.thread_id, if_exists: 'do_nothing' } })).json().thread_id).toBe(t.thread_id);
    expectError(await p.request({ method: 'POST', url: '/threads', json: { thread_id: 'x' } }), 422, /field "thread_id"/);
    expectError(await p.request({ method: 'POST', url: '/threads', json: { metadata: { a: 'x\u0000' } } }), 422, /NUL/);
    const found = (await p.request({ method: 'POST', url: '/threads/search', json: { metadata: { team: 'x' } } })).json();
    expect(found.map((f: { thread_id: string }) => f.thread_id)).toEqual([t.thread_id]);
    expect((await p.request({ method: 'PATCH', url: `/threads/${t.thread_id}`, json: { metadata: { more: 1 } } })).json().metadata).toEqual({ team: 'x', more: 1 });
    expect((await p.request({ method: 'DELETE', url: `/threads/${t.thread_id}` })).statusCode).toBe(204);
    expect((await p.request({ method: 'GET', url: `/threads/${t.thread_id}` })).statusCode).toBe(404);
  });

  it('need the admin credentials: basic, bearer or x-api-key', async () => {
    expect((await p.request({ method: 'POST', url: '/assistants/search', json: {}, auth: false })).statusCode).toBe(401);
    expect((await p.request({ method: 'POST', url: '/assistants/search', json: {}, auth: false, headers: { 'x-api-key': 'wrong' } })).statusCode).toBe(401);
    const ok = await p.request({ method: 'POST', url: '/assistants/search', json: {}, auth: false, headers: { 'x-api-key': 'route-test-password' } });
    expect(ok.json().map((a: { graph_id: string }) => a.graph_id)).toEqual(['one']);
    expect((await p.request({ method: 'GET', url: '/assistants/one/schemas', auth: false, headers: { authorization: 'Bearer route-test-password' } })).json().input_schema.required).toEqual(['name']);
  });
});
