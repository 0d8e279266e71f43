/**
 * `npm run bench:langgraph`: what the LangGraph Platform API adds to a run. The `demo` graph (greet → shout ∥
 * wordcount → report, from stack.yml) run to the end through the official SDK's `runs.wait` (threadless) and
 * through our own `POST /graphs/demo/runs?wait=true`, alternating in pairs so other load weighs on both sides
 * alike; prints each side's p50/p90, the p50 difference and the ratio. A gateway in this process on embedded
 * PGlite (BENCH_DATABASE_URL: that PostgreSQL instead).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@langchain/langgraph-sdk';
import pg from 'pg';
import { pino } from 'pino';
import { parse } from 'yaml';
import { buildFunction } from '@spindle/cli';
import { configFromEnv, createPlatform } from '@spindle/gateway';
import { percentile } from './load.ts';
import { describeMachine } from './machine.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PAIRS = Number(process.env.BENCH_LANGGRAPH_PAIRS ?? 100);
const WARMUP = 10;
const FUNCTIONS: Record<string, string> = { greet: 'greet', shout: 'shout', wordcount: 'wordcount', report: 'report' };

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'spindle-bench-langgraph-'));
  const pgUrl = process.env.BENCH_DATABASE_URL;
  const schema = `bench_langgraph_${Date.now()}`;
  const platform = await createPlatform(
    { ...configFromEnv({}), dataDir, port: 0, adminPassword: 'bench', logLevel: 'warn', natsPrefix: `bench_lg_${Date.now()}`, autoscale: false, ...(pgUrl && { databaseUrl: pgUrl, databaseSchema: schema }) },
    pino({ level: 'warn' }),
  );
  try {
    const url = await platform.listen();
    const auth = { authorization: `Basic ${Buffer.from('admin:bench').toString('base64')}` };
    const call = (method: string, path: string, body?: unknown) =>
      fetch(url + path, { method, headers: { ...auth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    for (const [name, folder] of Object.entries(FUNCTIONS)) {
      const outDir = await mkdtemp(join(tmpdir(), 'spindle-bench-build-'));
      const built = await buildFunction({ name, handlerDir: join(ROOT, 'functions', folder), stackDir: ROOT, outDir });
      const digest = built.digest.replace('sha256:', '');
      await fetch(`${url}/system/bundles/sha256:${digest}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: new Uint8Array(await readFile(built.bundlePath)) });
      await rm(outDir, { recursive: true, force: true });
      const res = await call('POST', '/system/functions', { service: name, image: `bundle://sha256:${digest}` });
      if (res.status !== 202) throw new Error(`deploying ${name} failed: ${res.status} ${await res.text()}`);
    }
    for (const name of Object.keys(FUNCTIONS)) {
      for (let i = 0; i < 400 && (await (await call('GET', `/system/function/${name}`)).json()).availableReplicas < 1; i++) await new Promise((r) => setTimeout(r, 50));
    }
    const demo = parse(await readFile(join(ROOT, 'stack.yml'), 'utf8')).graphs.demo;
    const put = await call('PUT', '/system/graphs/demo', demo);
    if (put.status >= 300) throw new Error(`graph deploy failed: ${await put.text()}`);

    const client = new Client({ apiUrl: url, apiKey: null, defaultHeaders: { 'x-api-key': 'bench' } });
    const input = { name: 'Ada' };
    const ours = async () => {
      const t0 = performance.now();
      const body = (await (await call('POST', '/graphs/demo/runs?wait=true', { input })).json()) as { status: string };
      if (body.status !== 'succeeded') throw new Error(`run ${body.status}`);
      return performance.now() - t0;
    };
    const sdk = async () => {
      const t0 = performance.now();
      const values = (await client.runs.wait(null, 'demo', { input })) as { output?: unknown };
      if (!values.output) throw new Error('runs.wait answered no output');
      return performance.now() - t0;
    };
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < PAIRS + WARMUP; i++) {
      // Alternate which side goes first, so neither always follows the other.
      let x: number;
      let y: number;
      if (i % 2) {
        x = await ours();
        y = await sdk();
      } else {
        y = await sdk();
        x = await ours();
      }
      if (i >= WARMUP) {
        a.push(x);
        b.push(y);
      }
    }
    const sorted = (v: number[]) => Float64Array.from(v).sort();
    const [oa, ob] = [sorted(a), sorted(b)];
    const m = describeMachine();
    console.log('-'.repeat(90));
    console.log(`Spindle LangGraph API bench  ${new Date().toISOString()}`);
    console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, Node ${m.node}, load avg ${m.loadAvg1}`);
    console.log(`graph: demo (4 nodes), ${pgUrl ? 'PostgreSQL' : 'embedded PGlite'}, ${PAIRS} sequential pairs after ${WARMUP} warm-up pairs`);
    console.log('-'.repeat(90));
    const row = (label: string, v: Float64Array) => console.log(`${label.padEnd(48)}${percentile(v, 0.5).toFixed(2).padStart(10)}${percentile(v, 0.9).toFixed(2).padStart(10)}`);
    console.log(`${'path'.padEnd(48)}${'p50 ms'.padStart(10)}${'p90 ms'.padStart(10)}`);
    row('POST /graphs/demo/runs?wait=true (baseline)', oa);
    row('SDK runs.wait (POST /runs/wait)', ob);
    const added = percentile(ob, 0.5) - percentile(oa, 0.5);
    // Each pair ran back to back, so the median of the pairs' differences is less swayed by other load than the p50s.
    const pairedAdded = percentile(sorted(b.map((v, i) => v - a[i])), 0.5);
    console.log('-'.repeat(90));
    console.log(`runs.wait adds ${added.toFixed(2)} ms at p50 (median of the pairs' differences: ${pairedAdded.toFixed(2)} ms); ratio ${(percentile(ob, 0.5) / percentile(oa, 0.5)).toFixed(3)}x the baseline`);
    console.log(`BENCH_JSON ${JSON.stringify({ machine: m, pairs: PAIRS, baselineP50: percentile(oa, 0.5), sdkP50: percentile(ob, 0.5), addedP50: added, pairedAddedP50: pairedAdded })}`);
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
    if (pgUrl) {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
