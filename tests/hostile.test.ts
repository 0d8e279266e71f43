/**
 * Hostile input against a running gateway with deployed functions and a graph: callers that half-close their
 * socket, CONNECT, callers that leave mid-request, and a seeded fuzzer over every route (random methods,
 * traversal and encoded names, bad, huge and deep JSON, wrong content types, bad queries and auth). No 5xx
 * (but a documented 503), no hang, the gateway stays healthy, the admin password is never echoed.
 * `SPINDLE_FUZZ_SEED=<n>` replays a run; `SPINDLE_FUZZ_COUNT` sets how many requests it sends.
 */
import { randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv, createPlatform, type Platform } from '@spindle/gateway';
import { pino } from 'pino';
import { dropSchema, dropStreams, MACHINE_NATS, sleep } from './async-support.ts';
import { deployGpu } from './gpu-harness.ts';
import { Api, MACHINE_PG, tempDir, uniqueName } from './harness.ts';
import { fuzzRequest, prng, rawRequest, type FuzzTargets, type RawRequest, type RawResponse } from './hostile-support.ts';

const PASSWORD = `hostile-${uniqueName('pw')}`;
/** Every log line at warn or above, and the callers that left (debug). */
const logged: Array<{ level: number; msg: string; err?: { message?: string } }> = [];
let platform: Platform;
let api: Api;
let port: number;
const natsPrefix = uniqueName('hostile').replace('_', '');
const databaseSchema = uniqueName('spindle_hostile');

beforeAll(async () => {
  const sink = new Writable({
    write(line: Buffer, _enc, cb) {
      const entry = JSON.parse(line.toString());
      if (entry.level >= 40 || entry.msg === 'caller left before the answer') logged.push(entry);
      cb();
    },
  });
  const config = { ...configFromEnv({}), dataDir: await tempDir(), port: 0, adminPassword: PASSWORD, drainMs: 2000, natsUrl: MACHINE_NATS, natsPrefix, redisPrefix: natsPrefix, databaseUrl: MACHINE_PG, databaseSchema, maxBodyBytes: 4 * 1024 * 1024, readyWaitMs: 2000 };
  platform = await createPlatform(config, pino({ level: 'debug' }, sink));
  api = new Api(await platform.listen(), PASSWORD);
  port = Number(new URL(api.url).port);
  for (const [name, fn] of [['echo', 'echo'], ['greet', 'greet'], ['slow', 'slow']] as const) expect((await api.deploy(name, fn)).status).toBe(202);
  // A GPU function with no runner alive: its calls are the documented 503.
  expect((await deployGpu(api, 'gpuprog', 'gpu-progress')).status).toBe(202);
  expect((await api.system('PUT', '/system/graphs/hello', { nodes: { a: { function: 'greet', input: { name: '{{ input.name }}' } } } })).status).toBe(201);
  await api.waitReplicas('echo', 1);
  await api.waitReplicas('greet', 1);
}, 120_000);

afterAll(async () => {
  await platform?.close();
  await Promise.all([dropStreams(MACHINE_NATS, natsPrefix), dropSchema(databaseSchema)]);
});

const json = (res: RawResponse) => JSON.parse(res.body.toString() || 'null');

