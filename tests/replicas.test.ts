/** Replica lifecycle against real processes: scaling, kill -9 recovery, rolling redeploy under load, not-ready 503, secrets and env. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, startPlatform, type Api } from './harness.ts';
import type { Platform } from '@spindle/gateway';

let api: Api;
let platform: Platform;
let stop: () => Promise<void>;

beforeAll(async () => {
  const started = await startPlatform({ readyWaitMs: 300, drainMs: 3000 });
  ({ api, platform, stop } = started);
}, 60_000);
afterAll(() => stop?.());

/** Sends requests from `workers` loops until `until` resolves; returns every status seen. */
async function load(name: string, workers: number, until: Promise<unknown>, path = ''): Promise<{ statuses: number[]; bodies: string[] }> {
  let done = false;
  void until.finally(() => (done = true));
  const statuses: number[] = [];
  const bodies: string[] = [];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!done) {
        try {
          const res = await api.invoke(name, { method: 'GET', path });
          statuses.push(res.status);
          bodies.push(await res.text());
        } catch (err) {
          statuses.push(-1);
          bodies.push(String(err));
        }
      }
    }),
  );
  return { statuses, bodies };
}

describe('replicas', () => {
  it('scales within the com.openfaas.scale labels and balances across replicas', async () => {
    const res = await api.deploy('scaled', 'version', { labels: { 'com.openfaas.scale.min': '2', 'com.openfaas.scale.max': '3' } });
    expect(res.status).toBe(202);
    await api.waitReplicas('scaled', 2);
    const pids = new Set<number>();
    await Promise.all(Array.from({ length: 20 }, async () => pids.add((await (await api.invoke('scaled', { method: 'GET', path: '/hold?ms=50' })).json()).pid)));
    expect(pids.size).toBe(2);

    const up = await api.system('POST', '/system/scale-function/scaled', { serviceName: 'scaled', replicas: 10 });
    expect(up.status).toBe(202);
    expect((await up.json()).replicas).toBe(3);
    await api.waitReplicas('scaled', 3);
    const down = await api.system('POST', '/system/scale-function/scaled', { serviceName: 'scaled', replicas: 1 });
    expect((await down.json()).replicas).toBe(2);
    await api.waitReplicas('scaled', 2);
    expect((await api.system('POST', '/system/scale-function/scaled', { replicas: -1 })).status).toBe(400);
    expect((await api.system('POST', '/system/scale-function/missing', { replicas: 1 })).status).toBe(404);

    // Scale to zero; the next call starts a replica again.
    await api.system('POST', '/system/scale-function/scaled', { replicas: 0 });
    await api.waitReplicas('scaled', 0);
    const cold = await api.system('GET', '/system/function/scaled');
    expect((await cold.json()).replicas).toBe(0);
    const again = await fetch(`${api.url}/function/scaled`);
    expect([200, 503]).toContain(again.status);
  });

  it('restarts a replica killed with -9; requests it held get a clear 502; the others keep serving', async () => {
    await api.deploy('crashy', 'version', { labels: { 'com.openfaas.scale.min': '2' } });
    await api.waitReplicas('crashy', 2);
    const before = platform.provider.replicas('crashy');
    expect(before).toHaveLength(2);

    // A request held by a replica that dies gets a 502 naming the replica.
    const crash = await api.invoke('crashy', { method: 'GET', path: '/crash' });
    expect(crash.status).toBe(502);
    expect((await crash.json()).error.message).toMatch(/replica crashy-\d+-[0-9a-f]+ of function crashy failed/);

    // The crashed replica is replaced (after a short backoff) before we kill another one.
    await new Promise((r) => setTimeout(r, 300));
    await api.waitReplicas('crashy', 2);
    const victim = platform.provider.replicas('crashy').find((r) => r.state === 'ready' && alive(r.pid!))!;
    const killed = new Promise((r) => setTimeout(r, 1500));
    const traffic = load('crashy', 4, killed);
    await new Promise((r) => setTimeout(r, 200));
    process.kill(victim.pid!, 'SIGKILL');
    const { statuses } = await traffic;
    // Only requests the dying replica held may fail; the other replica keeps serving.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(10);
    expect(statuses.filter((s) => s !== 200 && s !== 502)).toEqual([]);
    await api.waitReplicas('crashy', 2);
    expect(alive(victim.pid!)).toBe(false);
    const after = platform.provider.replicas('crashy').map((r) => r.pid);
    expect(after).not.toContain(victim.pid);
    // Both replacements are counted (one crash, one kill -9).
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(/^spindle_replica_restarts_total\{function_name="crashy\.openfaas-fn"\} 2$/m);
  });

  it('rolls a redeploy under load with zero failed requests', async () => {
    await api.deploy('rolling', 'version', { envVars: { VERSION: 'v1' }, labels: { 'com.openfaas.scale.min': '2' } });
    await api.waitReplicas('rolling', 2);
    let redeployed!: () => void;
    const finished = new Promise<void>((r) => (redeployed = r));
    const traffic = load('rolling', 16, finished);
    await new Promise((r) => setTimeout(r, 300));
    const res = await api.deploy('rolling', 'version', { envVars: { VERSION: 'v2' }, labels: { 'com.openfaas.scale.min': '2' } });
    expect(res.status).toBe(202);
    // Keep the load on until v2 answers and v1 has drained away.
    for (let i = 0; i < 200; i++) {
      const body = await (await api.invoke('rolling', { method: 'GET' })).json();
      if (body.version === 'v2' && platform.provider.replicas('rolling').every((r) => r.id.startsWith('rolling-2-'))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    redeployed();
    const { statuses, bodies } = await traffic;
    expect(statuses.length).toBeGreaterThan(100);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const versions = new Set(bodies.map((b) => JSON.parse(b).version));
    expect(versions).toEqual(new Set(['v1', 'v2']));
    expect(platform.provider.replicas('rolling').map((r) => r.id.split('-')[1])).toEqual(['2', '2']);
  });

  it('answers 503 when no replica becomes ready within the wait bound, then serves once it is', async () => {
    await api.deploy('late', 'blocked-start', { envVars: { START_DELAY_MS: '1500' } });
    const early = await api.invoke('late', { method: 'GET' });
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBe('1');
    expect((await early.json()).error.message).toContain('no ready replica');
    await api.waitReplicas('late', 1);
    expect(await (await api.invoke('late', { method: 'GET' })).text()).toBe('started');
  });

  it('gives a function its env vars and secrets as files, and never shows secret values', async () => {
    const created = await api.system('POST', '/system/secrets', { name: 'api-key', value: 's3cr3t-value' });
    expect(created.status).toBe(201);
    expect((await api.system('POST', '/system/secrets', { name: 'api-key', value: 'x' })).status).toBe(409);
    expect((await api.system('POST', '/system/secrets', { name: 'Bad Name', value: 'x' })).status).toBe(400);
    const missingSecret = await api.deploy('secretive', 'secret', { secrets: ['nope'] });
    expect(missingSecret.status).toBe(400);
    expect((await missingSecret.json()).error.message).toMatch(/secrets/);

    const res = await api.deploy('secretive', 'secret', { secrets: ['api-key'], envVars: { GREETING: 'hi' } });
    expect(res.status).toBe(202);
    await api.waitReplicas('secretive', 1);
    const out = await (await api.invoke('secretive', { method: 'GET', path: '?name=api-key&env=GREETING' })).json();
    expect(out).toEqual({ secret: 's3cr3t-value', env: 'hi', leakedPassword: null });

    const list = await (await api.system('GET', '/system/secrets')).text();
    expect(list).toContain('api-key');
    expect(list).not.toContain('s3cr3t');
    const described = await (await api.system('GET', '/system/function/secretive')).text();
    expect(described).toContain('api-key');
    expect(described).not.toContain('s3cr3t');
    const logs = await (await api.system('GET', '/system/logs?name=secretive')).text();
    expect(logs).not.toContain('s3cr3t');

    expect((await api.system('PUT', '/system/secrets', { name: 'api-key', value: 'rotated' })).status).toBe(202);
    expect((await api.system('PUT', '/system/secrets', { name: 'ghost', value: 'x' })).status).toBe(404);
    // A redeploy picks up the rotated value.
    const redeploy = await api.deploy('secretive', 'secret', { secrets: ['api-key'] });
    expect(redeploy.status, await redeploy.clone().text()).toBe(202);
    for (let i = 0; i < 100; i++) {
      const now = await (await api.invoke('secretive', { method: 'GET', path: '?name=api-key' })).json();
      if (now.secret === 'rotated') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await (await api.invoke('secretive', { method: 'GET', path: '?name=api-key' })).json()).secret).toBe('rotated');
    expect((await api.system('DELETE', '/system/secrets', { name: 'api-key' })).status).toBe(202);
    expect((await api.system('DELETE', '/system/secrets', { name: 'api-key' })).status).toBe(404);
  });
});
