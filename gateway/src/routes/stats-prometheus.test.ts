/**
 * `GET /system/stats` with PROMETHEUS_URL: a real Prometheus (the machine's `prometheus`, temp storage, a
 * random port, 1 s scrapes) scrapes a real gateway listening on a random port, and the stats come back from
 * its range queries (`source: "prometheus"`); with a Prometheus that does not answer, the gateway's own
 * numbers come back with a `warning`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectPlatform, type InjectedPlatform } from './inject-support.ts';

const hasPrometheus = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).status === 0;
if (!hasPrometheus) console.warn('stats-prometheus.test.ts: no prometheus binary (apt-get install prometheus; .ci/run does): skipped');

const FLAKY = `import { createServer } from 'node:http';
const server = createServer((req, res) => { res.statusCode = req.url.startsWith('/fail') ? 503 : 200; res.end('ok'); });
server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
process.on('SIGTERM', () => process.exit(0));
`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(!hasPrometheus)('GET /system/stats from a real Prometheus', () => {
  let p: InjectedPlatform;
  let prom: ChildProcess | undefined;
  let dir: string;
  let promUrl: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spindle-prom-'));
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    p = await injectPlatform({ prometheusUrl: promUrl });
    const gateway = new URL(await p.platform.app.listen({ host: '127.0.0.1', port: 0 }));
    await writeFile(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: gateway\n    static_configs: [{ targets: ['${gateway.host}'] }]\n`,
    );
    prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: 'ignore' });
    await until('Prometheus to be ready', 30_000, async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined));
  }, 60_000);
  afterAll(async () => {
    prom?.kill('SIGTERM');
    await p?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers with source "prometheus": rates, error rate and latency per function and in all', async () => {
    expect((await p.deploy('prom-fn', { image: await p.upload(FLAKY) })).statusCode).toBe(202);
    const call = (path: string) => p.request({ method: 'GET', url: `/function/prom-fn/${path}`, auth: false });
    // A counter's first sample counts as its start (Prometheus sees no increase in it): call once per status
    // code, let a scrape see both series, then call again.
    await call('ok');
    await call('fail');
    await until('a first scrape of both counters', 15_000, async () => {
      const r = await (await fetch(`${promUrl}/api/v1/query?query=gateway_function_invocation_total`)).json();
      return r.data.result.length >= 2 ? true : undefined;
    });
    for (const path of ['ok', 'ok', 'ok', 'ok', 'fail', 'fail']) await call(path);
    const stats = await until('Prometheus to see the calls', 20_000, async () => {
      const s = (await p.request({ method: 'GET', url: '/system/stats?window=300&step=5' })).json();
      return s.functions?.['prom-fn']?.errors > 0 && s.functions['prom-fn'].success > 0 ? s : undefined;
    });
    expect(stats).toMatchObject({ window: 300, step: 5, source: 'prometheus' });
    expect(stats.warning).toBeUndefined();
    expect(stats.t).toHaveLength(60);
    const f = stats.functions['prom-fn'];
    expect(f.invocations).toBe(f.success + f.errors);
    expect(f.p50).toBeGreaterThan(0);
    for (const key of ['rate', 'errorRate', 'p50s', 'p99s']) expect(f[key], key).toHaveLength(60);
    expect(Math.max(...f.rate)).toBeGreaterThan(0);
    expect(Math.max(...f.errorRate)).toBeGreaterThan(0);
    expect(Math.max(...stats.total.rate)).toBeGreaterThan(0);
    expect(stats.total.p99.some((v: number | null) => v !== null && v > 0)).toBe(true);
  }, 60_000);
});

describe('GET /system/stats when Prometheus does not answer', () => {
  it('falls back to the gateway numbers and says so, without the URL credentials', async () => {
    const p = await injectPlatform({ prometheusUrl: `http://user:hunter2@127.0.0.1:${await freePort()}` });
    try {
      const res = await p.request({ method: 'GET', url: '/system/stats?window=900&step=10' });
      expect(res.statusCode).toBe(200);
      const s = res.json();
      expect(s.source).toBe('gateway');
      expect(s.warning).toMatch(/^Prometheus at http:\/\/127\.0\.0\.1:\d+ failed/);
      expect(res.body).not.toContain('hunter2');
      expect(s.t).toHaveLength(90);
    } finally {
      await p.close();
    }
  });
});
