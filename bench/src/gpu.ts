/**
 * `npm run bench:gpu`: in one run, bare onnxruntime `session.run` in a loop (the floor) against the
 * same generated models through gateway + Redis stream + runner. The trivial MLP (16 → 64 → 16)
 * measures what the path adds to one call and the path's own ceiling; the heavy one (recipe in
 * tests/fixtures/gpu-heavy), whose inference
 * dominates, measures throughput at concurrency 32, batched against unbatched and against the bare loop
 * (in alternating pairs, so that other load on the machine weighs on both sides alike).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import ort from 'onnxruntime-node';
import { pino } from 'pino';
import { Pool } from 'undici';
import { buildFunction } from '@spindle/cli';
import { configFromEnv, createPlatform } from '@spindle/gateway';
import { mlpModel } from '@spindle/gpu-runner';
import heavyModel, { HEAVY } from '../../tests/fixtures/gpu-heavy/heavy.onnx.ts';
import { HEAVY_BATCH } from '../../tests/fixtures/gpu-heavy/handler.ts';
import { describeMachine } from './machine.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIM = 16;
const HEAVY_DIM = HEAVY.dim;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const PAIRS = 5;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
const row = (seed: number, dim = DIM) => Array.from({ length: dim }, (_, i) => Math.sin(seed + i));

/** `session.run` in a loop on one thread (the runner below also gets one): the floor. */
async function bare(model: Uint8Array, dim: number, batch: number, seconds = SECONDS): Promise<{ p50ms: number; rowsPerSec: number }> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const x = new ort.Tensor('float32', Float32Array.from({ length: batch * dim }, (_, i) => Math.sin(i)), [batch, dim]);
  const warm = performance.now() + 500;
  while (performance.now() < warm) await session.run({ x });
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    await session.run({ x });
    lat.push(performance.now() - t);
  }
  await session.release();
  return { p50ms: pct(lat, 50), rowsPerSec: (lat.length * batch) / seconds };
}

async function load(pool: Pool, fn: string, concurrency: number, dim = DIM, seconds = SECONDS): Promise<{ p50ms: number; p99ms: number; rps: number; errors: number }> {
  const lat: number[] = [];
  let errors = 0;
  const body = JSON.stringify({ x: row(1, dim) });
  const one = async () => {
    const t = performance.now();
    const res = await pool.request({ path: `/function/${fn}`, method: 'POST', body, headers: { 'content-type': 'application/json' } });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) errors++;
    return performance.now() - t;
  };
  const warm = performance.now() + 500;
  while (performance.now() < warm) await one();
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) lat.push(await one());
  }));
  return { p50ms: pct(lat, 50), p99ms: pct(lat, 99), rps: lat.length / seconds, errors };
}

const prefix = `bench${Date.now().toString(36)}`;
const dataDir = await mkdtemp(join(tmpdir(), 'spindle-bench-gpu-'));
const config = { ...configFromEnv({}), dataDir, port: 0, adminPassword: 'bench', logLevel: 'silent', redisPrefix: prefix };
process.stderr.write('bare onnxruntime loops...\n');
const trivial = mlpModel({ dim: DIM, hidden: 64 });
const heavy = await heavyModel();
const bare1 = await bare(trivial, DIM, 1);
const bareHeavy1 = await bare(heavy, HEAVY_DIM, 1);
const bareHeavyBatched = await bare(heavy, HEAVY_DIM, HEAVY_BATCH);
const bareHeavy32 = await bare(heavy, HEAVY_DIM, 32);