describe('a caller that half-closes its socket after a complete request', () => {
  const send = (req: RawRequest) => rawRequest(port, { ...req, halfClose: true, timeoutMs: 10_000 });

  it('gets its answer from a function', async () => {
    const res = await send({ method: 'POST', path: '/function/echo', headers: { 'content-type': 'text/plain' }, body: 'half-closed' });
    expect(res.status, res.error).toBe(200);
    expect(res.body.toString()).toBe('half-closed');
  });

  it('learns the id of its async call, which is queued once', async () => {
    const res = await send({ method: 'POST', path: '/async-function/echo', body: 'x' });
    expect(res.status, res.error).toBe(202);
    const callId = res.headers['x-call-id'];
    expect(callId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await api.system('GET', `/async-function/status/${callId}`)).status).toBe(200);
  });

  it('gets the id of its graph run, and the graph it deploys', async () => {
    const run = await send({ method: 'POST', path: '/graphs/hello/runs', headers: { authorization: api.auth, 'content-type': 'application/json' }, body: '{"input":{"name":"ada"}}' });
    expect(run.status, run.error).toBe(202);
    expect(json(run).runId).toBeTruthy();
    const put = await send({ method: 'PUT', path: '/system/graphs/half', headers: { authorization: api.auth, 'content-type': 'application/json' }, body: JSON.stringify({ nodes: { a: { function: 'greet' } } }) });
    expect(put.status, put.error).toBe(201);
    expect(json(put).version).toBe(1);
  });

  it('still gets a 404 answered after a database lookup', async () => {
    const res = await send({ method: 'POST', path: '/graphs/nope/runs', headers: { authorization: api.auth, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status, res.error).toBe(404);
  });
});

describe('CONNECT', () => {
  it('is a 405 with Allow, not a closed socket', async () => {
    for (const path of ['example.com:443', '127.0.0.1:22']) {
      const res = await rawRequest(port, { method: 'CONNECT', path, headers: { host: path } });
      expect(res.status, res.error).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
      expect(json(res).error.code).toBe('SPINDLE_METHOD_NOT_ALLOWED');
    }
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
  });
});

/** Sends headers promising `length` bytes and part of the body, then resets the connection. */
function leaveMidRequest(req: { method: string; path: string; headers?: Record<string, string> }, length = 100_000, sent = 10): Promise<void> {
  return new Promise((resolve) => {
    const head = `${req.method} ${req.path} HTTP/1.1\r\nhost: x\r\ncontent-length: ${length}\r\n${Object.entries(req.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head + 'x'.repeat(sent));
      setTimeout(() => socket.resetAndDestroy(), 150);
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
}

describe('streams that never end by themselves', () => {
  it('answer HEAD with their headers at once, and take the first of repeated query keys', async () => {
    const run = await api.system('POST', '/graphs/hello/runs?wait=true', { input: { name: 'x' } });
    const { runId } = await run.json();
    for (const path of [`/runs/${runId}/events?after=200`, '/system/logs?name=echo&follow=true']) {
      const res = await rawRequest(port, { method: 'HEAD', path, headers: { authorization: api.auth }, timeoutMs: 5000 });
      expect(res.status, `${path}: ${res.error}`).toBe(200);
    }
    // OpenFaaS (Go) reads the first value of a repeated key; an array here made /system/logs answer 500.
    const logs = await rawRequest(port, { method: 'GET', path: '/system/logs?name=echo&name=greet&tail=1&tail=x', headers: { authorization: api.auth } });
    expect(logs.status, logs.body.toString()).toBe(200);
    const runs = await rawRequest(port, { method: 'GET', path: '/runs?limit=abc&limit=1', headers: { authorization: api.auth } });
    expect(runs.status).toBe(400);
    expect(json(runs).error.message).toContain('"limit"');
    // Event numbers are a Postgres int: a larger one is a 400, not a failed replay query after a 200.
    const before = logged.length;
    for (const headers of [{ 'last-event-id': '99999999999999999999' }, { 'last-event-id': '2147483648' }]) {
      const res = await rawRequest(port, { method: 'GET', path: `/runs/${runId}/events`, headers: { authorization: api.auth, ...headers } });
      expect(res.status).toBe(400);
      expect(json(res).error.message).toContain('Last-Event-ID');
    }
    expect((await rawRequest(port, { method: 'GET', path: `/runs/${runId}/events?after=1e20`, headers: { authorization: api.auth } })).status).toBe(400);
    expect(logged.slice(before).filter((l) => l.level >= 50)).toEqual([]);
  });
});

/** Follows `path`, half-closes once the stream started, and resolves with how long the server took to end it. */
function followThenFin(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let t0 = 0;
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nhost: x\r\nauthorization: ${api.auth}\r\n\r\n`));
    socket.once('data', () => {
      t0 = Date.now();
      socket.end();
    });
    socket.on('data', () => {});
    socket.on('error', reject);
    socket.on('close', () => resolve(Date.now() - t0));
    setTimeout(() => reject(new Error(`${path}: still open 10 s after the caller's FIN`)), 10_000);
  });
}

describe('a follower that closes its side', () => {
  it('has its stream ended at once, not at the next ping', async () => {
    const pending = await api.system('POST', '/graphs/hello/runs', { input: { name: 'y' } });
    const { runId } = await pending.json();
    // A finished run's stream ends by itself; after=… past its last event keeps it open like a live one.
    for (const path of ['/system/logs?name=echo&follow=true&tail=0', `/runs/${runId}/events?after=1000000`]) expect(await followThenFin(path)).toBeLessThan(2000);
  });
});

