/**
 * Async invocations against the machine's NATS JetStream and real replicas: 202 + callback, binary and large
 * bodies, bad input, retries and Retry-After, dead letters and redrive, max_inflight, heartbeats past the ack
 * wait, cancel, callback retries, metrics; NATS going away; a standalone `spindle queue-worker`; the CLI; and
 * 1,000 calls surviving a kill -9 of the gateway. Every test has its own NATS prefix and database schema.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ANNOTATIONS } from '@spindle/schemas';
import { Api, ROOT, run, spawnUntil } from './harness.ts';
import { cleanups, deploy, dropSchema, dropStreams, enqueue, fast, freePort, NatsServer, postExpecting100, runCleanups, setup, sleep, stats, status, streamsOf } from './async-support.ts';

afterEach(runCleanups);

describe('async invocations', () => {
  it('answers 202 with X-Call-Id at once, then POSTs the result to X-Callback-Url with OpenFaaS headers', async () => {
    const { api, cb } = await setup();
    await deploy(api, 'flaky');
    const body = Buffer.from([0, 1, 2, 250, 255, 10, 13, 0]);
    const t0 = Date.now();
    const { res, callId } = await enqueue(api, 'flaky.openfaas-fn/sub/path?ms=600&x=1', { body, headers: { 'content-type': 'application/x-custom', 'x-callback-url': cb.url } });
    expect(res.status).toBe(202);
    expect(callId).toMatch(/^[0-9a-f-]{36}$/);
    // Accepted before the function (600 ms) could have answered.
    expect(cb.of(callId)).toHaveLength(0);
    expect(['queued', 'running']).toContain((await status(api, callId)).state);
    await cb.until(() => cb.of(callId).length === 1);
    const [d] = cb.of(callId);
    expect(d.at - t0).toBeGreaterThanOrEqual(600);
    expect(d.headers).toMatchObject({ 'x-function-status': '200', 'x-function-name': 'flaky', 'content-type': 'application/x-custom', 'x-retry': '0', 'x-retry-max': '9' });
    expect(Number(d.headers['x-duration-seconds'])).toBeGreaterThanOrEqual(0.6);
    expect(Buffer.compare(d.body, body)).toBe(0);
    const s = await status(api, callId);
    expect(s).toMatchObject({ callId, function: 'flaky', state: 'succeeded', attempts: 1, result: { status: 200, bodyEncoding: 'base64' } });
    expect(s.result.headers).toMatchObject({ 'x-method': 'POST', 'x-path': '/sub/path', 'x-query': 'ms=600&x=1' });
    expect(Buffer.from(s.result.body, 'base64')).toEqual(body);
    // curl sends `Expect: 100-continue` with bodies over 1 KiB; the gateway answers it, the function never sees it.
    const curlish = await postExpecting100(`${api.url}/async-function/flaky`, Buffer.alloc(2048, 7), { 'x-callback-url': cb.url });
    expect(curlish.status).toBe(202);
    await cb.until(() => cb.of(curlish.callId).length === 1);
    expect(cb.of(curlish.callId)[0].headers['x-function-status']).toBe('200');
  });

  it('carries bodies larger than a NATS message (through the object store), both ways', async () => {
    const { api, cb } = await setup();
    await deploy(api, 'echo', {}, 'echo');
    const body = randomBytes(3 * 1024 * 1024);
    const { res, callId } = await enqueue(api, 'echo', { body, headers: { 'content-type': 'application/octet-stream', 'x-callback-url': cb.url } });
    expect(res.status).toBe(202);
    await cb.until(() => cb.of(callId).length === 1);
    expect(Buffer.compare(cb.of(callId)[0].body, body)).toBe(0);
    const s = await status(api, callId);
    expect(s.result.size).toBe(body.length);
    expect(Buffer.compare(Buffer.from(s.result.body, 'base64'), body)).toBe(0);
  });

  it('rejects bad input: unknown function 404, invalid name, oversized body, bad headers, reused call id', async () => {
    const { p, api, cb } = await setup();
    await deploy(api, 'flaky');
    // Nothing queued yet: nothing in NATS either, and the read routes say so.
    expect((await api.system('GET', '/async-function/status/none-yet')).status).toBe(404);
    expect(await (await api.system('GET', '/system/async/dead-letters')).json()).toEqual([]);
    expect(await streamsOf(p.platform.config.natsUrl, p.natsPrefix)).toEqual([]);
    const unknown = await enqueue(api, 'nope', { body: 'x' });
    expect(unknown.res.status).toBe(404);
    expect((await unknown.res.json()).error.message).toContain('"nope" is not deployed');
    expect((await enqueue(api, 'Bad_Name', { body: 'x' })).res.status).toBe(400);
    expect((await enqueue(api, 'flaky', { body: Buffer.alloc(4 * 1024 * 1024 + 1) })).res.status).toBe(413);
    for (const bad of ['ftp://example.com/x', 'not a url', '/relative']) {
      const r = await enqueue(api, 'flaky', { body: 'x', headers: { 'x-callback-url': bad } });
      expect(r.res.status).toBe(400);
      expect((await r.res.json()).error.message).toContain('X-Callback-Url');
    }
    const badId = await enqueue(api, 'flaky', { body: 'x', headers: { 'x-call-id': 'a.b' } });
    expect(badId.res.status).toBe(400);
    expect((await badId.res.json()).error.message).toContain('X-Call-Id');
    const first = await enqueue(api, 'flaky', { body: 'x', headers: { 'x-call-id': 'mine-1', 'x-callback-url': cb.url } });
    expect([first.res.status, first.callId]).toEqual([202, 'mine-1']);
    expect(await streamsOf(p.platform.config.natsUrl, p.natsPrefix)).toEqual([`${p.natsPrefix}_ASYNC`, `${p.natsPrefix}_ASYNC_DEAD`, `${p.natsPrefix}_ASYNC_STATUS`]);
    expect((await enqueue(api, 'flaky', { body: 'x', headers: { 'x-call-id': 'mine-1' } })).res.status).toBe(409);
    await cb.until(() => cb.of('mine-1').length === 1);
    expect((await fetch(`${api.url}/async-function/status/mine-1`)).status).toBe(401);
    expect((await fetch(`${api.url}/system/async/dead-letters`)).status).toBe(401);
    expect((await api.system('GET', '/async-function/status/unknown-call')).status).toBe(404);
    expect((await api.system('DELETE', '/async-function/unknown-call')).status).toBe(404);
    // Call ids become NATS subject tokens: no wildcards, no dots.
    for (const bad of ['%3E', '*', 'a.b']) expect((await api.system('GET', `/async-function/status/${bad}`)).status).toBe(400);
    expect((await api.system('POST', '/system/async/dead-letters/unknown-call/redrive')).status).toBe(404);
  });

  it('retries 408/429/5xx with backoff, honours Retry-After, and tells the callback X-Retry / X-Retry-Max', async () => {
    const { api, cb } = await setup();
    await deploy(api, 'flaky', fast(4));
    const { callId } = await enqueue(api, 'flaky?fail=2&status=503', { body: 'ok', headers: { 'x-callback-url': cb.url } });
    const t0 = Date.now();
    const { callId: limited } = await enqueue(api, 'flaky?fail=1&status=429&retryAfter=1', { body: 'later', headers: { 'x-callback-url': cb.url } });
    await cb.until(() => cb.of(callId).length === 1 && cb.of(limited).length === 1);
    expect(cb.of(callId)[0].headers).toMatchObject({ 'x-function-status': '200', 'x-retry': '2', 'x-retry-max': '3' });
    expect(cb.of(callId)[0].body.toString()).toBe('ok');
    expect(await status(api, callId)).toMatchObject({ state: 'succeeded', attempts: 3, maxAttempts: 4 });
    // min_wait is 50 ms: only Retry-After explains a second attempt a second later.
    expect(cb.of(limited)[0].at - t0).toBeGreaterThanOrEqual(1000);
    expect(cb.of(limited)[0].headers['x-retry']).toBe('1');
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(/spindle_async_retries_total\{function_name="flaky.openfaas-fn"\} 3/);
    expect(metrics).toMatch(/gateway_function_invocation_started\{function_name="flaky.openfaas-fn"\} 5/);
    expect(metrics).toMatch(/spindle_async_queue_depth\{function_name="flaky.openfaas-fn"\} 0/);
  });

  it('delivers the final failure to the callback, dead-letters the call, and redrives it', async () => {
    const { api, cb } = await setup();
    await deploy(api, 'flaky', fast(2));
    const { callId } = await enqueue(api, 'flaky?fail=3&status=500', { body: 'payload', headers: { 'x-callback-url': cb.url, 'content-type': 'text/plain' } });
    const { callId: rejected } = await enqueue(api, 'flaky?fail=9&status=400', { body: 'bad', headers: { 'x-callback-url': cb.url } });
    await cb.until(() => cb.of(callId).length === 1 && cb.of(rejected).length === 1);
    expect(cb.of(callId)[0].headers).toMatchObject({ 'x-function-status': '500', 'x-retry': '1', 'x-retry-max': '1' });
    expect(cb.of(callId)[0].body.toString()).toBe('attempt 2 failed');
    // 400 is not a retried code: one attempt.
    expect(cb.of(rejected)[0].headers).toMatchObject({ 'x-function-status': '400', 'x-retry': '0' });
    expect(await status(api, callId)).toMatchObject({ state: 'failed', attempts: 2, lastStatus: 500, result: { status: 500, body: 'attempt 2 failed' } });
    const dead = await (await api.system('GET', '/system/async/dead-letters?function=flaky')).json();
    expect(dead.map((d: { callId: string }) => d.callId).sort()).toEqual([callId, rejected].sort());
    expect(dead.find((d: { callId: string }) => d.callId === callId)).toMatchObject({ function: 'flaky', status: 500, attempts: 2, bodySize: 7 });
    expect(await (await api.system('GET', '/system/async/dead-letters?function=other')).json()).toEqual([]);
    expect(await (await fetch(`${api.url}/metrics`)).text()).toMatch(/spindle_async_dead_letters_total\{function_name="flaky.openfaas-fn"\} 2/);

    // The replica counts attempts per call id: the redriven call fails once more (attempt 3), then succeeds.
    const redrive = await api.system('POST', `/system/async/dead-letters/${callId}/redrive`);
    expect(redrive.status).toBe(202);
    await cb.until(() => cb.of(callId).length === 2);
    expect(cb.of(callId)[1].headers).toMatchObject({ 'x-function-status': '200', 'x-retry': '1' });
    expect(cb.of(callId)[1].body.toString()).toBe('payload');
    expect(await status(api, callId)).toMatchObject({ state: 'succeeded', attempts: 2 });
    const left = await (await api.system('GET', '/system/async/dead-letters')).json();
    expect(left.map((d: { callId: string }) => d.callId)).toEqual([rejected]);
  });

  it('keeps at most max_inflight calls of a function running at once', async () => {
    const { api, cb } = await setup();
    await deploy(api, 'flaky', { [ANNOTATIONS.maxInflight]: '2' });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await enqueue(api, 'flaky?ms=150', { body: String(i), headers: { 'x-callback-url': cb.url } })).callId);
    await cb.until(() => ids.every((id) => cb.of(id).length === 1));
    expect((await stats(api, 'flaky')).maxRunning).toBe(2);
  });

  it('heartbeats a call that runs past the ack wait, so it is not delivered twice', async () => {
    const { api, cb } = await setup({ asyncAckWaitMs: 1000 });
    await deploy(api, 'flaky', { 'com.openfaas.timeout': '10s' });
    const { callId } = await enqueue(api, 'flaky?ms=3000', { body: 'long', headers: { 'x-callback-url': cb.url } });
    await cb.until(() => cb.of(callId).length === 1, 10_000);
    await sleep(1200);
    expect(cb.of(callId)).toHaveLength(1);
    expect((await stats(api, 'flaky')).attempts[callId]).toBe(1);
    expect(await status(api, callId)).toMatchObject({ state: 'succeeded', attempts: 1 });
  });

  it('cancels a call that has not started; 409 once it has', async () => {
    const { api, cb } = await setup();
    await deploy(api, 'flaky', { [ANNOTATIONS.maxInflight]: '1' });
    const { callId: running } = await enqueue(api, 'flaky?ms=1000', { body: 'a', headers: { 'x-callback-url': cb.url } });
    const { callId: waiting } = await enqueue(api, 'flaky', { body: 'b', headers: { 'x-callback-url': cb.url } });
    while ((await status(api, running)).state !== 'running') await sleep(20);
    expect(await status(api, waiting)).toMatchObject({ state: 'queued', attempts: 0 });
    const cancelled = await api.system('DELETE', `/async-function/${waiting}`);
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toMatchObject({ callId: waiting, state: 'cancelled' });
    const busy = await api.system('DELETE', `/async-function/${running}`);
    expect(busy.status).toBe(409);
    expect((await busy.json()).error.message).toContain('running');
    await cb.until(() => cb.of(running).length === 1);
    await sleep(300);
    expect(cb.of(waiting)).toHaveLength(0);
    expect((await stats(api, 'flaky')).attempts[waiting]).toBeUndefined();
    expect((await api.system('DELETE', `/async-function/${waiting}`)).status).toBe(409);
  });

  it('retries a failing callback (bounded) until the receiver takes it', async () => {
    const { api, cb } = await setup();
    await deploy(api, 'flaky');
    cb.failNext(2, 502);
    const { callId } = await enqueue(api, 'flaky', { body: 'third time', headers: { 'x-callback-url': cb.url } });
    await cb.until(() => cb.of(callId).length === 1);
    expect(cb.of(callId)[0].body.toString()).toBe('third time');
    expect((await status(api, callId)).callbackError).toBeUndefined();
  });
});

describe('async durability and deployment', () => {
  it('answers async calls with 503 naming NATS while NATS is down, keeps serving sync calls, and recovers by itself', async () => {
    // The gateway starts before its NATS does, then loses it (kill -9) and gets it back on the same port.
    const nats = new NatsServer();
    nats.port = await freePort();
    cleanups.push(() => nats.kill());
    const { api, cb } = await setup({ natsUrl: nats.url });
    await deploy(api, 'flaky');
    const outage = async () => {
      let down = (await enqueue(api, 'flaky', { body: 'x' })).res;
      for (let i = 0; down.status !== 503; i++) {
        expect(i, 'async calls should fail while NATS is gone').toBeLessThan(100);
        await sleep(50);
        down = (await enqueue(api, 'flaky', { body: 'x' })).res;
      }
      expect((await down.json()).error.message).toMatch(/NATS.*nats:\/\/127\.0\.0\.1/);
      expect((await api.system('GET', '/async-function/status/some-call')).status).toBe(503);
      const sync = await api.invoke('flaky', { body: 'sync still works' });
      expect([sync.status, await sync.text()]).toEqual([200, 'sync still works']);
      expect((await fetch(`${api.url}/metrics`)).status).toBe(200);
    };
    const recovery = async (body: string) => {
      const attempt = () => enqueue(api, 'flaky', { body, headers: { 'x-callback-url': cb.url } });
      let call = await attempt();
      for (let i = 0; call.res.status !== 202; i++) {
        expect(i, 'async calls should work again once NATS is back').toBeLessThan(200);
        await sleep(50);
        call = await attempt();
      }
      await cb.until(() => cb.of(call.callId).length === 1);
      expect(cb.of(call.callId)[0].body.toString()).toBe(body);
    };
    await outage();
    await nats.start();
    await recovery('first connection');
    await nats.kill();
    await outage();
    await nats.start();
    await recovery('after the reconnection');
    // A NATS without persistence comes back without the streams: they are created again.
    await nats.kill();
    await nats.start(true);
    await recovery('after a restart that lost every stream');
  });

  it('runs calls in a standalone `spindle queue-worker` that invokes through the gateway over HTTP', async () => {
    const { p, api, cb } = await setup({ asyncWorker: false });
    expect(p.platform.async.worker).toBeNull();
    await deploy(api, 'flaky', fast(3));
    const env = { NATS_URL: p.platform.config.natsUrl, SPINDLE_NATS_PREFIX: p.natsPrefix, SPINDLE_DATA_DIR: p.dataDir, LOG_LEVEL: 'warn' };
    const worker = await spawnUntil(process.execPath, [join(ROOT, 'cli', 'bin', 'spindle.mjs'), 'queue-worker', '-g', api.url, '--metrics-port', '0'], /queue worker ready/, { env, timeoutMs: 30_000 });
    const exited = new Promise<number | null>((r) => worker.child.once('exit', r));
    cleanups.push(async () => worker.child.kill('SIGKILL'));
    const big = randomBytes(2 * 1024 * 1024);
    const calls = [await enqueue(api, 'flaky/x?fail=1&status=502', { body: 'retried', headers: { 'x-callback-url': cb.url } }), await enqueue(api, 'flaky', { body: big, headers: { 'x-callback-url': cb.url } })];
    await cb.until(() => calls.every((c) => cb.of(c.callId).length === 1));
    expect(cb.of(calls[0].callId)[0].headers).toMatchObject({ 'x-function-status': '200', 'x-retry': '1' });
    expect(Buffer.compare(cb.of(calls[1].callId)[0].body, big)).toBe(0);
    // Invoked through /function/flaky: the gateway counted them like any HTTP call.
    expect(await (await fetch(`${api.url}/metrics`)).text()).toMatch(/gateway_function_invocation_started\{function_name="flaky.openfaas-fn"\} 3/);
    worker.child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('`spindle invoke NAME --async --callback URL` prints the call id', async () => {
    const { api, cb } = await setup();
    await deploy(api, 'flaky');
    const cli = (args: string[], input: string) => run(process.execPath, [join(ROOT, 'cli', 'bin', 'spindle.mjs'), ...args, '-g', api.url], { input });
    const out = await cli(['invoke', 'flaky', '--async', '--callback', cb.url], 'from the cli');
    expect(out.code, out.stderr).toBe(0);
    const callId = out.stdout.trim();
    expect(callId).toMatch(/^[0-9a-f-]{36}$/);
    await cb.until(() => cb.of(callId).length === 1);
    expect(cb.of(callId)[0].body.toString()).toBe('from the cli');
    const missing = await cli(['invoke', 'nope', '--async'], '');
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('not deployed')]);
  });

  it('delivers all of 1,000 calls to their callbacks across a kill -9 and restart of the gateway', async () => {
    const { p, cb } = await setup();
    const env = {
      SPINDLE_DATA_DIR: p.dataDir,
      DATABASE_URL: p.platform.config.databaseUrl,
      DATABASE_SCHEMA: `${p.platform.config.databaseSchema}_child`,
      NATS_URL: p.platform.config.natsUrl,
      SPINDLE_NATS_PREFIX: `${p.natsPrefix}k`,
      SPINDLE_ADMIN_PASSWORD: 'test-password',
      SPINDLE_ASYNC_ACK_WAIT_MS: '2000',
      SPINDLE_DRAIN_MS: '1000',
      PORT: '0',
      LOG_LEVEL: 'warn',
    };
    cleanups.push(() => dropSchema(env.DATABASE_SCHEMA), () => dropStreams(env.NATS_URL, env.SPINDLE_NATS_PREFIX));
    const startGateway = async () => {
      const g = await spawnUntil(process.execPath, ['--import', 'tsx', join(ROOT, 'tests', 'fixtures', 'gateway-process.ts')], /listening on (http:\/\/\S+)/, { env, timeoutMs: 30_000 });
      cleanups.push(async () => g.child.kill('SIGKILL'));
      return { child: g.child, api: new Api(g.match[1], 'test-password') };
    };
    const first = await startGateway();
    await deploy(first.api, 'flaky', { [ANNOTATIONS.maxInflight]: '16' });
    const ids = new Set<string>();
    const started = Date.now();
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => enqueue(first.api, 'flaky?ms=40', { body: `call ${i + j}`, headers: { 'x-callback-url': cb.url } })));
      for (const { res, callId } of batch) {
        expect(res.status).toBe(202);
        ids.add(callId);
      }
    }
    await cb.until(() => new Set(cb.deliveries.map((d) => d.callId)).size >= 300, 30_000);
    first.child.kill('SIGKILL');
    const killedAt = new Set(cb.deliveries.map((d) => d.callId)).size;
    const second = await startGateway();
    await cb.until(() => new Set(cb.deliveries.map((d) => d.callId)).size >= 1000, 45_000, 'all 1,000 callbacks');
    const unique = new Set(cb.deliveries.map((d) => d.callId));
    expect([...ids].every((id) => unique.has(id))).toBe(true);
    const duplicates = cb.deliveries.length - unique.size;
    console.log(`kill -9 test: 1000 calls, ${killedAt} called back before the kill, all 1000 after the restart in ${Date.now() - started} ms; ${duplicates} duplicate callbacks (at-least-once)`);
    second.child.kill('SIGTERM');
  }, 90_000);
});
