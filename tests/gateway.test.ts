/** The gateway against real replica processes: invoke, OpenFaaS API shapes, bad input, limits, secrets, logs, metrics. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '@spindle/gateway';
import { startPlatform, type Api } from './harness.ts';
import { parseSse } from './sse.ts';
import fixtureGreet from '../functions/greet/handler.ts';

let api: Api;
let stop: () => Promise<void>;
let platform: Platform;
const platformRef = () => platform;

beforeAll(async () => {
  const started = await startPlatform({ maxBodyBytes: 64 * 1024, readyWaitMs: 400 });
  api = started.api;
  stop = started.stop;
  platform = started.platform;
  for (const [name, fn, extra] of [
    ['echo', 'echo', {}],
    ['greet', 'greet', {}],
    ['slow', 'slow', { envVars: { exec_timeout: '300ms' } }],
    ['stream', 'stream', {}],
    ['progress', 'progress', {}],
  ] as const) {
    const res = await api.deploy(name, fn, extra);
    expect(res.status, await res.clone().text()).toBe(202);
  }
}, 120_000);
afterAll(() => stop?.());

describe('invoke', () => {
  it('echoes bytes and content type unchanged, with OpenFaaS headers', async () => {
    const body = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
    const res = await api.invoke('echo', { body, headers: { 'content-type': 'application/x-custom' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-custom');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(body);
    expect(res.headers.get('x-call-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(res.headers.get('x-duration-seconds'))).toBeGreaterThan(0);
    expect(res.headers.get('x-start-time')).toMatch(/^\d{19}$/);
  });

  it('keeps a caller-sent X-Call-Id and accepts NAME.openfaas-fn', async () => {
    const res = await api.invoke('echo.openfaas-fn', { body: 'x', headers: { 'x-call-id': 'call-123' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-call-id')).toBe('call-123');
  });

  it('forwards the path suffix and query', async () => {
    const res = await api.invoke('slow', { path: '/sub/path?ms=5', method: 'GET' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('done after 5 ms');
  });

  it('accepts a chunked body without Content-Length', async () => {
    const chunks = ['hello ', 'chunked ', 'world'];
    const stream = new ReadableStream({
      start(c) {
        for (const ch of chunks) c.enqueue(new TextEncoder().encode(ch));
        c.close();
      },
    });
    const res = await api.invoke('echo', { body: stream, headers: { 'content-type': 'text/plain' }, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello chunked world');
  });

  it('streams Server-Sent Events chunk by chunk', async () => {
    const res = await api.invoke('stream', { method: 'GET', path: '?count=4&interval=250' });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const arrivals: number[] = [];
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      arrivals.push(Date.now());
      text += new TextDecoder().decode(value);
    }
    expect(parseSse(text).map((e) => JSON.parse(e.data).n)).toEqual([0, 1, 2, 3]);
    // Four events 250 ms apart: had the gateway buffered, every chunk would arrive at once.
    expect(arrivals.length).toBeGreaterThanOrEqual(3);
    expect(arrivals.at(-1)! - arrivals[0]).toBeGreaterThanOrEqual(500);
  });

  it('validates JSON input against the schema, naming the field', async () => {
    const ok = await api.invoke('greet', { body: JSON.stringify({ name: 'Ada', language: 'fr' }) });
    expect(await ok.json()).toEqual({ greeting: 'Bonjour, Ada!' });
    const bad = await api.invoke('greet', { body: JSON.stringify({ name: 42 }) });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: 'SPINDLE_INVALID_INPUT', field: 'name' });
    const missing = await api.invoke('greet', { body: '{}' });
    expect((await missing.json()).error.message).toContain('"name" is required');
    const extra = await api.invoke('greet', { body: JSON.stringify({ name: 'a', colour: 'red' }) });
    expect((await extra.json()).error.message).toContain('"colour" is not allowed');
    const notJson = await api.invoke('greet', { body: '{"name": ' });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.message).toMatch(/not valid JSON/);
  });

  it('answers 404 with a JSON error for an unknown function, 400 for an invalid name', async () => {
    const res = await api.invoke('nope');
    expect(res.status).toBe(404);
    expect((await res.json()).error.message).toContain('"nope" is not deployed');
    const ns = await api.invoke('echo.other-ns');
    expect(ns.status).toBe(404);
    const bad = await api.invoke('Bad_Name');
    expect(bad.status).toBe(400);
    const traversal = await fetch(`${api.url}/function/..%2F..%2Fetc`, { method: 'POST' });
    expect(traversal.status).toBe(400);
  });

  it('answers 413 for a body over the limit, with or without Content-Length', async () => {
    const big = Buffer.alloc(65 * 1024, 1);
    const res = await api.invoke('echo', { body: big });
    expect(res.status).toBe(413);
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(10 * 1024));
        c.close();
      },
    });
    const chunked = await api.invoke('echo', { body: stream, duplex: 'half' } as RequestInit).catch((e) => e);
    // Past the limit mid-stream the gateway answers 413 (or resets a connection that keeps sending).
    if (chunked instanceof Response) expect(chunked.status).toBe(413);
    // The function still serves afterwards.
    expect((await api.invoke('echo', { body: 'ok' })).status).toBe(200);
  });

  it('answers 504 past the function timeout', async () => {
    const res = await api.invoke('slow', { method: 'GET', path: '?ms=2000' });
    expect(res.status).toBe(504);
    expect((await res.json()).error.message).toContain('timeout of 300 ms');
  });

  it('gives handlers progress and artifacts', async () => {
    const res = await api.invoke('progress', { body: JSON.stringify({ text: 'bytes to keep' }) });
    expect(res.status).toBe(200);
    const out = await res.json();
    expect(out).toMatchObject({ size: 13, roundTrip: 'bytes to keep' });
    expect(out.key).toMatch(/^tests\/.+\.txt$/);
  });
});

describe('management API', () => {
  it('needs basic auth; an empty Bearer is a 401', async () => {
    expect((await fetch(`${api.url}/system/functions`)).status).toBe(401);
    expect((await fetch(`${api.url}/system/functions`, { headers: { authorization: 'Bearer ' } })).status).toBe(401);
    const wrong = await fetch(`${api.url}/system/functions`, { headers: { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('Basic');
    expect((await api.system('GET', '/system/functions')).status).toBe(200);
  });

  it('lists and describes functions with OpenFaaS field names', async () => {
    const list = await (await api.system('GET', '/system/functions')).json();
    const echo = list.find((f: { name: string }) => f.name === 'echo');
    expect(echo).toMatchObject({ name: 'echo', namespace: 'openfaas-fn', replicas: 1, availableReplicas: 1 });
    expect(echo.image).toMatch(/^bundle:\/\/sha256:[a-f0-9]{64}$/);
    expect(echo.invocationCount).toBeGreaterThan(0);
    expect(new Date(echo.createdAt).getTime()).toBeGreaterThan(0);
    const one = await (await api.system('GET', '/system/function/echo?namespace=openfaas-fn')).json();
    expect(one.name).toBe('echo');
    // A raw-body function has no schemas; a JSON one reports its own when a replica gets ready (the web app's form).
    expect(one.inputSchema).toBeUndefined();
    const greet = await (await api.system('GET', '/system/function/greet')).json();
    expect(greet.inputSchema).toEqual(fixtureGreet.input);
    expect(greet.outputSchema).toEqual(fixtureGreet.output);
    expect((await api.system('GET', '/system/function/missing')).status).toBe(404);
    expect(await (await api.system('GET', '/system/namespaces')).json()).toEqual(['openfaas-fn']);
    const info = await (await api.system('GET', '/system/info')).json();
    expect(info.provider.provider).toBe('spindle');
    expect(info.version.release).toMatch(/\d+\.\d+\.\d+/);
  });

  it('rejects bad deploy requests with 400 naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ service: 'Bad_Name', image: `bundle://sha256:${'a'.repeat(64)}` }, /service/],
      [{ service: '../etc', image: 'x' }, /service/],
      [{ image: 'x' }, /service/],
      [{ service: 'ok', image: 'ghcr.io/openfaas/figlet:latest' }, /image.*bundle:\/\//],
      [{ service: 'ok', image: `bundle://sha256:${'b'.repeat(64)}` }, /no bundle/],
      [{ service: 'ok', image: `bundle://sha256:${'a'.repeat(64)}`, envVars: { A: 1 } }, /envVars\.A/],
      [{ service: 'ok', image: `bundle://sha256:${'a'.repeat(64)}`, labels: { 'com.openfaas.scale.min': 'two' } }, /labels/],
    ];
    for (const [body, message] of cases) {
      const res = await api.system('POST', '/system/functions', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json()).error.message).toMatch(message);
    }
    const notJson = await fetch(`${api.url}/system/functions`, { method: 'POST', headers: { authorization: api.auth, 'content-type': 'application/json' }, body: '{"service":' });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.message).toMatch(/JSON/);
    const huge = await api.system('POST', '/system/functions', { service: 'x', image: 'y', pad: 'z'.repeat(2 * 1024 * 1024) });
    expect(huge.status).toBe(413);
  });

  it('deploys like faas-cli: PUT answers 404 for a new function, then POST creates it', async () => {
    const { digest } = await (await import('./harness.ts')).bundle('echo');
    const spec = { service: 'faas-echo', image: `bundle://sha256:${digest}`, namespace: 'openfaas-fn', envProcess: '', labels: {}, annotations: {} };
    expect((await api.system('PUT', '/system/functions', spec)).status).toBe(404);
    expect((await api.system('POST', '/system/functions', spec)).status).toBe(202);
    expect((await api.system('PUT', '/system/functions', spec)).status).toBe(202);
    // This gateway waits only 400 ms for a starting replica; a loaded machine may take longer to start one.
    await api.waitReplicas('faas-echo', 1);
    const res = await api.invoke('faas-echo.openfaas-fn', { body: 'via faas-cli path' });
    expect(await res.text()).toBe('via faas-cli path');
    expect((await api.system('DELETE', '/system/functions', { functionName: 'faas-echo' })).status).toBe(202);
    expect((await api.invoke('faas-echo', { body: 'x' })).status).toBe(404);
    expect((await api.system('DELETE', '/system/functions', { functionName: 'faas-echo' })).status).toBe(404);
  });

  it('serves logs as newline-delimited JSON, and follows', async () => {
    await api.invoke('greet', { body: JSON.stringify({ name: 'LogLine' }) });
    // The replica prints after it answered: give the line a moment to travel through the pipe.
    let lines: Array<{ name: string; instance: string; timestamp: string; text: string }> = [];
    for (let i = 0; i < 100 && !lines.some((l) => l.text.includes('LogLine')); i++) {
      const res = await api.system('GET', '/system/logs?name=greet&tail=50');
      expect(res.headers.get('content-type')).toContain('application/x-ndjson');
      lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(lines[0]).toMatchObject({ name: 'greet', namespace: 'openfaas-fn' });
    expect(lines.some((l) => l.text.includes('LogLine'))).toBe(true);
    expect(lines.every((l) => l.instance && l.timestamp)).toBe(true);

    const follow = await api.system('GET', '/system/logs?name=greet&follow=true&tail=0');
    const reader = follow.body!.getReader();
    await api.invoke('greet', { body: JSON.stringify({ name: 'Followed' }) });
    let text = '';
    const deadline = Date.now() + 5000;
    while (!text.includes('Followed') && Date.now() < deadline) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('Followed');
    await reader.cancel();
    expect((await api.system('GET', '/system/logs?name=missing')).status).toBe(404);
    expect((await api.system('GET', '/system/logs?name=greet&since=yesterday')).status).toBe(400);
  });

  it('exposes OpenFaaS metric names', async () => {
    const text = await (await fetch(`${api.url}/metrics`)).text();
    expect(text).toMatch(/gateway_function_invocation_total\{function_name="echo.openfaas-fn",code="200"\} \d+/);
    expect(text).toMatch(/gateway_functions_seconds_bucket\{le="[\d.]+",function_name="echo.openfaas-fn",code="200"\}/);
    expect(text).toMatch(/gateway_function_invocation_started\{function_name="echo.openfaas-fn"\}/);
    expect(text).toMatch(/gateway_service_count\{function_name="echo.openfaas-fn"\} 1/);
    expect(text).toMatch(/spindle_function_inflight\{function_name="echo.openfaas-fn"\} 0/);
  });
});

describe('internal invoker', () => {
  it('calls functions like an HTTP caller, with the same errors and metrics', async () => {
    const { invoker } = platformRef();
    const ok = await invoker.invoke({ name: 'greet', body: JSON.stringify({ name: 'Inside' }) });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body.toString())).toEqual({ greeting: 'Hello, Inside!' });
    const bad = await invoker.invoke({ name: 'greet', body: '{}' });
    expect(bad.status).toBe(400);
    await expect(invoker.invoke({ name: 'missing' })).rejects.toMatchObject({ statusCode: 404 });
    await expect(invoker.invoke({ name: 'slow', method: 'GET', path: '/?ms=2000' })).rejects.toMatchObject({ statusCode: 504 });
    await expect(invoker.invoke({ name: 'slow', method: 'GET', path: '/?ms=200', timeoutMs: 50 })).rejects.toMatchObject({ statusCode: 504 });
    const ac = new AbortController();
    const pending = invoker.invoke({ name: 'slow', method: 'GET', path: '/?ms=250', signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    await expect(pending).rejects.toMatchObject({ statusCode: 499 });
  });
});

describe('Expect: 100-continue', () => {
  it('is answered by the gateway, not forwarded (curl sends it for bodies over 1 KiB)', async () => {
    const { request } = await import('node:http');
    const body = Buffer.alloc(4096, 120);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${api.url}/function/echo`, { method: 'POST', headers: { expect: '100-continue', 'content-length': body.length } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('continue', () => req.end(body));
      req.on('error', reject);
    });
    expect(status).toBe(200);
  });
});

describe('a caller that leaves', () => {
  it('keeps the replica counted busy until its call ends, then frees it', async () => {
    const ac = new AbortController();
    const pending = api.invoke('slow', { method: 'GET', path: '?ms=300', signal: ac.signal }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 60));
    expect(platform.provider.replicas('slow')[0].inflight).toBe(1);
    ac.abort();
    await pending;
    await new Promise((r) => setTimeout(r, 50));
    // Still computing: least-in-flight must not send new work its way as if it were idle.
    expect(platform.provider.replicas('slow')[0].inflight).toBe(1);
    for (let i = 0; i < 100 && platform.provider.replicas('slow')[0].inflight !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(platform.provider.replicas('slow')[0].inflight).toBe(0);
  });
});

describe('while the gateway restores its functions at start', () => {
  it('answers 503 with Retry-After for names it does not know yet, sync and async', async () => {
    platform.functions.restoring = true;
    try {
      const sync = await api.invoke('not-back-yet');
      expect(sync.status).toBe(503);
      expect(sync.headers.get('retry-after')).toBe('1');
      const queued = await fetch(`${api.url}/async-function/not-back-yet`, { method: 'POST', body: 'x' });
      expect([503]).toContain(queued.status);
    } finally {
      platform.functions.restoring = false;
    }
    expect((await api.invoke('not-back-yet')).status).toBe(404);
  });
});
