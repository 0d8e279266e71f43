/**
 * The autoscaler against a real gateway and real replicas: scale up under a load step (capacity type),
 * down after the window, to zero after zero-duration and back on the next call, a manual scale held for
 * the window, no call failing while replicas come and go, and bad labels refused naming the label.
 */
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '@spindle/gateway';
import { asyncPlatform } from './async-support.ts';
import { uniqueName, type Api } from './harness.ts';

let api: Api;
let platform: Platform;
let stop: () => Promise<void>;

beforeAll(async () => {
  // Machine Postgres, its own schema and NATS prefix (quick to start, removed afterwards).
  ({ api, platform, stop } = await asyncPlatform({ autoscale: true, autoscaleIntervalMs: 500, readyWaitMs: 15_000, drainMs: 5000, redisPrefix: uniqueName('autoscale') }));
}, 60_000);
afterAll(() => stop?.());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pid of this gateway's spare replica process (a child running spare-process.mjs), if one is waiting. */
async function spareProcess(): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const [cmdline, stat] = await Promise.all([readFile(`/proc/${entry}/cmdline`, 'utf8'), readFile(`/proc/${entry}/stat`, 'utf8')]);
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && cmdline.includes('spare-process.mjs')) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

async function counts(name: string): Promise<{ replicas: number; availableReplicas: number }> {
  return (await api.system('GET', `/system/function/${name}`)).json();
}

