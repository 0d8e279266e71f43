/**
 * `npm run bench:pipeline`: the talking-portrait graph end to end on this machine's CPU: a ~10 s narration at
 * 512×512, 25 fps, on the test photo. Prints each node's wall time and the whole run beside the speech's own
 * length (the ratio is the figure: the target is a warm run within 2× the speech), the first (cold) run apart
 * from the warm ones, and the peak memory of the gateway (this process), the GPU runner and every replica
 * (the sum of their RSS, sampled every 200 ms from /proc). Gateway, runner and replicas run as `npm start`
 * runs them, on a data dir of their own.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parse } from 'yaml';
import { buildFunction } from '@spindle/cli';
import { configFromEnv, createPlatform } from '@spindle/gateway';
import { describeMachine } from './machine.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FACE = process.env.BENCH_FACE ?? '/usr/lib/python3/dist-packages/skimage/data/astronaut.png';
const WARM_RUNS = Number(process.env.BENCH_PIPELINE_RUNS ?? 2);
// Three grammar sentences about this subject: about 11 s with Flite's slt voice.
const INPUT = { prompt: 'the quiet beauty of mountain lakes at dawn', sentences: 3, seed: 3, voice: 'slt', background: { gradient: ['#1b2a41', '#3c6e71'] } };
const NODES = ['script', 'tts', 'vad', 'portrait', 'matte', 'landmarks', 'animate', 'render'];

/** RSS (kB) of `root` and all its descendants, from /proc. */
function treeRssKb(root: number): number {
  let total = 0;
  const visit = (pid: number) => {
    try {
      total += Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        for (const c of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) visit(Number(c));
      }
    } catch {
      // exited meanwhile
    }
  };
  visit(root);
  return total;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const dataDir = await mkdtemp(join(tmpdir(), 'spindle-bench-pipeline-'));
  const prefix = `benchpipe_${Date.now()}`;
  const runner = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'gpu-runner/src/main.ts')], {
    env: { ...process.env, SPINDLE_REDIS_PREFIX: prefix, SPINDLE_GPU_METRICS_PORT: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((ok) => runner.stdout!.on('data', (d: Buffer) => d.toString().includes('gpu-runner ready') && ok()));
  const platform = await createPlatform({ ...configFromEnv({}), dataDir, port: 0, adminPassword: 'bench', logLevel: 'warn', redisPrefix: prefix, natsPrefix: prefix, autoscale: false }, pino({ level: 'warn' }));
  let peakKb = 0;
  const sampler = setInterval(() => {
    peakKb = Math.max(peakKb, treeRssKb(process.pid));
  }, 200);
  try {
    const url = await platform.listen();
    const headers = { authorization: `Basic ${Buffer.from('admin:bench').toString('base64')}` };
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(url + path, { method, headers: { ...headers, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    };
    process.stderr.write('building and deploying the pipeline…\n');
    for (const [name, lang] of [['script', 'control'], ['tts', 'control'], ['render', 'control'], ['landmarks', 'control'], ['animate', 'control'], ['upscale', 'control'], ['vad', 'gpu'], ['matte', 'gpu']] as const) {
      const built = await buildFunction({ name, handlerDir: join(ROOT, 'functions', name), stackDir: ROOT, outDir: join(dataDir, 'build', name), lang });
      for (const blob of [...(built.models ?? []).map((m) => ({ digest: m.digest, path: m.path })), { digest: built.digest, path: built.bundlePath }]) {
        await fetch(`${url}/system/bundles/${blob.digest}`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: new Uint8Array(await readFile(blob.path)) });
      }
      const annotations = lang === 'gpu' ? { 'com.spindle.lang': 'gpu', 'com.spindle.gpu.models': (built.models ?? []).map((m) => m.digest).join(',') } : undefined;
      await call('POST', '/system/functions', { service: name, image: `bundle://${built.digest}`, envVars: { exec_timeout: '300s' }, ...(annotations && { annotations }) });
    }
    await call('PUT', '/system/graphs/talking-portrait', parse(await readFile(join(ROOT, 'stack.yml'), 'utf8')).graphs['talking-portrait']);
    for (let i = 0; i < 600; i++) {
      const fns = (await call('GET', '/system/functions')) as Array<{ name: string; availableReplicas: number }>;
      if (fns.length >= 8 && fns.every((f) => f.availableReplicas > 0)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const upload = await fetch(`${url}/artifacts`, { method: 'POST', headers: { ...headers, 'content-type': 'image/png' }, body: new Uint8Array(await readFile(FACE)) });
    const portrait = ((await upload.json()) as { key: string }).key;

    const rows: Array<{ run: string; wallS: number; speechS: number; ratio: number; nodes: Record<string, number> }> = [];
    for (let i = 0; i <= WARM_RUNS; i++) {
      const t0 = performance.now();
      const done = await call('POST', '/graphs/talking-portrait/runs?wait=true&timeout=600', { input: { ...INPUT, portrait } });
      const wallS = (performance.now() - t0) / 1000;
      if (done.status !== 'succeeded') throw new Error(`run ${done.runId} ${done.status}: ${JSON.stringify(done.error)}`);
      const record = await call('GET', `/runs/${done.runId}`);
      const nodes: Record<string, number> = {};
      for (const n of record.nodes as Array<{ node: string; durationMs: number }>) nodes[n.node] = n.durationMs / 1000;
      const speechS = (record.nodes as Array<{ node: string; output: { duration: number } }>).find((n) => n.node === 'tts')!.output.duration;
      rows.push({ run: i === 0 ? 'cold (first)' : `warm ${i}`, wallS, speechS, ratio: wallS / speechS, nodes });
      process.stderr.write(`${rows.at(-1)!.run}: ${wallS.toFixed(1)} s for ${speechS.toFixed(1)} s of speech\n`);
    }

    console.log(`\ntalking-portrait, 512×512 at 25 fps, on ${machine.cpu} (${machine.cores} cores, ${machine.memGiB} GiB), load ${machine.loadAvg1} at the start`);
    const head = ['run', 'speech s', 'whole s', '× speech', ...NODES];
    console.log(head.map((h) => h.padStart(10)).join(''));
    for (const r of rows) console.log([r.run, r.speechS.toFixed(2), r.wallS.toFixed(2), r.ratio.toFixed(2), ...NODES.map((n) => (r.nodes[n] ?? 0).toFixed(2))].map((c) => c.padStart(10)).join(''));
    const warm = rows.slice(1);
    const warmRatio = warm.length ? warm.reduce((s, r) => s + r.ratio, 0) / warm.length : Number.NaN;
    console.log(`\nwarm runs: ${warmRatio.toFixed(2)}× the speech's length (target ≤ 2×: ${warmRatio <= 2 ? 'met' : 'not met'}); peak RSS of gateway + runner + replicas: ${Math.round(peakKb / 1024)} MB`);
    console.log(`BENCH_JSON ${JSON.stringify({ machine, rows, warmRatio, peakRssMb: Math.round(peakKb / 1024) })}`);
  } finally {
    clearInterval(sampler);
    await platform.close();
    runner.kill('SIGTERM');
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
