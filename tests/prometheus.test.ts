/**
 * infra/prometheus and infra/grafana against the real thing: promtool checks the shipped config and rules and
 * runs the rules' unit tests; a real Prometheus (the machine's, temp storage, random port) runs the shipped
 * config with its targets rewritten to a live gateway and GPU runner and must read back
 * gateway_function_invocation_total after calls; every Grafana panel's query must parse on that Prometheus and
 * name only metrics the live gateway or runner export (registered at start, before any event).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { redisPrefix, startRunner, type RunnerProc } from './gpu-harness.ts';
import { type Api, MACHINE_PG, ROOT, run, startPlatform, tempDir, uniqueName } from './harness.ts';

const PROM = join(ROOT, 'infra/prometheus');
const DASHBOARDS = join(ROOT, 'infra/grafana/dashboards');
const hasPrometheus = (await run('sh', ['-c', 'command -v prometheus && command -v promtool'])).code === 0;
if (!hasPrometheus) console.warn('tests/prometheus.test.ts: prometheus/promtool not installed (apt-get install prometheus; .ci/run does): skipped');

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

/** Every PromQL expression of every panel of every shipped dashboard, with where it came from. */
async function panelQueries(): Promise<Array<{ where: string; expr: string }>> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const file of (await readdir(DASHBOARDS)).filter((f) => f.endsWith('.json'))) {
    const dash = JSON.parse(await readFile(join(DASHBOARDS, file), 'utf8'));
    for (const panel of dash.panels) for (const t of panel.targets ?? []) out.push({ where: `${file}: ${panel.title} ${t.refId}`, expr: t.expr });
  }
  return out;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'le', 'inf', 'nan']);

/** The metric names an expression reads: identifiers that are not functions, keywords, label names or durations. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '');
  return [...stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)].filter((m) => !m[2] && !KEYWORDS.has(m[1].toLowerCase())).map((m) => m[1]);
}

/** Metric families a /metrics page declares (`# TYPE name kind`), series names included for histograms. */
function exported(page: string): Set<string> {
  const names = new Set<string>();
  for (const m of page.matchAll(/^# TYPE (\S+) (\S+)/gm)) {
    names.add(m[1]);
    if (m[2] === 'histogram' || m[2] === 'summary') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1] + s);
  }
  return names;
}

describe.skipIf(!hasPrometheus)('Prometheus and Grafana config', () => {
  it('promtool: the shipped config and rules are valid, and the rules unit tests pass', async () => {
    const config = await run('promtool', ['check', 'config', join(PROM, 'prometheus.yml')]);
    expect(config.code, config.stdout + config.stderr).toBe(0);
    const rules = await run('promtool', ['check', 'rules', join(PROM, 'rules/spindle.yml')]);
    expect(rules.code, rules.stdout + rules.stderr).toBe(0);
    const tests = await run('promtool', ['test', 'rules', join(PROM, 'rules-tests/spindle.test.yml')]);
    expect(tests.code, tests.stdout + tests.stderr).toBe(0);
  });

  it('finds metric names in PromQL (so the dashboard check below can fail)', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, function_name) (rate(gateway_functions_seconds_bucket{code=~"5.."}[5m])))')).toEqual(['gateway_functions_seconds_bucket']);
    expect(metricNames('a_total / ignoring(x) b == 1 and on(y) up')).toEqual(['a_total', 'b', 'up']);
  });
});