const platform = await createPlatform(config, pino({ level: 'silent' }));
const url = await platform.listen();
const runner = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'gpu-runner/src/main.ts')], {
  env: { ...process.env, REDIS_URL: config.redisUrl, SPINDLE_REDIS_PREFIX: prefix, SPINDLE_GPU_METRICS_PORT: '0', SPINDLE_GPU_THREADS: '1', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((ok) => runner.stdout!.on('data', (d: Buffer) => d.toString().includes('gpu-runner ready') && ok()));
const auth = `Basic ${Buffer.from('admin:bench').toString('base64')}`;
const services = [['mlp', 'gpu-mlp'], ['mlp1', 'gpu-mlp1'], ['heavy', 'gpu-heavy'], ['heavy1', 'gpu-heavy1']];
for (const [service, fixture] of services) {
  const outDir = await mkdtemp(join(tmpdir(), 'spindle-bench-build-'));
  const r = await buildFunction({ name: fixture, handlerDir: join(ROOT, 'tests/fixtures', fixture), stackDir: ROOT, outDir, lang: 'gpu' });
  for (const blob of [...(r.models ?? []).map((m) => ({ digest: m.digest, path: m.path })), { digest: r.digest, path: r.bundlePath }]) {
    await fetch(`${url}/system/bundles/${blob.digest}`, { method: 'PUT', headers: { authorization: auth, 'content-type': 'application/octet-stream' }, body: new Uint8Array(await readFile(blob.path)) });
  }
  const annotations = { 'com.spindle.lang': 'gpu', 'com.spindle.gpu.models': (r.models ?? []).map((m) => m.digest).join(',') };
  const res = await fetch(`${url}/system/functions`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ service, image: `bundle://${r.digest}`, annotations }) });
  if (res.status !== 202) throw new Error(`deploy ${service}: ${res.status} ${await res.text()}`);
}
for (;;) {
  const s = await (await fetch(`${url}/system/runner`, { headers: { authorization: auth } })).json();
  if (s.alive && services.every(([n]) => s.functions.some((f: { name: string; version: number }) => f.name === n && f.version > 0))) break;
  await new Promise((r) => setTimeout(r, 100));
}
const pool = new Pool(url, { connections: 64, pipelining: 1 });
process.stderr.write('through gateway + stream + runner...\n');
const gw1 = await load(pool, 'mlp1', 1);
// The trivial model batched: what the path itself sustains when inference costs nothing.
const ceiling = await load(pool, 'mlp', 32);
const before = (await (await fetch(`${url}/system/runner`, { headers: { authorization: auth } })).json()).batches;
const gwBatched32 = await load(pool, 'heavy', 32, HEAVY_DIM);
const after = (await (await fetch(`${url}/system/runner`, { headers: { authorization: auth } })).json()).batches;
const gwUnbatched32 = await load(pool, 'heavy1', 32, HEAVY_DIM);
const gwHeavy1 = await load(pool, 'heavy1', 1, HEAVY_DIM);
// Via gateway against bare, in alternating pairs: other load on the machine hits both sides of a pair
// alike, and the median pair is the figure.
const pairs: Array<{ bareRowsPerSec: number; gatewayRps: number; ratio: number }> = [];
for (let i = 0; i < PAIRS; i++) {
  const b = await bare(heavy, HEAVY_DIM, HEAVY_BATCH, SECONDS / 2);
  const g = await load(pool, 'heavy', 32, HEAVY_DIM, SECONDS / 2);
  pairs.push({ bareRowsPerSec: Math.round(b.rowsPerSec), gatewayRps: Math.round(g.rps), ratio: Number((g.rps / b.rowsPerSec).toFixed(3)) });
}
const medianPair = [...pairs].sort((a, b) => a.ratio - b.ratio)[Math.floor(pairs.length / 2)];
const status = await (await fetch(`${url}/system/runner`, { headers: { authorization: auth } })).json();

const f = (n: number) => Number(n.toFixed(3));
const figure = (value: number, target: string, ok: boolean) => ({ value: f(value), target, met: ok });
const added = gw1.p50ms - bare1.p50ms;
const batchedOverUnbatched = gwBatched32.rps / gwUnbatched32.rps;
const viaGateway = medianPair.ratio;
const report = {
  models: { trivial: `generated MLP ${DIM}->64->${DIM}, float32`, heavy: `generated MLP ${HEAVY.dim}->${HEAVY.hidden} x${HEAVY.layers - 1} (shared)->${HEAVY.dim}, float32 (${(heavy.length / 1e6).toFixed(0)} MB)` },
  seconds: SECONDS, ep: status.ep, device: status.device, inferenceThreads: 1,
  bare: {
    trivialUnbatchedP50ms: f(bare1.p50ms),
    heavyUnbatched: { p50ms: f(bareHeavy1.p50ms), rowsPerSec: Math.round(bareHeavy1.rowsPerSec) },
    [`heavyBatch${HEAVY_BATCH}`]: { p50ms: f(bareHeavyBatched.p50ms), rowsPerSec: Math.round(bareHeavyBatched.rowsPerSec) },
    heavyBatch32: { p50ms: f(bareHeavy32.p50ms), rowsPerSec: Math.round(bareHeavy32.rowsPerSec) },
  },
  gateway: {
    trivialUnbatchedC1: gw1,
    trivialBatchedC32: ceiling,
    heavyUnbatchedC1: gwHeavy1,
    heavyUnbatchedC32: gwUnbatched32,
    heavyBatchedC32: { ...gwBatched32, meanBatchSize: f((after.items - before.items) / Math.max(1, after.count - before.count)), maxSize: HEAVY_BATCH },
  },
  figures: {
    addedP50msC1: figure(added, '<= 2 ms (trivial model, gateway p50 - bare p50)', added <= 2),
    batchedOverUnbatchedC32: figure(batchedOverUnbatched, '>= 3 (heavy model, through the gateway)', batchedOverUnbatched >= 3),
    viaGatewayBatchedOverBareBatched: figure(viaGateway, `>= 0.85 (heavy model, gateway c32 rows/s over a bare loop at batch ${HEAVY_BATCH}, median of ${PAIRS} alternating pairs)`, viaGateway >= 0.85),
    pairs,
    viaGatewayBatchedOverBareBatch32: f(gwBatched32.rps / bareHeavy32.rowsPerSec),
  },
};
const m = describeMachine();
const line = '-'.repeat(96);
const tableRow = (what: string, c: string, rps: number, p50: number, p99?: number) =>
  `${what.padEnd(46)}${c.padStart(5)}${Math.round(rps).toString().padStart(10)}${p50.toFixed(2).padStart(10)}${(p99 === undefined ? '-' : p99.toFixed(2)).padStart(10)}`;
