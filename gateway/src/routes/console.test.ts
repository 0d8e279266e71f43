/**
 * The routes the web console reads, through `app.inject()`: `/system/stats` from the gateway's own numbers
 * (real calls to a real replica), its bounds, a function's detail fields and deployment history (secret names,
 * never values), recent async calls with filters and cursor paging, the GPU runner's dead letters, and a
 * run's node records (input, progress) and the /runs time filters.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectPlatform, type InjectedPlatform } from './inject-support.ts';

/** A replica that answers 500 on /fail and 200 elsewhere. */
const FLAKY = `import { createServer } from 'node:http';
const server = createServer((req, res) => { res.statusCode = req.url.startsWith('/fail') ? 500 : 200; res.end('ok'); });
server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
process.on('SIGTERM', () => process.exit(0));
`;

let p: InjectedPlatform;
beforeAll(async () => {
  p = await injectPlatform();
});
afterAll(() => p?.close());

describe('GET /system/stats (the gateway numbers)', () => {
  it('counts calls, errors and latency per function and in all, in points of the step', async () => {
    expect((await p.deploy('stats-fn', { image: await p.upload(FLAKY) })).statusCode).toBe(202);
    for (const path of ['ok', 'ok', 'ok', 'ok', 'ok', 'fail', 'fail']) {
      const res = await p.request({ method: 'POST', url: `/function/stats-fn/${path}`, payload: 'x', auth: false });
      expect(res.statusCode).toBe(path === 'ok' ? 200 : 500);
    }
    const res = await p.request({ method: 'GET', url: '/system/stats?window=900&step=10' });
    expect(res.statusCode).toBe(200);
    const s = res.json();
    expect(s).toMatchObject({ window: 900, step: 10, source: 'gateway' });
    expect(s.t).toHaveLength(90);
    expect(s.t[89] - s.t[0]).toBe(890);
    expect(s.t[89]).toBeLessThanOrEqual(Date.now() / 1000);
    const f = s.functions['stats-fn'];
    expect(f).toMatchObject({ invocations: 7, success: 5, errors: 2 });
    expect(f.p50).toBeGreaterThan(0);
    expect(f.p99).toBeGreaterThanOrEqual(f.p50);
    for (const key of ['rate', 'errorRate', 'p50s', 'p99s']) expect(f[key], key).toHaveLength(90);
    // Every call landed in the last one or two points (a 10 s boundary may fall between them).
    const tail = (xs: number[]) => xs.slice(-2).reduce((a, b) => a + b, 0);
    expect(tail(f.rate)).toBeGreaterThan(0);
    expect(f.rate.slice(0, -2).every((r: number) => r === 0)).toBe(true);
    expect(Math.max(...f.errorRate.slice(-2))).toBeGreaterThan(0);
    expect(s.total.rate).toHaveLength(90);
    expect(s.total.p99.slice(-2).some((v: number | null) => v !== null && v > 0)).toBe(true);
    expect(s.total.p50[0]).toBeNull();
  });

  it('takes a day at a coarser step, and refuses bad bounds naming the field', async () => {
    const day = await p.request({ method: 'GET', url: '/system/stats?window=86400&step=120' });
    expect(day.statusCode).toBe(200);
    expect(day.json().t).toHaveLength(720);
    // A step finer than the ring that covers the window is rounded up to it (10 s here), and said so.
    const fine = (await p.request({ method: 'GET', url: '/system/stats?window=60&step=1' })).json();
    expect(fine.step).toBe(10);
    expect(fine.t).toHaveLength(6);
    for (const [qs, field] of [
      ['window=59', 'window'],
      ['window=86401', 'window'],
      ['window=abc', 'window'],
      ['step=0', 'step'],
      ['step=3601', 'step'],
      ['window=86400&step=10', 'step'],
      ['window=600&step=900', 'step'],
      ['step=1.5', 'step'],
    ]) {
      const res = await p.request({ method: 'GET', url: `/system/stats?${qs}` });
      expect(res.statusCode, qs).toBe(400);
      expect(res.json().error.message, qs).toContain(`query "${field}"`);
    }
  });
});

