/**
 * Retrying an async call never queues it twice: `Idempotency-Key` (bare or quoted) and a caller's own `X-Call-Id`
 * make a repeat of the same request answer 202 with the first call's id and queue nothing; a key or id reused
 * for a different request is a 409; bad keys are a 400 naming the header. Also the half-closed caller whose
 * first answer was lost (it retries). Machine NATS, one platform for the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from './harness.ts';
import { deploy, enqueue, runCleanups, setup, sleep, status, type CallbackReceiver } from './async-support.ts';
import { rawRequest } from './hostile-support.ts';

let api: Api;
let cb: CallbackReceiver;

beforeAll(async () => {
  ({ api, cb } = await setup());
  await deploy(api, 'echo', {}, 'echo');
}, 120_000);
afterAll(runCleanups);

/** Waits for `callId`'s callback, then a little longer, and returns how many arrived. */
async function deliveries(callId: string): Promise<number> {
  await cb.until(() => cb.of(callId).length >= 1);
  await sleep(400);
  return cb.of(callId).length;
}

describe('Idempotency-Key', () => {
  it('answers a repeat with the first call id and queues nothing; the quoted form is the same key', async () => {
    const headers = { 'idempotency-key': 'order-42:attempt', 'x-callback-url': cb.url, 'content-type': 'text/plain' };
    const first = await enqueue(api, 'echo/path?q=1', { body: 'pay once', headers });
    expect(first.res.status).toBe(202);
    expect(first.res.headers.get('idempotent-replayed')).toBeNull();
    const again = await enqueue(api, 'echo/path?q=1', { body: 'pay once', headers });
    const quoted = await enqueue(api, 'echo/path?q=1', { body: 'pay once', headers: { ...headers, 'idempotency-key': '"order-42:attempt"' } });
    for (const r of [again, quoted]) {
      expect(r.res.status).toBe(202);
      expect(r.callId).toBe(first.callId);
      expect(r.res.headers.get('idempotent-replayed')).toBe('true');
    }
    expect(await deliveries(first.callId)).toBe(1);
    expect(await status(api, first.callId)).toMatchObject({ state: 'succeeded', attempts: 1 });
    // After the call finished, too: the key is remembered as long as the call's status.
    const late = await enqueue(api, 'echo/path?q=1', { body: 'pay once', headers });
    expect([late.res.status, late.callId]).toEqual([202, first.callId]);
    await sleep(300);
    expect(cb.of(first.callId)).toHaveLength(1);
  });

  it('is a 409 naming the header when the key comes back with another request', async () => {
    const headers = { 'idempotency-key': 'reused-key', 'x-callback-url': cb.url };
    const first = await enqueue(api, 'echo', { body: 'one', headers });
    expect(first.res.status).toBe(202);
    for (const other of [{ path: 'echo', body: 'two' }, { path: 'echo/other', body: 'one' }, { path: 'echo?x=1', body: 'one' }]) {
      const r = await enqueue(api, other.path, { body: other.body, headers });
      expect(r.res.status).toBe(409);
      expect((await r.res.json()).error.message).toContain('Idempotency-Key "reused-key" was used for a different request');
    }
    expect(await deliveries(first.callId)).toBe(1);
  });

  it('keeps the first call id even when a retry sends another X-Call-Id', async () => {
    const first = await enqueue(api, 'echo', { body: 'k', headers: { 'idempotency-key': 'key-with-ids', 'x-call-id': 'first-id', 'x-callback-url': cb.url } });
    const retry = await enqueue(api, 'echo', { body: 'k', headers: { 'idempotency-key': 'key-with-ids', 'x-call-id': 'second-id', 'x-callback-url': cb.url } });
    expect([first.callId, retry.callId, retry.res.status]).toEqual(['first-id', 'first-id', 202]);
    expect(await deliveries('first-id')).toBe(1);
    expect((await api.system('GET', '/async-function/status/second-id')).status).toBe(404);
  });

  it('queues one call for concurrent requests with the same key', async () => {
    const headers = { 'idempotency-key': 'burst-1', 'x-callback-url': cb.url };
    const all = await Promise.all(Array.from({ length: 10 }, () => enqueue(api, 'echo', { body: 'burst', headers })));
    expect(all.map((r) => r.res.status)).toEqual(Array(10).fill(202));
    expect(new Set(all.map((r) => r.callId)).size).toBe(1);
    expect(all.filter((r) => r.res.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    expect(await deliveries(all[0].callId)).toBe(1);
  });

  it('rejects malformed keys with a 400 naming the header', async () => {
    for (const bad of ['', 'has space', 'k'.repeat(256), 'a,b', '""', '"unterminated', 'cl\u00e9', 'a;b']) {
      const r = await enqueue(api, 'echo', { body: 'x', headers: { 'idempotency-key': bad } });
      expect(r.res.status, bad).toBe(400);
      expect((await r.res.json()).error.message).toContain('Idempotency-Key');
    }
    expect((await enqueue(api, 'echo', { body: 'x', headers: { 'idempotency-key': 'k'.repeat(255) } })).res.status).toBe(202);
  });
});

describe('a caller-chosen X-Call-Id', () => {
  it('answers a repeat of the same request with the same call; another request with that id is a 409', async () => {
    const headers = { 'x-call-id': 'my-call-7', 'x-callback-url': cb.url };
    const first = await enqueue(api, 'echo', { body: 'same', headers });
    const again = await enqueue(api, 'echo', { body: 'same', headers });
    expect([first.res.status, again.res.status, again.callId]).toEqual([202, 202, 'my-call-7']);
    expect(again.res.headers.get('idempotent-replayed')).toBe('true');
    const other = await enqueue(api, 'echo', { body: 'different', headers });
    expect(other.res.status).toBe(409);
    expect((await other.res.json()).error.message).toContain('X-Call-Id');
    expect(await deliveries('my-call-7')).toBe(1);
  });
});

describe('a caller that half-closed and lost nothing', () => {
  it('gets its call id at once, and its retry with the key queues nothing more', async () => {
    const port = Number(new URL(api.url).port);
    const req = { method: 'POST', path: '/async-function/echo', headers: { 'idempotency-key': 'half-closed-1', 'x-callback-url': cb.url }, body: 'once', halfClose: true };
    const first = await rawRequest(port, req);
    expect(first.status, first.error).toBe(202);
    const retry = await rawRequest(port, req);
    expect([retry.status, retry.headers['x-call-id']]).toEqual([202, first.headers['x-call-id']]);
    expect(await deliveries(first.headers['x-call-id'])).toBe(1);
  });
});

