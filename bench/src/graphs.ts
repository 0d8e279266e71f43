/**
 * `npm run bench:graphs`: orchestration overhead of graph runs. A 10-node chain of no-op functions, with
 * checkpointing on: per run, (run wall time − the sum of the nodes' function call times) / 10, p50/p99;
 * then runs/s with 16 runs in flight. Measured on embedded PGlite (the default) and the machine's
 * PostgreSQL, each against a gateway in this process.
 */
import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { buildFunction } from '@spindle/cli';
import { configFromEnv, createPlatform, type PlatformConfig } from '@spindle/gateway';
import { percentile } from './load.ts';
import { describeMachine } from './machine.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const NODES = 10;
const RUNS = Number(process.env.BENCH_GRAPH_RUNS ?? 60);
const CONCURRENT_S = Number(process.env.BENCH_DURATION ?? 8);
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Figures {
  backend: string;
  overheadP50: number;
  overheadP99: number;
  runP50: number;
  functionP50: number;
  runsPerS: number;
  failures: number;
}

async function measure(backend: string, overrides: Partial<PlatformConfig>, bundle: { digest: string; bytes: Buffer }): Promise<Figures> {
  const dataDir = await mkdtemp(join(tmpdir(), 'spindle-bench-graphs-'));
  const platform = await createPlatform({ ...configFromEnv({}), dataDir, port: 0, adminPassword: 'bench', logLevel: 'warn', natsPrefix: `bench_${Date.now()}`, autoscale: false, ...overrides }, pino({ level: 'warn' }));
  try {
    const url = await platform.listen();
    const auth = { authorization: `Basic ${Buffer.from('admin:bench').toString('base64')}` };
    const call = (method: string, path: string, body?: unknown) =>
      fetch(url + path, { method, headers: { ...auth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    await fetch(`${url}/system/bundles/sha256:${bundle.digest}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: new Uint8Array(bundle.bytes) });
    await call('POST', '/system/functions', { service: 'noop', image: `bundle://sha256:${bundle.digest}`, labels: { 'com.openfaas.scale.min': '2' } });
    for (let i = 0; i < 200 && (await fetch(`${url}/function/noop`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
    const nodes: Record<string, unknown> = {};
    for (let i = 1; i <= NODES; i++) nodes[`n${i}`] = { function: 'noop', ...(i > 1 && { needs: [`n${i - 1}`] }) };
    const put = await call('PUT', '/system/graphs/chain', { nodes });
    if (put.status >= 300) throw new Error(`graph deploy failed: ${await put.text()}`);

    const overheads: number[] = [];
    const runTimes: number[] = [];
    const fnTimes: number[] = [];
    let failures = 0;
    for (let i = 0; i < RUNS + 5; i++) {
      const t0 = performance.now();
      const res = await call('POST', '/graphs/chain/runs?wait=true', { input: {} });
      const wall = performance.now() - t0;
      const body = (await res.json()) as { runId: string; status: string };
      if (body.status !== 'succeeded') {
        failures++;
        continue;
      }
      if (i < 5) continue; // warm-up
      const run = (await (await call('GET', `/runs/${body.runId}`)).json()) as { nodes: Array<{ durationMs: number }> };
      const fnSum = run.nodes.reduce((a, n) => a + n.durationMs, 0);
      overheads.push((wall - fnSum) / NODES);
      runTimes.push(wall);
      fnTimes.push(fnSum / NODES);
    }
    const sort = (a: number[]) => Float64Array.from(a).sort();

    let done = 0;
    const deadline = performance.now() + CONCURRENT_S * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (performance.now() < deadline) {
          const res = await call('POST', '/graphs/chain/runs?wait=true', { input: {} });
          const body = (await res.json()) as { status: string };
          if (body.status === 'succeeded') done++;
          else failures++;
        }
      }),
    );
    const runsPerS = done / ((performance.now() - started) / 1000);
    return {
      backend,
      overheadP50: percentile(sort(overheads), 0.5),
      overheadP99: percentile(sort(overheads), 0.99),
      runP50: percentile(sort(runTimes), 0.5),
      functionP50: percentile(sort(fnTimes), 0.5),
      runsPerS,
      failures,
    };
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const outDir = await mkdtemp(join(tmpdir(), 'spindle-bench-build-'));
  const built = await buildFunction({ name: 'noop', handlerDir: join(ROOT, 'bench', 'fixtures', 'noop'), stackDir: ROOT, outDir });
  const bundle = { digest: built.digest.replace('sha256:', ''), bytes: await readFile(built.bundlePath) };
  const results: Figures[] = [];
  const only = process.env.BENCH_GRAPH_DB; // pglite | postgres | unset for both
  if (only !== 'postgres') {
    process.stderr.write('bench: embedded PGlite\n');
    results.push(await measure('embedded PGlite', {}, bundle));
  }
  const schema = `bench_graphs_${Date.now()}`;
  const client = new pg.Client({ connectionString: PG_URL });
  try {
    if (only === 'pglite') throw new Error('BENCH_GRAPH_DB=pglite');
    await client.connect();
    process.stderr.write('bench: PostgreSQL\n');
    results.push(await measure('PostgreSQL 127.0.0.1', { databaseUrl: PG_URL, databaseSchema: schema }, bundle));
  } catch (err) {
    process.stderr.write(`bench: skipping PostgreSQL (${(err as Error).message})\n`);
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await client.end().catch(() => {});
  }
  await rm(outDir, { recursive: true, force: true });

  const m = describeMachine();
  const f = (n: number) => n.toFixed(2).padStart(9);
  console.log('-'.repeat(100));
  console.log(`Spindle graph bench  ${new Date().toISOString()}`);
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, Node ${m.node}, load avg ${m.loadAvg1}`);
  console.log(`graph: ${NODES}-node chain of no-op functions, checkpoints on; ${RUNS} sequential runs, then 16 concurrent runs for ${CONCURRENT_S} s`);
  console.log('-'.repeat(100));
  console.log(`${'database'.padEnd(22)}${'overhead/node p50 ms'.padStart(22)}${'p99 ms'.padStart(9)}${'run p50 ms'.padStart(12)}${'fn call p50 ms'.padStart(16)}${'runs/s (16)'.padStart(13)}  failures`);
  for (const r of results) {
    console.log(`${r.backend.padEnd(22)}${f(r.overheadP50).padStart(22)}${f(r.overheadP99)}${f(r.runP50).padStart(12)}${f(r.functionP50).padStart(16)}${r.runsPerS.toFixed(1).padStart(13)}  ${r.failures}`);
  }
  console.log('-'.repeat(100));
  for (const r of results) console.log(`${r.backend}: overhead per node p50 ${r.overheadP50.toFixed(2)} ms, target <= 3 ms: ${r.overheadP50 <= 3 ? 'PASS' : 'MISS'}`);
  console.log(`BENCH_JSON ${JSON.stringify({ machine: m, results })}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
