/**
 * `npm run bench:async`: async invocations of echo through one gateway in its own process (in-gateway queue
 * worker, NATS JetStream at NATS_URL, default nats://127.0.0.1:4222). Measures calls accepted/s and
 * completed/s in a burst, enqueue → callback latency p50/p99 in the burst and at a steady rate, and, as the
 * baseline of the same run, synchronous echo at the same concurrency. Prints a table and a `BENCH_JSON` line.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { buildFunction } from '@spindle/cli';
import { Pool, request } from 'undici';
import { uploadBundle, waitFor200, type GatewayAccess } from './gateway-api.ts';
import { percentile } from './load.ts';
import { describeMachine } from './machine.ts';
import { jsonLine, killAllSync, startNode, stopAll } from './procs.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const num = (name: string, fallback: number) => {
  const n = Number(process.env[name] || fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${process.env[name]}"`);
  return Math.round(n);
};
const CALLS = num('BENCH_ASYNC_CALLS', 4000);
const PACED_CALLS = num('BENCH_ASYNC_PACED_CALLS', 1000);
const RATE = num('BENCH_ASYNC_RATE', 200);
const CONNECTIONS = num('BENCH_ASYNC_CONNECTIONS', 32);
const NATS_URL = process.env.NATS_URL || 'nats://127.0.0.1:4222';
const PREFIX = `bench${randomBytes(3).toString('hex')}`;
const BODY = JSON.stringify({ message: 'hello from spindle bench', n: 42 });
const progress = (msg: string) => process.stderr.write(`bench:async: ${msg}\n`);

/** One scenario's figures. */
interface Row {
  scenario: string;
  calls: number;
  acceptedPerS: number;
  completedPerS: number;
  p50: number;
  p99: number;
  duplicates: number;
  missing: number;
}

/** Callback arrivals by call id (performance.now()), counted to spot duplicates. */
const arrivals = new Map<string, number>();
let duplicates = 0;
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const id = String(req.headers['x-call-id']);
    if (arrivals.has(id)) duplicates++;
    else arrivals.set(id, performance.now());
    res.writeHead(200).end();
  });
});

