/**
 * Replicas that never report ready: the start timeout kills them with a line in `spindle logs`, and they are
 * restarted with backoff; during a rollout whose new version never gets ready, the old replicas keep serving
 * and one that crashes is replaced. Real gateway, real replica processes, the real CLI for the logs.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '@spindle/gateway';
import { alive, ROOT, run, startPlatform, type Api } from './harness.ts';

const START_TIMEOUT_MS = 3000;
const NEVER = { START_DELAY_MS: '600000' };
let api: Api;
let platform: Platform;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ api, platform, stop } = await startPlatform({ readyWaitMs: 300, drainMs: 2000, startTimeoutMs: START_TIMEOUT_MS }));
}, 120_000);
afterAll(() => stop?.());

/** `spindle logs NAME` against the test gateway. */
async function logs(name: string): Promise<string> {
  const res = await run(process.execPath, [join(ROOT, 'cli', 'bin', 'spindle.mjs'), 'logs', name, '-g', api.url], { env: { SPINDLE_ADMIN_PASSWORD: api.password } });
  expect(res.code, res.stderr).toBe(0);
  return res.stdout;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function restarts(name: string): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const m = new RegExp(`^spindle_replica_restarts_total\\{function_name="${name}\\.openfaas-fn"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** Sends GETs from `workers` loops until `done()` is true; returns every status seen. */
async function load(name: string, workers: number, done: () => boolean): Promise<number[]> {
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!done()) {
        const res = await api.invoke(name, { method: 'GET' }).catch(() => null);
        statuses.push(res?.status ?? -1);
        await res?.text();
      }
    }),
  );
  return statuses;
}

describe('replica start timeout', () => {
  it('kills a replica that never reports ready, says so in `spindle logs`, and restarts it with backoff', async () => {
    expect((await api.deploy('stuck', 'blocked-start', { envVars: NEVER })).status).toBe(202);
    const first = await until('a first replica', () => platform.provider.replicas('stuck')[0]);
    // Two timeouts in a row: the second restart waits longer than the first (failure 1, then 2).
    const text = await until('two start timeouts in the logs', async () => {
      const t = await logs('stuck');
      return /failure 2 in a row/.test(t) && t;
    });
    expect(text).toContain(`${first.id} [spindle] replica did not report ready within ${START_TIMEOUT_MS} ms (SPINDLE_START_TIMEOUT_MS); killing it`);
    expect(text).toMatch(new RegExp(`${first.id} \\[spindle\\] replica did not get ready in time; a new replica replaces it in \\d+ ms \\(failure 1 in a row\\)`));
    expect(alive(first.pid!)).toBe(false);
    expect(platform.provider.replicas('stuck').map((r) => r.id)).not.toContain(first.id);
    expect(await restarts('stuck')).toBeGreaterThanOrEqual(2);
    // Callers get the usual 503 meanwhile, pointing at the logs.
    const res = await api.invoke('stuck', { method: 'GET' });
    expect(res.status).toBe(503);
    expect((await res.json()).error.message).toContain('spindle logs stuck');

    // A fixed version gets ready and serves; nothing of the stuck one is left.
    expect((await api.deploy('stuck', 'blocked-start', { envVars: { START_DELAY_MS: '0' } })).status).toBe(202);
    await api.waitReplicas('stuck', 1, 30_000);
    expect(await (await api.invoke('stuck', { method: 'GET' })).text()).toBe('started');
    await until('only version 2 left', () => platform.provider.replicas('stuck').every((r) => r.id.startsWith('stuck-2-')));
  }, 120_000);

  it('keeps old replicas serving while a new version never gets ready, and replaces one that crashes', async () => {
    const labels = { 'com.openfaas.scale.min': '2' };
    await api.deploy('stall', 'blocked-start', { envVars: { START_DELAY_MS: '0' }, labels });
    await api.waitReplicas('stall', 2, 30_000);
    expect((await api.deploy('stall', 'blocked-start', { envVars: NEVER, labels })).status).toBe(202);

    let done = false;
    const traffic = load('stall', 4, () => done);
    try {
      // Version 2 keeps timing out; version 1 keeps serving.
      await until('a version 2 start timeout', async () => /stall-2-\S+ \[spindle\] replica did not report ready/.test(await logs('stall')));
      const victim = platform.provider.replicas('stall').find((r) => r.id.startsWith('stall-1-') && r.state === 'ready')!;
      process.kill(victim.pid!, 'SIGKILL');
      await until('two ready version 1 replicas again, the killed one replaced', () => {
        const ready = platform.provider.replicas('stall').filter((r) => r.id.startsWith('stall-1-') && r.state === 'ready');
        return ready.length === 2 && ready.every((r) => r.id !== victim.id);
      });
      expect(await logs('stall')).toMatch(new RegExp(`${victim.id} \\[spindle\\] replica exited unexpectedly \\(signal SIGKILL\\); version 2 is not ready yet, so a version 1 replica replaces it in \\d+ ms`));
      await new Promise((r) => setTimeout(r, 2 * START_TIMEOUT_MS));
    } finally {
      done = true;
    }
    const statuses = await traffic;
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(20);
    // Only a request the killed replica held may fail.
    expect(statuses.filter((s) => s !== 200 && s !== 502).length, JSON.stringify(statuses.filter((s) => s !== 200))).toBe(0);
    expect(statuses.filter((s) => s === 502).length).toBeLessThanOrEqual(4);

    // A version that gets ready ends the rollout: only its replicas are left.
    await api.deploy('stall', 'blocked-start', { envVars: { START_DELAY_MS: '0' }, labels });
    await until('only version 3 left', () => {
      const ids = platform.provider.replicas('stall').map((r) => r.id);
      return ids.length === 2 && ids.every((id) => id.startsWith('stall-3-'));
    });
  }, 120_000);
});