describe('a caller that leaves mid-request', () => {
  it('is not a server error: never logged as one, never counted as a 5xx', async () => {
    const auth = { authorization: api.auth, 'content-type': 'application/json' };
    const before = logged.length;
    await Promise.all([
      leaveMidRequest({ method: 'POST', path: '/function/gpuprog', headers: { 'content-type': 'application/json' } }),
      leaveMidRequest({ method: 'POST', path: '/function/echo' }),
      leaveMidRequest({ method: 'POST', path: '/async-function/echo' }),
      leaveMidRequest({ method: 'POST', path: '/system/functions', headers: auth }),
      leaveMidRequest({ method: 'POST', path: '/graphs/hello/runs', headers: auth }),
      leaveMidRequest({ method: 'PUT', path: `/system/bundles/sha256:${'a'.repeat(64)}`, headers: { authorization: api.auth } }),
      // Left while the function was still working, with the request complete.
      leaveMidRequest({ method: 'GET', path: '/function/slow?ms=400' }, 0, 0),
    ]);
    await sleep(700);
    const lines = logged.slice(before);
    expect(lines.filter((l) => l.level >= 40), JSON.stringify(lines)).toEqual([]);
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics.match(/gateway_function_invocation_total\{[^}]*code="5\d\d"[^}]*\} [1-9]/g) ?? []).toEqual([]);
    expect(metrics).toMatch(/gateway_function_invocation_total\{function_name="gpuprog.openfaas-fn",code="499"\} 1/);
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
  });
});

/** A 5xx the docs promise: a GPU call with no runner, a graph run that failed under `?wait=true`. */
function documented(req: RawRequest, res: RawResponse): boolean {
  // A HEAD answer has no body to name the dependency: its Retry-After says the same.
  if (res.status === 503) return req.method === 'HEAD' ? res.headers['retry-after'] !== undefined : /runner|NATS|replica|restor|closing/i.test(res.body.toString());
  if (res.status === 500 && /^\/graphs\/[^/]+\/runs\?/.test(req.path) && /wait=true/.test(req.path)) return json(res)?.status === 'failed';
  return false;
}

describe('fuzzing every route', () => {
  it('never answers 5xx (but a documented 503), never hangs, stays healthy, never echoes the password', { timeout: 120_000 }, async () => {
    const seed = process.env.SPINDLE_FUZZ_SEED ? Number(process.env.SPINDLE_FUZZ_SEED) : randomInt(2 ** 31);
    const count = Number(process.env.SPINDLE_FUZZ_COUNT ?? 2000);
    console.log(`hostile fuzz: seed ${seed} (replay with SPINDLE_FUZZ_SEED=${seed}), ${count} requests`);
    const r = prng(seed);
    const enqueued = await fetch(`${api.url}/async-function/echo`, { method: 'POST', body: 'x' });
    const run = await api.system('POST', '/graphs/hello/runs', { input: { name: 'x' } });
    const targets: FuzzTargets = { auth: api.auth, functions: ['echo', 'greet', 'gpuprog', 'echo.openfaas-fn'], graphs: ['hello', 'half'], callIds: [enqueued.headers.get('x-call-id')!], runIds: [(await run.json()).runId] };
    const requests = Array.from({ length: count }, () => fuzzRequest(r, targets));
    const secrets = [PASSWORD, api.auth.slice('Basic '.length)];
    const byClass: Record<string, number> = {};
    const failures: string[] = [];
    const describe = (req: RawRequest) => `${req.method} ${req.path.slice(0, 160)} [${Object.entries(req.headers ?? {}).map(([k, v]) => `${k}: ${v.slice(0, 40)}`).join('; ')}] body ${req.body === undefined ? 'none' : `${req.body.length} B: ${req.body.slice(0, 60).toString()}`}`;
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (next < requests.length) {
          const i = next++;
          const req = requests[i];
          const res = await rawRequest(port, { ...req, timeoutMs: 20_000 });
          const cls = res.status ? `${String(res.status)[0]}xx` : 'none';
          byClass[cls] = (byClass[cls] ?? 0) + 1;
          const text = res.body.toString('latin1') + JSON.stringify(res.headers);
          if (!res.status) failures.push(`#${i} no answer (${res.error}): ${describe(req)}`);
          else if (res.status >= 500 && !documented(req, res)) failures.push(`#${i} ${res.status} ${res.body.toString().slice(0, 200)}: ${describe(req)}`);
          if (secrets.some((s) => text.includes(s))) failures.push(`#${i} echoed the admin password: ${describe(req)}`);
        }
      }),
    );
    const health = await fetch(`${api.url}/healthz`);
    // The fuzzer may have scaled echo (to 0 or 1, the only valid counts it sends): back to one replica.
    await api.system('POST', '/system/scale-function/echo', { serviceName: 'echo', replicas: 1 });
    await api.waitReplicas('echo', 1);
    const echo = await api.invoke('echo', { body: 'still here' });
    console.log(`hostile fuzz: seed ${seed}: ${count} requests in ${Date.now() - t0} ms, by status class ${JSON.stringify(byClass)}`);
    expect(failures.slice(0, 30), `seed ${seed}: ${failures.length} failures`).toEqual([]);
    expect(health.status).toBe(200);
    expect(await echo.text()).toBe('still here');
    expect(logged.filter((l) => l.level >= 50).map((l) => `${l.msg}: ${l.err?.message}`)).toEqual([]);
  });
});