async function deploy(g: GatewayAccess, service: string, digest: string, annotations: Record<string, string>): Promise<void> {
  const res = await request(`${g.url}/system/functions`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`admin:${g.password}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ service, image: `bundle://${digest}`, annotations }),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`deploying ${service} failed: ${res.statusCode} ${text}`);
}

/** Sends `calls` requests through `pool`, at most CONNECTIONS at once, or one every 1000/rate ms when `rate` is set. */
async function drive(pool: Pool, path: string, calls: number, headers: Record<string, string>, rate?: number) {
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let next = 0;
  let lastAccepted = 0;
  const t0 = performance.now();
  const one = async (i: number) => {
    if (rate) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const start = performance.now();
    const res = await pool.request({ path, method: 'POST', headers, body: BODY });
    await res.body.dump();
    lastAccepted = performance.now();
    if (res.statusCode === 202) sent.set(String(res.headers['x-call-id']), start);
    else if (res.statusCode === 200) latencies.push(lastAccepted - start);
    else throw new Error(`${path} answered ${res.statusCode}`);
  };
  const workers = Array.from({ length: rate ? Math.max(CONNECTIONS, Math.ceil(rate / 20)) : CONNECTIONS }, async () => {
    for (let i = next++; i < calls; i = next++) await one(i);
  });
  await Promise.all(workers);
  return { sent, latencies, t0, acceptedS: (lastAccepted - t0) / 1000 };
}

async function asyncScenario(pool: Pool, scenario: string, fn: string, calls: number, callbackUrl: string, rate?: number): Promise<Row> {
  const dup0 = duplicates;
  const { sent, t0, acceptedS } = await drive(pool, `/async-function/${fn}`, calls, { 'content-type': 'application/json', 'x-callback-url': callbackUrl }, rate);
  const deadline = performance.now() + 120_000;
  while ([...sent.keys()].some((id) => !arrivals.has(id)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const lat = [...sent].filter(([id]) => arrivals.has(id)).map(([id, at]) => arrivals.get(id)! - at).sort((a, b) => a - b);
  const last = Math.max(...[...sent.keys()].map((id) => arrivals.get(id) ?? 0));
  return { scenario, calls, acceptedPerS: calls / acceptedS, completedPerS: calls / ((last - t0) / 1000), p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), duplicates: duplicates - dup0, missing: sent.size - lat.length };
}

async function syncBaseline(pool: Pool, calls: number): Promise<Row> {
  const { latencies, acceptedS } = await drive(pool, '/function/echo', calls, { 'content-type': 'application/json' });
  latencies.sort((a, b) => a - b);
  const rps = calls / acceptedS;
  return { scenario: `sync /function/echo, ${CONNECTIONS} conns`, calls, acceptedPerS: rps, completedPerS: rps, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), duplicates: 0, missing: 0 };
}

async function dropStreams(): Promise<void> {
  const nc = await connect({ servers: NATS_URL, timeout: 2000 });
  const jsm = await jetstreamManager(nc);
  for (const s of ['ASYNC', 'ASYNC_STATUS', 'ASYNC_DEAD']) await jsm.streams.delete(`${PREFIX}_${s}`).catch(() => {});
  await nc.close();
}

function print(rows: Row[]): void {
  const m = describeMachine();
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  const rule = '-'.repeat(100);
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out(rule);
  out(`Spindle async bench  ${new Date().toISOString()}`);
  out(`machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, Node ${m.node}, ${m.os}; NATS ${NATS_URL}; ${Buffer.byteLength(BODY)}-byte JSON body`);
  out(`latency = enqueue request sent → callback received (the load generator and callback receiver share the cores)`);
  out(rule);
  out(`${'scenario'.padEnd(40)}${pad('calls', 7)}${pad('accepted/s', 12)}${pad('completed/s', 13)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('dup', 5)}${pad('lost', 6)}`);
  for (const r of rows) {
    out(`${r.scenario.padEnd(40)}${pad(r.calls, 7)}${pad(Math.round(r.acceptedPerS), 12)}${pad(Math.round(r.completedPerS), 13)}${pad(r.p50.toFixed(1), 9)}${pad(r.p99.toFixed(1), 9)}${pad(r.duplicates, 5)}${pad(r.missing, 6)}`);
  }
  out(rule);
  process.stdout.write(`BENCH_JSON ${JSON.stringify({ bench: 'async', machine: m, nats: NATS_URL, rows })}\n`);
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'spindle-bench-async-'));
  process.on('exit', () => killAllSync());
  try {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cb`;
    const echo = await buildFunction({ name: 'echo', handlerDir: join(repoRoot, 'functions/echo'), stackDir: repoRoot, outDir: join(tmp, 'build'), force: true });
    const password = randomBytes(18).toString('base64url');
    // Autoscaling off: figures stay comparable with earlier runs (one echo replica).
    const gw = await startNode({
      name: 'gateway',
      args: ['--import', 'tsx', join(here, 'gateway-child.ts')],
      cwd: repoRoot,
      env: { ...process.env, SPINDLE_DATA_DIR: join(tmp, 'gateway'), SPINDLE_ADMIN_PASSWORD: password, SPINDLE_NATS_PREFIX: PREFIX, NATS_URL, SPINDLE_DRAIN_MS: '1000', LOG_LEVEL: 'warn', SPINDLE_AUTOSCALE: 'off' },
      ready: (line) => {
        const o = jsonLine(line);
        return o?.msg === 'listening' && typeof o.url === 'string' ? o.url : undefined;
      },
      timeoutMs: 60_000,
    });
    const g = { url: gw.ready, password };
    await uploadBundle(g, echo.digest, echo.bundlePath);
    await deploy(g, 'echo', echo.digest, {});
    await deploy(g, 'echo64', echo.digest, { 'com.openfaas.queue.max_inflight': '64' });
    await Promise.all([waitFor200(g, 'echo'), waitFor200(g, 'echo64')]);
    const pool = new Pool(g.url, { connections: Math.max(CONNECTIONS, Math.ceil(RATE / 20)), keepAliveTimeout: 30_000 });
    progress('warm-up');
    await asyncScenario(pool, 'warm-up', 'echo', 200, callbackUrl);
    await syncBaseline(pool, 500);
    const rows: Row[] = [];
    progress(`sync baseline: ${CALLS} calls`);
    rows.push(await syncBaseline(pool, CALLS));
    progress(`burst: ${CALLS} async calls, max_inflight 16 (the default)`);
    rows.push(await asyncScenario(pool, 'async burst, max_inflight 16 (default)', 'echo', CALLS, callbackUrl));
    progress(`burst: ${CALLS} async calls, max_inflight 64`);
    rows.push(await asyncScenario(pool, 'async burst, max_inflight 64', 'echo64', CALLS, callbackUrl));
    progress(`steady: ${PACED_CALLS} async calls at ${RATE}/s`);
    rows.push(await asyncScenario(pool, `async steady ${RATE}/s, max_inflight 16`, 'echo', PACED_CALLS, callbackUrl, RATE));
    await pool.close();
    print(rows);
  } finally {
    await stopAll();
    receiver.close();
    await dropStreams().catch((err) => progress(`could not delete streams ${PREFIX}_*: ${(err as Error).message}`));
    await rm(tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}

await main();