/** Polls until `ok(counts)`; returns the ms it took, or throws naming what was last seen. */
async function until(name: string, what: string, ok: (c: { replicas: number; availableReplicas: number }) => boolean, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let last = await counts(name);
  while (!ok(last)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${name}: ${what} not reached in ${timeoutMs} ms (last ${JSON.stringify(last)})`);
    await sleep(100);
    last = await counts(name);
  }
  return Date.now() - t0;
}

/** `workers` callers looping on `path` until `stop()`; every status is kept. */
function callers(name: string, workers: number, path: string) {
  let done = false;
  const statuses: number[] = [];
  const running = Promise.all(
    Array.from({ length: workers }, async () => {
      while (!done) {
        try {
          const res = await api.invoke(name, { method: 'GET', path });
          await res.arrayBuffer();
          statuses.push(res.status);
        } catch {
          statuses.push(-1);
        }
      }
    }),
  );
  return {
    statuses,
    async stop() {
      done = true;
      await running;
    },
  };
}

describe('autoscaling', () => {
  it('refuses bad scaling labels with a 400 naming the label', async () => {
    const image = `bundle://sha256:${'a'.repeat(64)}`;
    for (const [label, value] of [
      ['com.openfaas.scale.type', 'queue'],
      ['com.openfaas.scale.target', '-1'],
      ['com.openfaas.scale.target-proportion', '2'],
      ['com.openfaas.scale.zero', 'maybe'],
      ['com.openfaas.scale.zero-duration', 'later'],
      ['com.openfaas.scale.down.window', '1h'],
      ['com.openfaas.scale.max', '0'],
    ]) {
      const res = await api.system('POST', '/system/functions', { service: 'badlabels', image, labels: { [label]: value } });
      expect(res.status, `${label}=${value}`).toBe(400);
      expect((await res.json()).error.message).toContain(`labels.${label}`);
    }
  });

  it('scales up under a load step, down after the window, with no failed call', async () => {
    const labels = {
      'com.openfaas.scale.type': 'capacity',
      'com.openfaas.scale.target': '2',
      'com.openfaas.scale.target-proportion': '1',
      'com.openfaas.scale.max': '4',
      'com.openfaas.scale.down.window': '3s',
    };
    expect((await api.deploy('burst', 'version', { labels })).status).toBe(202);
    await until('burst', '1 available', (c) => c.availableReplicas === 1, 20_000);

    // 8 calls in flight all the time (each holds 300 ms) against a target of 2 per replica: 4 replicas.
    const heavy = callers('burst', 8, '/hold?ms=300');
    const upMs = await until('burst', '4 wanted', (c) => c.replicas === 4, 15_000);
    await until('burst', '4 available', (c) => c.availableReplicas === 4, 30_000);
    // About two turns of 0.5 s on a quiet machine; generous for a busy one.
    expect(upMs).toBeLessThan(10_000);

    // Metrics and the list show the count wanted, the count ready and the scaling.
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(/^gateway_service_count\{function_name="burst\.openfaas-fn"\} 4$/m);
    expect(metrics).toMatch(/^gateway_service_ready_count\{function_name="burst\.openfaas-fn"\} 4$/m);
    expect(metrics).toMatch(/^gateway_service_target_load\{function_name="burst\.openfaas-fn",scaling_type="capacity"\} 2$/m);
    expect(metrics).toMatch(/^gateway_service_max\{function_name="burst\.openfaas-fn"\} 4$/m);
    expect(metrics).toMatch(/^spindle_function_load\{function_name="burst\.openfaas-fn",scaling_type="capacity"\} \d/m);
    const listed = (await (await api.system('GET', '/system/functions')).json()) as Array<{ name: string; replicas: number; availableReplicas: number }>;
    expect(listed.find((f) => f.name === 'burst')).toMatchObject({ replicas: 4, availableReplicas: 4 });

    // Down to one caller: the window (3 s) keeps 4 replicas for a while, then they drain down to 1, while calls go on.
    const light = callers('burst', 1, '/hold?ms=300');
    await heavy.stop();
    const stepDown = Date.now();
    await sleep(1000);
    expect((await counts('burst')).replicas).toBe(4);
    await until('burst', '1 wanted', (c) => c.replicas === 1, 15_000);
    expect(Date.now() - stepDown).toBeGreaterThanOrEqual(2500);
    await until('burst', '1 available', (c) => c.availableReplicas === 1, 15_000);
    // The replicas taken out finish what they hold and exit.
    for (let i = 0; i < 100 && platform.provider.replicas('burst').length > 1; i++) await sleep(100);
    await light.stop();
    expect(platform.provider.replicas('burst')).toHaveLength(1);
    const failed = [...heavy.statuses, ...light.statuses].filter((s) => s !== 200);
    expect(heavy.statuses.length).toBeGreaterThan(20);
    expect(failed).toEqual([]);
  }, 90_000);

  it('holds a manual scale-up for the window, then scales back to min', async () => {
    const res = await api.system('POST', '/system/scale-function/burst', { serviceName: 'burst', replicas: 3 });
    expect((await res.json()).replicas).toBe(3);
    await until('burst', '3 available', (c) => c.availableReplicas === 3, 20_000);
    await until('burst', 'back to 1', (c) => c.replicas === 1, 15_000);
  }, 45_000);

  it('scales to zero after zero-duration; the next call wakes it and succeeds', async () => {
    const labels = { 'com.openfaas.scale.zero': 'true', 'com.openfaas.scale.zero-duration': '2s' };
    expect((await api.deploy('sleepy', 'version', { labels, envVars: { VERSION: 'v-zero' } })).status).toBe(202);
    await until('sleepy', '1 available', (c) => c.availableReplicas === 1, 20_000);
    expect((await api.invoke('sleepy', { method: 'GET' })).status).toBe(200);
    const idleMs = await until('sleepy', 'zero', (c) => c.replicas === 0 && c.availableReplicas === 0, 20_000);
    expect(idleMs).toBeGreaterThanOrEqual(1000);
    for (let i = 0; i < 100 && platform.provider.replicas('sleepy').length > 0; i++) await sleep(100);
    expect(platform.provider.replicas('sleepy')).toEqual([]);

    // While a function is at zero a spare `node` waits to become its next replica (a quicker wake).
    let spare: number | undefined;
    for (let i = 0; i < 100 && spare === undefined; i++) {
      spare = await spareProcess();
      if (spare === undefined) await sleep(100);
    }
    expect(spare).toBeDefined();

    // The call waits for a replica to start (the spare, with the function's own env), then answers.
    const woke = await api.invoke('sleepy', { method: 'GET' });
    expect(woke.status).toBe(200);
    expect(await woke.json()).toEqual({ version: 'v-zero', pid: spare });
    expect(await counts('sleepy')).toMatchObject({ replicas: 1, availableReplicas: 1 });
  }, 60_000);
});