describe('a function as the Functions page shows it', () => {
  it('has plane, replicas, invocations, image, version and deploy times', async () => {
    const res = await p.request({ method: 'GET', url: '/system/function/stats-fn' });
    expect(res.statusCode).toBe(200);
    const f = res.json();
    expect(f).toMatchObject({ name: 'stats-fn', plane: 'control', version: 1, invocationCount: 7 });
    expect(f.image).toMatch(/^bundle:\/\/sha256:[0-9a-f]{64}$/);
    expect(typeof f.replicas).toBe('number');
    expect(typeof f.availableReplicas).toBe('number');
    expect(Date.parse(f.deployedAt)).toBeGreaterThanOrEqual(Date.parse(f.createdAt));
  });

  it('lists its deployment history newest first, with secret names and never their values', async () => {
    expect((await p.request({ method: 'POST', url: '/system/secrets', json: { name: 'hist-key', value: 'very-secret-value' } })).statusCode).toBeLessThan(300);
    for (const [i, extra] of [{ envVars: { MODE: 'one' } }, { envVars: { MODE: 'two' }, secrets: ['hist-key'] }, { envVars: { MODE: 'three' }, labels: { team: 'x' }, annotations: { note: 'y' } }].entries()) {
      expect((await p.deploy('hist-fn', extra)).statusCode, `deploy ${i}`).toBe(202);
    }
    const res = await p.request({ method: 'GET', url: '/system/function/hist-fn/history' });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('very-secret-value');
    const { items } = res.json();
    expect(items.map((i: { version: number }) => i.version)).toEqual([3, 2, 1]);
    expect(items[0]).toMatchObject({ envVars: { MODE: 'three' }, annotations: { note: 'y' }, secrets: [] });
    expect(items[0].labels).toMatchObject({ team: 'x' });
    expect(items[1]).toMatchObject({ envVars: { MODE: 'two' }, secrets: ['hist-key'] });
    expect(items[2].image).toMatch(/^bundle:\/\/sha256:/);
    expect(Date.parse(items[0].deployedAt)).toBeGreaterThanOrEqual(Date.parse(items[2].deployedAt));
    const two = (await p.request({ method: 'GET', url: '/system/function/hist-fn.openfaas-fn/history?limit=2' })).json();
    expect(two.items.map((i: { version: number }) => i.version)).toEqual([3, 2]);
    const bad = await p.request({ method: 'GET', url: '/system/function/hist-fn/history?limit=0' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain('query "limit"');
    expect((await p.request({ method: 'GET', url: '/system/function/no-such/history' })).statusCode).toBe(404);
  });
});

describe('GET /system/async/calls', () => {
  it('lists recent calls newest first, filters them, and pages with a cursor', async () => {
    expect((await p.deploy('calls-a')).statusCode).toBe(202);
    expect((await p.deploy('calls-b')).statusCode).toBe(202);
    const ids: string[] = [];
    for (const fn of ['calls-a', 'calls-b', 'calls-a', 'calls-a']) {
      const res = await p.request({ method: 'POST', url: `/async-function/${fn}`, payload: 'x', auth: false });
      expect(res.statusCode).toBe(202);
      ids.push(String(res.headers['x-call-id']));
    }
    const all = (await p.request({ method: 'GET', url: '/system/async/calls' })).json();
    expect(all.items.map((c: { callId: string }) => c.callId)).toEqual([...ids].reverse());
    expect(all.next).toBeNull();
    expect(all.items[0]).toMatchObject({ function: 'calls-a', status: 'queued', attempts: 0, finishedAt: null, httpStatus: null, durationMs: null });
    expect(Date.parse(all.items[0].createdAt)).toBeGreaterThan(0);

    const onlyA = (await p.request({ method: 'GET', url: '/system/async/calls?function=calls-a&limit=2' })).json();
    expect(onlyA.items.map((c: { callId: string }) => c.callId)).toEqual([ids[3], ids[2]]);
    expect(onlyA.next).toEqual(expect.any(Number));
    const rest = (await p.request({ method: 'GET', url: `/system/async/calls?function=calls-a&limit=2&cursor=${onlyA.next}` })).json();
    expect(rest.items.map((c: { callId: string }) => c.callId)).toEqual([ids[0]]);

    const cancelled = await p.request({ method: 'DELETE', url: `/async-function/${ids[1]}` });
    expect(cancelled.statusCode).toBe(200);
    const byStatus = (await p.request({ method: 'GET', url: '/system/async/calls?status=cancelled' })).json();
    expect(byStatus.items.map((c: { callId: string }) => c.callId)).toEqual([ids[1]]);
    expect(byStatus.items[0].finishedAt).not.toBeNull();

    for (const [qs, field] of [
      ['status=done', 'status'],
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['cursor=-1', 'cursor'],
    ]) {
      const res = await p.request({ method: 'GET', url: `/system/async/calls?${qs}` });
      expect(res.statusCode, qs).toBe(400);
      expect(res.json().error.message).toContain(`query "${field}"`);
    }
  });
});

describe('GET /system/runner', () => {
  it('counts the dead-lettered GPU jobs and lists the newest without their bodies', async () => {
    const redis = new Redis(p.platform.config.redisUrl);
    const key = `${p.platform.config.redisPrefix}:gpu:dead`;
    try {
      // What the runner writes when it gives up on a job: the job's fields, then why.
      for (const [id, fn] of [['job-1', 'vad'], ['job-2', 'matte']]) {
        await redis.xadd(key, '*', 'id', id, 'call', `call-${id}`, 'fn', fn, 'reply', 'r', 'body', 'PRIVATE-BYTES', 'reason', `${id} was delivered 4 times`, 'code', 'SPINDLE_GPU_DEAD_LETTER', 'deliveries', '4');
      }
      const res = await p.request({ method: 'GET', url: '/system/runner?deadLetters=1' });
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain('PRIVATE-BYTES');
      const body = res.json();
      expect(body.alive).toBe(false);
      expect(body.deadLetters.count).toBe(2);
      expect(body.deadLetters.recent).toEqual([
        { id: 'job-2', callId: 'call-job-2', function: 'matte', code: 'SPINDLE_GPU_DEAD_LETTER', reason: 'job-2 was delivered 4 times', deliveries: 4, at: expect.any(String) },
      ]);
      const bad = await p.request({ method: 'GET', url: '/system/runner?deadLetters=101' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toContain('query "deadLetters"');
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });
});

/** A replica that reports progress for its call (as the watchdog does, over IPC) and answers its JSON body doubled. */
const PROGRESSING = `import { createServer } from 'node:http';
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    process.send({ type: 'progress', callId: req.headers['x-call-id'], fraction: 0.5, message: 'half way' });
    setTimeout(() => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ y: JSON.parse(body).x * 2 })); }, 100);
  });
});
server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
process.on('SIGTERM', () => process.exit(0));
`;

describe('runs as the Runs page reads them', () => {
  it('has the input and last progress of each node, and filters the list by time', async () => {
    expect((await p.deploy('double', { image: await p.upload(PROGRESSING) })).statusCode).toBe(202);
    const graph = { nodes: { twice: { function: 'double', input: { x: '{{ input.x }}' } } } };
    expect((await p.request({ method: 'PUT', url: '/system/graphs/doubling', json: graph })).statusCode).toBeLessThan(300);
    const before = new Date(Date.now() - 1000).toISOString();
    const run = await p.request({ method: 'POST', url: '/graphs/doubling/runs?wait=true', json: { input: { x: 21 } } });
    expect(run.statusCode, run.body).toBe(200);
    const detail = (await p.request({ method: 'GET', url: `/runs/${run.json().runId}` })).json();
    expect(detail.output).toEqual({ y: 42 });
    expect(detail.nodes).toHaveLength(1);
    expect(detail.nodes[0]).toMatchObject({ node: 'twice', status: 'succeeded', attempts: 1, input: { x: 21 }, output: { y: 42 }, error: null, progress: { fraction: 0.5, message: 'half way' } });
    expect(detail.nodes[0].startedAt).toBeTruthy();

    const ids = async (qs: string) => (await p.request({ method: 'GET', url: `/runs?graph=doubling&${qs}` })).json().runs.map((r: { runId: string }) => r.runId);
    expect(await ids(`since=${encodeURIComponent(before)}`)).toEqual([run.json().runId]);
    expect(await ids(`since=${Math.floor(Date.now() / 1000) + 3600}`)).toEqual([]);
    expect(await ids(`until=${encodeURIComponent(before)}`)).toEqual([]);
    expect(await ids(`until=${Math.floor(Date.now() / 1000) + 3600}`)).toEqual([run.json().runId]);
    for (const qs of ['since=yesterday', 'until=2026-13-45T00:00:00Z']) {
      const res = await p.request({ method: 'GET', url: `/runs?${qs}` });
      expect(res.statusCode, qs).toBe(400);
      expect(res.json().error.message).toContain(`query "${qs.split('=')[0]}"`);
    }
  });
});
