/**
 * `npm run bench:gpu`: in one run, bare onnxruntime `session.run` in a loop (the floor) against the
 * same generated MLP through gateway + Redis stream + runner; concurrency 1 and 32; batched vs unbatched.
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

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIM = 16;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
const row = (seed: number) => Array.from({ length: DIM }, (_, i) => Math.sin(seed + i));

async function bare(batch: number): Promise<{ p50ms: number; rowsPerSec: number }> {
  const session = await ort.InferenceSession.create(mlpModel({ dim: DIM, hidden: 64 }), { intraOpNumThreads: 1 });
  const x = new ort.Tensor('float32', Float32Array.from({ length: batch * DIM }, (_, i) => Math.sin(i)), [batch, DIM]);
  for (let i = 0; i < 200; i++) await session.run({ x });
  const lat: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    await session.run({ x });
    lat.push(performance.now() - t);
  }
  await session.release();
  return { p50ms: pct(lat, 50), rowsPerSec: (lat.length * batch) / SECONDS };
}

async function load(pool: Pool, fn: string, concurrency: number): Promise<{ p50ms: number; p99ms: number; rps: number; errors: number }> {
  const lat: number[] = [];
  let errors = 0;
  const body = JSON.stringify({ x: row(1) });
  const one = async () => {
    const t = performance.now();
    const res = await pool.request({ path: `/function/${fn}`, method: 'POST', body, headers: { 'content-type': 'application/json' } });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) errors++;
    return performance.now() - t;
  };
  for (let i = 0; i < 100; i++) await one();
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) lat.push(await one());
  }));
  return { p50ms: pct(lat, 50), p99ms: pct(lat, 99), rps: lat.length / SECONDS, errors };
}

const prefix = `bench${Date.now().toString(36)}`;
const dataDir = await mkdtemp(join(tmpdir(), 'spindle-bench-gpu-'));
const config = { ...configFromEnv({}), dataDir, port: 0, adminPassword: 'bench', logLevel: 'silent', redisPrefix: prefix };
process.stderr.write('bare onnxruntime loops...\n');
const bare1 = await bare(1);
const bare32 = await bare(32);

const platform = await createPlatform(config, pino({ level: 'silent' }));
const url = await platform.listen();
const runner = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'gpu-runner/src/main.ts')], {
  env: { ...process.env, REDIS_URL: config.redisUrl, SPINDLE_REDIS_PREFIX: prefix, SPINDLE_GPU_METRICS_PORT: '0', SPINDLE_GPU_THREADS: '1', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((ok) => runner.stdout!.on('data', (d: Buffer) => d.toString().includes('gpu-runner ready') && ok()));
const auth = 'Basic ' + Buffer.from('admin:bench').toString('base64');
for (const [service, fixture] of [['mlp', 'gpu-mlp'], ['mlp1', 'gpu-mlp1']]) {
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
  if (s.alive && ['mlp', 'mlp1'].every((n) => s.functions.some((f: { name: string; version: number }) => f.name === n && f.version > 0))) break;
  await new Promise((r) => setTimeout(r, 100));
}
const pool = new Pool(url, { connections: 64, pipelining: 1 });
process.stderr.write('through gateway + stream + runner...\n');
const gw1 = await load(pool, 'mlp1', 1);
const gwUnbatched32 = await load(pool, 'mlp1', 32);
const gwBatched32 = await load(pool, 'mlp', 32);
const gwBatched1 = await load(pool, 'mlp', 1);
const status = await (await fetch(`${url}/system/runner`, { headers: { authorization: auth } })).json();

const f = (n: number) => Number(n.toFixed(3));
console.log(JSON.stringify({
  model: `generated MLP ${DIM}->64->${DIM}, float32`, seconds: SECONDS, ep: status.ep, device: status.device,
  bare: { unbatchedP50ms: f(bare1.p50ms), unbatchedRowsPerSec: Math.round(bare1.rowsPerSec), batched32P50ms: f(bare32.p50ms), batched32RowsPerSec: Math.round(bare32.rowsPerSec) },
  gateway: {
    unbatchedC1: gw1, batchedC1: gwBatched1, unbatchedC32: gwUnbatched32, batchedC32: gwBatched32,
    meanBatchSize: f(status.batches.meanSize),
  },
  figures: {
    addedP50msC1: f(gw1.p50ms - bare1.p50ms),
    batchedOverUnbatchedC32: f(gwBatched32.rps / gwUnbatched32.rps),
    viaGatewayBatchedOverBareBatched: f(gwBatched32.rps / bare32.rowsPerSec),
    viaGatewayBatchedOverBareUnbatched: f(gwBatched32.rps / bare1.rowsPerSec),
  },
}, null, 2));
await pool.close();
runner.kill('SIGTERM');
await new Promise((r) => runner.once('exit', r));
await platform.close();
const r = new Redis(config.redisUrl);
const keys = await r.keys(`${prefix}:*`);
if (keys.length) await r.del(...keys);
r.disconnect();
await rm(dataDir, { recursive: true, force: true });