describe.skipIf(!hasPrometheus)('a real Prometheus scraping a live gateway and GPU runner', () => {
  const redis = redisPrefix();
  let api: Api;
  let stop: () => Promise<void>;
  let runner: RunnerProc;
  let prom: ChildProcess | undefined;
  let promUrl = '';
  let gatewayMetrics = '';
  let runnerMetrics = '';
  const fn = uniqueName('promecho').replace('_', '-');
  const schema = uniqueName('spindle_prom');

  beforeAll(async () => {
    runner = await startRunner(redis.prefix);
    // The machine's Postgres on a schema of its own: quicker to start than embedded PGlite on a busy box.
    ({ api, stop } = await startPlatform({ redisPrefix: redis.prefix, natsPrefix: uniqueName('prom'), databaseUrl: MACHINE_PG, databaseSchema: schema }));
    // Before any call: what the exporters register at start is what the dashboards may name.
    gatewayMetrics = await (await fetch(`${api.url}/metrics`)).text();
    runnerMetrics = await (await fetch(runner.metricsUrl)).text();

    const shipped = YAML.parse(await readFile(join(PROM, 'prometheus.yml'), 'utf8'));
    const targets: Record<string, string> = { gateway: new URL(api.url).host, 'gpu-runner': new URL(runner.metricsUrl).host };
    const config = {
      ...shipped,
      global: { ...shipped.global, scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: shipped.rule_files.map((f: string) => join(PROM, f)),
      scrape_configs: shipped.scrape_configs
        .filter((j: { job_name: string }) => j.job_name in targets)
        .map((j: { job_name: string }) => ({ ...j, static_configs: [{ targets: [targets[j.job_name]] }] })),
    };
    expect(config.scrape_configs).toHaveLength(2);
    const dir = await tempDir('spindle-prom-');
    await writeFile(join(dir, 'prometheus.yml'), YAML.stringify(config));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      if ((await fetch(`${promUrl}/-/ready`).catch(() => null))?.ok) break;
      if (i > 150) throw new Error('prometheus did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 90_000);

  afterAll(async () => {
    prom?.kill('SIGTERM');
    await stop?.();
    await runner?.stop();
    await redis.cleanup();
    const client = new pg.Client({ connectionString: MACHINE_PG });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  async function query(expr: string): Promise<{ status: string; error?: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }> {
    return (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).json();
  }

  it('reads back gateway_function_invocation_total through the HTTP API after calls', async () => {
    expect((await api.deploy(fn, 'echo')).status).toBeLessThan(300);
    await api.waitReplicas(fn, 1);
    for (let i = 0; i < 3; i++) expect((await api.invoke(fn, { body: 'hi' })).status).toBe(200);
    const expr = `gateway_function_invocation_total{job="gateway",function_name="${fn}.openfaas-fn",code="200"}`;
    const deadline = Date.now() + 20_000;
    let value = 0;
    while (Date.now() < deadline) {
      const r = await query(expr);
      value = Number(r.data?.result[0]?.value[1] ?? 0);
      if (value === 3) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(value).toBe(3);
    // The runner was scraped too (each target has its own offset within the interval: wait for its first
    // scrape), and the shipped rules loaded and evaluate.
    let up = '';
    while (Date.now() < deadline + 10_000) {
      up = (await query('up{job="gpu-runner"}')).data?.result[0]?.value[1] ?? '';
      if (up === '1') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(up).toBe('1');
    const rules = await (await fetch(`${promUrl}/api/v1/rules`)).json();
    const all = rules.data.groups.flatMap((g: { rules: Array<{ name: string; health: string }> }) => g.rules);
    expect(all.length).toBeGreaterThan(5);
    expect(all.filter((r: { health: string }) => r.health === 'err')).toEqual([]);
  }, 60_000);

  it('every Grafana panel query parses, and names only metrics the gateway or runner export at start', async () => {
    const names = new Set([...exported(gatewayMetrics), ...exported(runnerMetrics), 'up']);
    const queries = await panelQueries();
    expect(queries.length).toBeGreaterThan(15);
    const problems: string[] = [];
    for (const { where, expr } of queries) {
      const r = await query(expr);
      if (r.status !== 'success') problems.push(`${where}: ${r.error}`);
      const used = metricNames(expr);
      if (used.length === 0) problems.push(`${where}: names no metric`);
      for (const name of used) if (!names.has(name)) problems.push(`${where}: ${name} is not exported by a live gateway or runner`);
    }
    expect(problems).toEqual([]);
  }, 30_000);
});
