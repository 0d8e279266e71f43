/** `ctx.progress()` in a GPU function reaches graph runs: runner → reply stream → gateway → run events. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, uniqueName, type Api } from './harness.ts';
import { sseData } from './sse.ts';
import { deployGpu, loaded, redisPrefix, startRunner, waitRunner, type RunnerProc } from './gpu-harness.ts';

let api: Api;
let stop: () => Promise<void>;
let runner: RunnerProc;
const redis = redisPrefix();

beforeAll(async () => {
  ({ api, stop } = await startPlatform({ redisPrefix: redis.prefix, natsPrefix: uniqueName('gpuprog') }));
  runner = await startRunner(redis.prefix);
  expect((await deployGpu(api, 'stepper', 'gpu-progress')).status).toBe(202);
  await waitRunner(api, loaded('stepper'));
}, 120_000);
afterAll(async () => {
  await runner?.stop();
  await stop?.();
  await redis.cleanup();
});

describe('GPU progress', () => {
  it('reaches the run event stream of a graph node, in order, before the node succeeds', async () => {
    const put = await api.system('PUT', '/system/graphs/gpu-steps', { nodes: { work: { function: 'stepper', input: { steps: '{{ input.steps }}' } } } });
    expect(put.status, await put.clone().text()).toBe(201);
    const res = await api.system('POST', '/graphs/gpu-steps/runs?wait=true', { input: { steps: 4 } });
    const run = await res.json();
    expect(res.status, JSON.stringify(run)).toBe(200);
    expect(run.output).toEqual({ steps: 4 });
    const events = sseData(await (await api.system('GET', `/runs/${run.runId}/events`)).text());
    const progress = events.filter((e) => e.type === 'node.progress');
    expect(progress.map((e) => e.node)).toEqual(['work', 'work', 'work', 'work']);
    expect(progress.map((e) => e.data)).toEqual([1, 2, 3, 4].map((i) => ({ fraction: i / 4, message: `step ${i} of 4` })));
    const types = events.map((e) => e.type);
    expect(types.indexOf('node.progress')).toBeGreaterThan(types.indexOf('node.started'));
    expect(types.lastIndexOf('node.progress')).toBeLessThan(types.indexOf('node.succeeded'));
  });

  it('does not disturb a direct call', async () => {
    const res = await api.invoke('stepper', { body: JSON.stringify({ steps: 2 }), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ steps: 2 });
  });
});