console.log(line);
console.log(`Spindle GPU bench  ${new Date().toISOString()}`);
console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, Node ${m.node}; runner EP ${status.ep} (${status.device}), load avg ${m.loadAvg1}`);
console.log(`models: ${report.models.trivial}; ${report.models.heavy}`);
console.log(line);
console.log(`${'target'.padEnd(46)}${'conc'.padStart(5)}${'rows/s'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}`);
console.log(tableRow('bare session.run, trivial, unbatched (floor)', '1', 1000 / Math.max(bare1.p50ms, 1e-3), bare1.p50ms));
console.log(tableRow('gateway+stream+runner, trivial, unbatched', '1', gw1.rps, gw1.p50ms, gw1.p99ms));
console.log(tableRow('gateway+stream+runner, trivial, batched', '32', ceiling.rps, ceiling.p50ms, ceiling.p99ms));
console.log(tableRow('bare session.run, heavy, unbatched', '1', bareHeavy1.rowsPerSec, bareHeavy1.p50ms));
console.log(tableRow(`bare session.run, heavy, batch ${HEAVY_BATCH}`, '-', bareHeavyBatched.rowsPerSec, bareHeavyBatched.p50ms));
console.log(tableRow('bare session.run, heavy, batch 32', '-', bareHeavy32.rowsPerSec, bareHeavy32.p50ms));
console.log(tableRow('gateway+stream+runner, heavy, unbatched', '1', gwHeavy1.rps, gwHeavy1.p50ms, gwHeavy1.p99ms));
console.log(tableRow('gateway+stream+runner, heavy, unbatched', '32', gwUnbatched32.rps, gwUnbatched32.p50ms, gwUnbatched32.p99ms));
console.log(tableRow(`gateway+stream+runner, heavy, batched (max ${HEAVY_BATCH})`, '32', gwBatched32.rps, gwBatched32.p50ms, gwBatched32.p99ms));
console.log(line);
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
console.log(`added p50 through the stream, trivial, c=1     ${added.toFixed(2).padStart(8)} ms   target <= 2 ms   ${verdict(added <= 2)}`);
console.log(`batched / unbatched through the gateway, c=32  ${batchedOverUnbatched.toFixed(2).padStart(8)} x    target >= 3 x    ${verdict(batchedOverUnbatched >= 3)}`);
console.log(`via gateway batched / bare batched (median)    ${(viaGateway * 100).toFixed(1).padStart(8)} %    target >= 85 %   ${verdict(viaGateway >= 0.85)}`);
console.log(`(mean batch size ${report.gateway.heavyBatchedC32.meanBatchSize}; against a bare batch-32 loop: ${(report.figures.viaGatewayBatchedOverBareBatch32 * 100).toFixed(1)} %)`);
console.log(`BENCH_JSON ${JSON.stringify(report)}`);
await pool.close();
runner.kill('SIGTERM');
await new Promise((r) => runner.once('exit', r));
await platform.close();
const r = new Redis(config.redisUrl);
const keys = await r.keys(`${prefix}:*`);
if (keys.length) await r.del(...keys);
r.disconnect();
await rm(dataDir, { recursive: true, force: true });
