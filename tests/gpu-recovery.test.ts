/** GPU runner failures: no runner (503), kill -9 mid-batch (every job answered), dead-letter, long inference kept. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPlatform, type Api } from './harness.ts';
import { REDIS_URL, deployGpu, loaded, redisPrefix, startRunner, waitRunner, type RunnerProc } from './gpu-harness.ts';

let api: Api;
let stop: () => Promise<void>;
const runners: RunnerProc[] = [];
const redis = redisPrefix();
const vec = (seed: number) => Array.from({ length: 16 }, (_, i) => Math.cos(seed + i));
const call = (name: string, body: unknown) => api.invoke(name, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const runner = async (env: Record<string, string> = {}) => {
  const r = await startRunner(redis.prefix, env);
  runners.push(r);
  return r;
};

beforeAll(async () => {
  const started = await startPlatform({ redisPrefix: redis.prefix });
  api = started.api;
  stop = started.stop;
  expect((await deployGpu(api, 'mlp', 'gpu-mlp')).status).toBe(202);
  expect((await deployGpu(api, 'mlp1', 'gpu-mlp1')).status).toBe(202);
}, 120_000);
afterAll(async () => {
  for (const r of runners) await r.stop('SIGKILL');
  await stop?.();
  await redis.cleanup();
});

it('answers 503 at once, saying so, when no runner is alive', async () => {
  const t = Date.now();
  const res = await call('mlp', { x: vec(0) });
  expect(res.status).toBe(503);
  expect(Date.now() - t).toBeLessThan(500);
  expect(res.headers.get('retry-after')).toBeTruthy();
  expect((await res.json()).error.message).toMatch(/no GPU runner is alive/);
  expect(await (await api.system('GET', '/system/runner')).json()).toMatchObject({ alive: false });
  expect((await api.system('GET', '/system/function/mlp')).status).toBe(200);
});

it('loses nothing when the runner is killed with SIGKILL mid-batch: every pending job is reclaimed and answered', async () => {
  const first = await runner();
  await waitRunner(api, (s) => loaded('mlp')(s) && loaded('mlp1')(s));
  const calls = [
    ...Array.from({ length: 12 }, (_, i) => call('mlp1', { x: vec(i), spinMs: 60 })),
    ...Array.from({ length: 40 }, (_, i) => call('mlp', { x: vec(i), spinMs: 40 })),
  ];
  await new Promise((r) => setTimeout(r, 250));
  await first.stop('SIGKILL');
  const second = await runner();
  const statuses = await Promise.all(calls.map(async (p) => (await p).status));
  expect(statuses.filter((s) => s !== 200)).toEqual([]);
  // The status is a heartbeat (once a second): wait for one that counts the reclaimed jobs.
  const s = await waitRunner(api, (st) => st.pid === second.child.pid && (st.jobs?.ok ?? 0) > 0);
  expect(s.jobs.ok).toBeGreaterThan(0);
  await second.stop('SIGKILL');
}, 60_000);

it('keeps a long inference (longer than the claim idle time) and dead-letters a job that kills its runner', async () => {
  const a = await runner({ SPINDLE_GPU_MAX_DELIVERIES: '1' });
  await waitRunner(api, (s) => s.pid === a.child.pid && loaded('mlp1')(s));
  // 2.5 s of blocking compute with a 1 s claim idle time: the runner must keep the job its own.
  const long = await call('mlp1', { x: vec(1), spinMs: 2500 });
  expect(long.status).toBe(200);
  const doomed = call('mlp1', { x: vec(2), spinMs: 8000 });
  // Kill the runner only once it holds the job (delivered once), however slow the machine is.
  const probe = new Redis(REDIS_URL);
  for (let i = 0; i < 200; i++) {
    const [count] = (await probe.xpending(`${redis.prefix}:gpu:jobs`, 'runners')) as [number];
    if (Number(count) > 0) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  probe.disconnect();
  await new Promise((r) => setTimeout(r, 200));
  await a.stop('SIGKILL');
  const b = await runner({ SPINDLE_GPU_MAX_DELIVERIES: '1' });
  const res = await doomed;
  expect(res.status).toBe(502);
  const err = (await res.json()).error;
  expect(err.code).toBe('SPINDLE_GPU_DEAD_LETTER');
  expect(err.message).toMatch(/delivered 2 times/);
  const r = new Redis(REDIS_URL);
  const dead = await r.xrange(`${redis.prefix}:gpu:dead`, '-', '+');
  r.disconnect();
  expect(dead).toHaveLength(1);
  expect(dead[0][1]).toContain('reason');
  await b.stop();
}, 60_000);
