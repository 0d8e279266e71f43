/** GPU functions through the gateway: a real runner process, the generated MLP model, real Redis. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { mlpModel } from '@spindle/gpu-runner';
import { startPlatform, type Api } from './harness.ts';
import { deployGpu, loaded, redisPrefix, startRunner, waitRunner, type RunnerProc } from './gpu-harness.ts';

const DIM = 16;
let api: Api;
let stop: () => Promise<void>;
let runner: RunnerProc;
const redis = redisPrefix();
const vec = (seed: number) => Array.from({ length: DIM }, (_, i) => Math.sin(seed + i));
const call = (name: string, body: unknown) => api.invoke(name, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

beforeAll(async () => {
  const started = await startPlatform({ redisPrefix: redis.prefix });
  api = started.api;
  stop = started.stop;
  runner = await startRunner(redis.prefix);
  expect((await deployGpu(api, 'mlp', 'gpu-mlp')).status).toBe(202);
  expect((await deployGpu(api, 'mlp1', 'gpu-mlp1', { envVars: { exec_timeout: '400ms' } })).status).toBe(202);
  expect((await deployGpu(api, 'tight', 'gpu-mlp1', { labels: { 'com.spindle.gpu.queue-limit': '2' } })).status).toBe(202);
  await waitRunner(api, (s) => loaded('mlp')(s) && loaded('mlp1')(s) && loaded('tight')(s));
}, 120_000);
afterAll(async () => {
  await runner?.stop();
  await stop?.();
  await redis.cleanup();
});

describe('GPU functions', () => {
  it('answers like any function, with the same result as onnxruntime called directly', async () => {
    const session = await ort.InferenceSession.create(mlpModel({ dim: DIM, hidden: 64 }));
    const x = vec(1);
    const expected = (await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [1, DIM]) })).y.data as Float32Array;
    const res = await call('mlp', { x });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-call-id')).toBeTruthy();
    expect(Number(res.headers.get('x-duration-seconds'))).toBeGreaterThan(0);
    const { y } = await res.json();
    expect(y).toHaveLength(DIM);
    for (const [i, v] of (y as number[]).entries()) expect(v).toBeCloseTo(expected[i], 4);
    const fn = await (await api.system('GET', '/system/function/mlp')).json();
    expect(fn).toMatchObject({ name: 'mlp', replicas: 1, availableReplicas: 1 });
  });

  it('batches concurrent calls (observable batch sizes) and fails only the bad item', async () => {
    const before = (await waitRunner(api, () => true)).batches;
    const bodies = Array.from({ length: 64 }, (_, i) => (i === 5 ? { x: vec(i), fail: true } : i === 9 ? { x: [1, 2, 3] } : { x: vec(i) }));
    const results = await Promise.all(bodies.map((b) => call('mlp', b)));
    expect(results.map((r) => r.status)).toEqual(bodies.map((_, i) => (i === 5 ? 422 : i === 9 ? 400 : 200)));
    expect((await results[9].json()).error.code).toBe('SPINDLE_MODEL_REJECTED_INPUT');
    // The heartbeat is refreshed every 250 ms: wait for one that has seen all 64 jobs.
    const after = (await waitRunner(api, (st) => st.batches.items >= before.items + 64)).batches;
    // Batching happened: some batch held several jobs, and there were fewer batches than jobs. (How many fewer
    // depends on how the 64 calls' arrivals spread on a loaded machine: 45 batches seen on 2 busy cores.)
    expect(after.maxSize).toBeGreaterThan(4);
    expect(after.count - before.count).toBeLessThan(64);
  });

  it('answers 400 for bad input without hurting the runner', async () => {
    expect((await api.invoke('mlp', { body: '{not json', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    const schema = await call('mlp', { nope: 1 });
    expect(schema.status).toBe(400);
    expect((await schema.json()).error.message).toMatch(/x/);
    expect((await call('mlp1', { x: [1, 2] })).status).toBe(400);
    expect((await call('mlp1', { x: vec(3) })).status).toBe(200);
  });

  it('skips a job whose caller has already timed out', async () => {
    const jobsBefore = (await waitRunner(api, () => true)).jobs.expired ?? 0;
    const slow = call('mlp1', { x: vec(1), spinMs: 900 });
    await new Promise((r) => setTimeout(r, 100));
    const late = await call('mlp1', { x: vec(2) });
    expect(late.status).toBe(504);
    expect((await slow).status).toBe(504);
    const s = await waitRunner(api, (st) => (st.jobs.expired ?? 0) > jobsBefore);
    expect(s.jobs.expired).toBe(jobsBefore + 1);
  });

  it('answers 429 with Retry-After past a function queue limit', async () => {
    const calls = Array.from({ length: 6 }, () => call('tight', { x: vec(0), spinMs: 300 }));
    const statuses = await Promise.all(calls.map(async (p) => {
      const r = await p;
      if (r.status === 429) expect(r.headers.get('retry-after')).toBe('1');
      return r.status;
    }));
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(3);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
  });

  it('reports EP, device, models, memory, queue and batches at /system/runner, and metrics', async () => {
    const s = await waitRunner(api, () => true);
    expect(s).toMatchObject({ alive: true, ep: 'cpu' });
    expect(s.epReason).toMatch(/CUDA unavailable|SPINDLE_GPU_EP=cpu/);
    expect(s.device).toMatch(/cpu/);
    expect(s.models.length).toBeGreaterThan(0);
    expect(s.memory.modelBytes).toBeGreaterThan(0);
    expect(s.queueDepth).toBeTypeOf('object');
    expect((await fetch(`${api.url}/system/runner`)).status).toBe(401);
    const gw = await (await fetch(`${api.url}/metrics`)).text();
    expect(gw).toMatch(/spindle_gpu_jobs_total\{function="mlp",status="ok"\} \d+/);
    expect(gw).toContain('spindle_gpu_queue_depth');
    const own = await (await fetch(runner.metricsUrl)).text();
    expect(own).toMatch(/spindle_gpu_batch_size_bucket/);
    expect(own).toMatch(/spindle_gpu_inference_seconds_count\{function="mlp",model="mlp"\} \d+/);
    expect(own).toMatch(/spindle_gpu_model_loads_total/);
  });

  it('hot-redeploys under load with zero failed requests', async () => {
    const version = (await waitRunner(api, loaded('mlp'))).functions.find((f: any) => f.name === 'mlp').version;
    const pid = runner.child.pid;
    let stopLoad = false;
    const statuses: number[] = [];
    const load = Array.from({ length: 8 }, async (_, w) => {
      while (!stopLoad) statuses.push((await call('mlp', { x: vec(w) })).status);
    });
    await new Promise((r) => setTimeout(r, 200));
    expect((await deployGpu(api, 'mlp', 'gpu-mlp', { envVars: { v: '2' } }, true)).status).toBe(202);
    await waitRunner(api, (s) => s.functions.some((f: any) => f.name === 'mlp' && f.version > version));
    await new Promise((r) => setTimeout(r, 200));
    stopLoad = true;
    await Promise.all(load);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(runner.child.pid).toBe(pid);
    expect(runner.child.exitCode).toBeNull();
  });
});
