/**
 * `/async-function/*` and the async admin routes through `app.inject()`: what an enqueue checks before
 * queueing (name, headers, body size), replays and conflicts of X-Call-Id and Idempotency-Key, and the
 * call-id, status, cancel and dead-letter routes. No queue worker runs, so queued calls stay queued;
 * delivery, retries and callbacks are tests/async.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { injectPlatform, type InjectedPlatform } from './inject-support.ts';

let p: InjectedPlatform;
beforeAll(async () => {
  p = await injectPlatform({ maxBodyBytes: 64 * 1024 });
  expect((await p.deploy('queued')).statusCode).toBe(202);
});
afterAll(() => p?.close());

const enqueue = (target: string, headers: Record<string, string> = {}, payload: string | Buffer = 'x') =>
  p.request({ method: 'POST', url: `/async-function/${target}`, payload, headers, auth: false });

function expectError(res: LightMyRequestResponse, status: number, message: string | RegExp): void {
  expect(res.statusCode, res.body.slice(0, 300)).toBe(status);
  if (typeof message === 'string') expect(res.json().error.message).toBe(message);
  else expect(res.json().error.message).toMatch(message);
}

describe('enqueue', () => {
  it('answers 202 with an X-Call-Id for POST, PUT and PATCH, with a path and a query', async () => {
    for (const method of ['POST', 'PUT', 'PATCH'] as const) {
      const res = await p.request({ method, url: '/async-function/queued/sub/path?q=1', payload: 'x', auth: false });
      expect(res.statusCode, method).toBe(202);
      expect(res.headers['x-call-id']).toMatch(/^[0-9a-f-]{36}$/);
      const view = await p.request({ method: 'GET', url: `/async-function/status/${res.headers['x-call-id']}` });
      expect(view.json()).toMatchObject({ callId: res.headers['x-call-id'], function: 'queued', state: 'queued', attempts: 0 });
    }
    expectError(await p.request({ method: 'GET', url: '/async-function/queued', auth: false }), 404, 'no route for GET /async-function/queued');
  });

  it('refuses bad headers with a 400 naming the header, before queueing', async () => {
    for (const bad of ['ftp://example.com/x', 'not a url', '/relative']) {
      expectError(await enqueue('queued', { 'x-callback-url': bad }), 400, `header "X-Callback-Url" must be an absolute http:// or https:// URL, got "${bad}"`);
    }
    for (const bad of ['a.b', 'a*b', '>', 'x'.repeat(129)]) expectError(await enqueue('queued', { 'x-call-id': bad }), 400, /^header "X-Call-Id" must be 1 to 128 letters/);
    for (const bad of ['a b', '"unterminated', 'x'.repeat(256)]) expectError(await enqueue('queued', { 'idempotency-key': bad }), 400, /^header "Idempotency-Key" must be 1 to 255/);
  });

  it('answers 413 past the invocation body limit, and takes any content type', async () => {
    expectError(await enqueue('queued', { 'content-type': 'application/octet-stream' }, Buffer.alloc(64 * 1024 + 1)), 413, /too large|larger than/);
    for (const type of ['application/octet-stream', 'application/json', 'text/plain', 'application/x-custom']) {
      expect((await enqueue('queued', { 'content-type': type }, Buffer.alloc(64 * 1024))).statusCode, type).toBe(202);
    }
  });

  it('replays a repeated X-Call-Id or Idempotency-Key, and refuses one reused for another request', async () => {
    const first = await enqueue('queued', { 'x-call-id': 'mine-1' }, 'same');
    expect([first.statusCode, first.headers['x-call-id'], first.headers['idempotent-replayed']]).toEqual([202, 'mine-1', undefined]);
    const replay = await enqueue('queued', { 'x-call-id': 'mine-1' }, 'same');
    expect([replay.statusCode, replay.headers['x-call-id'], replay.headers['idempotent-replayed']]).toEqual([202, 'mine-1', 'true']);
    expectError(await enqueue('queued', { 'x-call-id': 'mine-1' }, 'different'), 409, /^X-Call-Id "mine-1" was already used for another call/);

    const keyed = await enqueue('queued', { 'idempotency-key': '"key-1"' }, 'same');
    expect(keyed.statusCode).toBe(202);
    const again = await enqueue('queued', { 'idempotency-key': 'key-1' }, 'same');
    expect([again.statusCode, again.headers['x-call-id'], again.headers['idempotent-replayed']]).toEqual([202, keyed.headers['x-call-id'], 'true']);
    expectError(await enqueue('queued', { 'idempotency-key': 'key-1' }, 'different'), 409, /^Idempotency-Key "key-1" was used for a different request/);
  });

  it('answers 503 with Retry-After for unknown names while the gateway restores its functions', async () => {
    p.platform.functions.restoring = true;
    try {
      const res = await enqueue('not-back-yet');
      expect([res.statusCode, res.headers['retry-after']]).toEqual([503, '1']);
    } finally {
      p.platform.functions.restoring = false;
    }
    expect((await enqueue('not-back-yet')).statusCode).toBe(404);
  });
});

describe('call status, cancel and dead letters', () => {
  it('need basic auth', async () => {
    for (const [method, url] of [
      ['GET', '/async-function/status/x'],
      ['DELETE', '/async-function/x'],
      ['GET', '/system/async/dead-letters'],
      ['POST', '/system/async/dead-letters/x/redrive'],
    ] as const) {
      expect((await p.request({ method, url, auth: false })).statusCode, `${method} ${url}`).toBe(401);
    }
  });

  it('refuse call ids that could not be NATS subject tokens (400), and answer 404 for unknown ones', async () => {
    for (const [method, url] of [
      ['GET', '/async-function/status/'],
      ['DELETE', '/async-function/'],
      ['POST', '/system/async/dead-letters/'],
    ] as const) {
      for (const [bad, shown] of [
        ['%3E', '>'],
        ['*', '*'],
        ['a.b', 'a.b'],
      ]) {
        const target = method === 'POST' ? `${url}${bad}/redrive` : `${url}${bad}`;
        expectError(await p.request({ method, url: target }), 400, `call id "${shown}" is invalid: 1 to 128 letters, digits, "-" or "_"`);
      }
    }
    expectError(await p.request({ method: 'GET', url: '/async-function/status/unknown-call' }), 404, /^async call "unknown-call" is unknown/);
    expect((await p.request({ method: 'DELETE', url: '/async-function/unknown-call' })).statusCode).toBe(404);
    expectError(await p.request({ method: 'POST', url: '/system/async/dead-letters/unknown-call/redrive' }), 404, 'no dead letter for async call "unknown-call"');
  });

  it('cancels a queued call once; a second cancel is a 409', async () => {
    const { headers } = await enqueue('queued', { 'x-call-id': 'to-cancel' });
    expect(headers['x-call-id']).toBe('to-cancel');
    const cancelled = await p.request({ method: 'DELETE', url: '/async-function/to-cancel' });
    expect([cancelled.statusCode, cancelled.json().state]).toEqual([200, 'cancelled']);
    expectError(await p.request({ method: 'DELETE', url: '/async-function/to-cancel' }), 409, 'async call "to-cancel" cannot be cancelled: it is cancelled');
  });

  it('check the dead-letter query: limit 1 to 10000, a function name read like every route reads one', async () => {
    expect((await p.request({ method: 'GET', url: '/system/async/dead-letters' })).json()).toEqual([]);
    expect((await p.request({ method: 'GET', url: '/system/async/dead-letters?function=queued&limit=10000' })).json()).toEqual([]);
    for (const limit of ['0', '10001', '1.5', 'all']) {
      expectError(await p.request({ method: 'GET', url: `/system/async/dead-letters?limit=${limit}` }), 400, `query "limit" must be a whole number from 1 to 10000, got "${limit}"`);
    }
    expectError(await p.request({ method: 'GET', url: '/system/async/dead-letters?function=Bad_Name' }), 400, /^function name "Bad_Name" is invalid/);
    // The function as every route reads it: NAME or NAME.openfaas-fn; another namespace is a 404.
    expect((await p.request({ method: 'GET', url: '/system/async/dead-letters?function=queued.openfaas-fn' })).json()).toEqual([]);
    expectError(await p.request({ method: 'GET', url: '/system/async/dead-letters?function=queued.other' }), 404, /^namespace "other" does not exist/);
  });
});
