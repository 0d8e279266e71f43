/**
 * `npm run bench:scale`: the autoscaler and scale from zero, through one gateway in its own process.
 *
 * 1. Scale from zero (first, while the machine is quietest): `hello` scaled to zero with scale-function, then
 *    one call timed to its answer, BENCH_COLD_TRIES times (default 10), beside warm calls of the same
 *    function in the same run.
 * 2. Load step: `burn` (about 5 ms of CPU per call) under 1, then 32, then 1 concurrent callers, capacity
 *    scaling (target BENCH_SCALE_TARGET in flight per replica, default 4; down window BENCH_SCALE_WINDOW, 15s).
 *    Prints the replicas wanted and ready over time, latency p50/p99 while scaling up, the time to the
 *    first scale-up and back to min, and failed calls.
 * Figures are wall-clock on a shared machine: the 1-minute load average is printed before each part (the
 * load step's own callers and replicas raise it too).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
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
  return n;
};
const LOW = 1;
const HIGH = Math.round(num('BENCH_SCALE_CALLERS', 32));
const WARM_S = num('BENCH_SCALE_WARM_S', 5);
const HIGH_S = num('BENCH_SCALE_HIGH_S', 20);
const TARGET = String(num('BENCH_SCALE_TARGET', 4));
const WINDOW = process.env.BENCH_SCALE_WINDOW || '15s';
const MAX = String(Math.round(num('BENCH_SCALE_MAX', 10)));
const COLD_TRIES = Math.round(num('BENCH_COLD_TRIES', 10));
const progress = (msg: string) => process.stderr.write(`bench:scale: ${msg}\n`);
const auth = (g: GatewayAccess) => `Basic ${Buffer.from(`admin:${g.password}`).toString('base64')}`;

async function system(g: GatewayAccess, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const res = await request(`${g.url}${path}`, {
    method,
    headers: { authorization: auth(g), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
  return text ? JSON.parse(text) : null;
}

const counts = async (g: GatewayAccess, name: string) => (await system(g, 'GET', `/system/function/${name}`)) as { replicas: number; availableReplicas: number };

/** One call's timing: when it started (ms since the bench's t0), how long it took, its status (-1: no answer). */
interface Call {
  at: number;
  ms: number;
  status: number;
}

/** Closed-loop callers whose number can change while they run. */
class Callers {
  readonly calls: Call[] = [];
  private wanted = 0;
  private running = 0;
  private readonly loops: Promise<void>[] = [];
  constructor(
    private readonly pool: Pool,
    private readonly path: string,
    private readonly t0: number,
  ) {}

  set(n: number): void {
    this.wanted = n;
    while (this.running < n) {
      const id = this.running++;
      this.loops.push(this.loop(id));
    }
  }

  private async loop(id: number): Promise<void> {
    while (id < this.wanted) {
      const start = performance.now();
      let status = -1;
      try {
        const res = await this.pool.request({ path: this.path, method: 'GET' });
        await res.body.dump();
        status = res.statusCode;
      } catch {
        // counted as a failure
      }
      this.calls.push({ at: start - this.t0, ms: performance.now() - start, status });
    }
    this.running--;
  }

  async stop(): Promise<void> {
    this.wanted = 0;
    await Promise.all(this.loops);
  }
}

const stats = (calls: Call[]) => {
  const ok = calls.filter((c) => c.status === 200).map((c) => c.ms).sort((a, b) => a - b);
  return { n: calls.length, p50: percentile(ok, 0.5), p99: percentile(ok, 0.99), failed: calls.filter((c) => c.status !== 200).length };
};

async function loadStep(g: GatewayAccess) {
  const name = 'burn';
  await system(g, 'POST', '/system/functions', {
    service: name,
    image: `bundle://${burnDigest}`,
    labels: {
      'com.openfaas.scale.type': 'capacity',
      'com.openfaas.scale.target': TARGET,
      'com.openfaas.scale.min': '1',
      'com.openfaas.scale.max': MAX,
      'com.openfaas.scale.down.window': WINDOW,
    },
  });
  await waitFor200(g, name);
  const t0 = performance.now();
  const samples: Array<{ at: number; callers: number; replicas: number; available: number }> = [];
  let callers = LOW;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const c = await counts(g, name);
      samples.push({ at: performance.now() - t0, callers, replicas: c.replicas, available: c.availableReplicas });
      await sleep(250);
    }
  })();
  const pool = new Pool(g.url, { connections: HIGH, keepAliveTimeout: 30_000 });
  const load = new Callers(pool, `/function/${name}`, t0);
  progress(`load step: ${LOW} caller for ${WARM_S} s`);
  load.set(LOW);
  await sleep(WARM_S * 1000);
  progress(`load step: ${HIGH} callers for ${HIGH_S} s`);
  const upAt = performance.now() - t0;
  callers = HIGH;
  load.set(HIGH);
  await sleep(HIGH_S * 1000);
  progress(`load step: back to ${LOW} caller until the replicas are back to min (down window ${WINDOW})`);
  const downAt = performance.now() - t0;
  callers = LOW;
  load.set(LOW);
  const deadline = performance.now() + 120_000;
  let backAt = NaN;
  while (performance.now() < deadline) {
    const last = samples[samples.length - 1];
    if (last && last.at > downAt && last.replicas === 1 && last.available === 1) {
      backAt = samples.find((s) => s.at > downAt && s.replicas === 1)!.at;
      break;
    }
    await sleep(250);
  }
  await sleep(2000);
  await load.stop();
  sampling = false;
  await sampler;
  await pool.close();

  const firstUp = samples.find((s) => s.at > upAt && s.replicas > 1);
  const firstReady = samples.find((s) => s.at > upAt && s.available > 1);
  const peak = Math.max(...samples.map((s) => s.replicas));
  const peakReadyAt = samples.find((s) => s.at > upAt && s.available === peak)?.at ?? downAt;
  const during = (from: number, to: number) => stats(load.calls.filter((c) => c.at >= from && c.at < to));
  return {
    samples,
    upAt,
    downAt,
    firstUpMs: firstUp ? firstUp.at - upAt : NaN,
    firstReadyMs: firstReady ? firstReady.at - upAt : NaN,
    backToMinMs: backAt - downAt,
    peak,
    low: during(0, upAt),
    scalingUp: during(upAt, peakReadyAt),
    scaledUp: during(peakReadyAt, downAt),
    high: during(upAt, downAt),
    lowAgain: during(downAt, Infinity),
    failed: load.calls.filter((c) => c.status !== 200).length,
    calls: load.calls.length,
  };
}

async function coldStarts(g: GatewayAccess) {
  const name = 'hello';
  await system(g, 'POST', '/system/functions', { service: name, image: `bundle://${helloDigest}`, labels: { 'com.openfaas.scale.min': '1', 'com.openfaas.scale.max': '1' } });
  await waitFor200(g, name);
  const pool = new Pool(g.url, { connections: 1, keepAliveTimeout: 30_000 });
  const call = async () => {
    const t = performance.now();
    const res = await pool.request({ path: `/function/${name}`, method: 'POST', body: 'x' });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${name} answered ${res.statusCode}`);
    return performance.now() - t;
  };
  const warm: number[] = [];
  const cold: number[] = [];
  for (let i = 0; i < 50; i++) await call();
  for (let i = 1; i <= COLD_TRIES; i++) {
    await system(g, 'POST', `/system/scale-function/${name}`, { serviceName: name, replicas: 0 });
    while ((await counts(g, name)).availableReplicas !== 0) await sleep(20);
    // Let the retired replica exit before the next call (its drain is not what is measured).
    await sleep(500);
    cold.push(await call());
    // Warm calls of the same function in the same run, after each cold one.
    for (let k = 0; k < 20; k++) warm.push(await call());
    progress(`scale from zero ${i}/${COLD_TRIES}: ${cold[cold.length - 1].toFixed(1)} ms`);
  }
  await pool.close();
  const sort = (a: number[]) => [...a].sort((x, y) => x - y);
  return { cold: sort(cold), warm: sort(warm) };
}

let burnDigest = '';
let helloDigest = '';

function chart(samples: Array<{ at: number; callers: number; replicas: number; available: number }>, upAt: number, downAt: number): string[] {
  const lines: string[] = [];
  const bySecond = new Map<number, { callers: number; replicas: number; available: number }>();
  for (const s of samples) bySecond.set(Math.floor(s.at / 1000), s);
  for (const [sec, s] of bySecond) {
    const mark = sec === Math.floor(upAt / 1000) ? ' <- step up' : sec === Math.floor(downAt / 1000) ? ' <- step down' : '';
    lines.push(`${String(sec).padStart(4)} s  ${String(s.callers).padStart(3)}  ${String(s.replicas).padStart(4)}  ${String(s.available).padStart(5)}  ${'#'.repeat(s.available)}${'.'.repeat(Math.max(0, s.replicas - s.available))}${mark}`);
  }
  return lines;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const tmp = await mkdtemp(join(tmpdir(), 'spindle-bench-scale-'));
  process.on('exit', () => killAllSync());
  try {
    const [burn, hello] = await Promise.all(
      ['burn', 'hello'].map((n) => buildFunction({ name: n, handlerDir: join(repoRoot, 'bench/fixtures', n), stackDir: repoRoot, outDir: join(tmp, 'build', n), force: true })),
    );
    burnDigest = burn.digest;
    helloDigest = hello.digest;
    const password = randomBytes(18).toString('base64url');
    const gw = await startNode({
      name: 'gateway',
      args: ['--import', 'tsx', join(here, 'gateway-child.ts')],
      cwd: repoRoot,
      env: { ...process.env, SPINDLE_DATA_DIR: join(tmp, 'gateway'), SPINDLE_ADMIN_PASSWORD: password, SPINDLE_DRAIN_MS: '5000', SPINDLE_AUTOSCALE: 'on', LOG_LEVEL: 'warn' },
      ready: (line) => {
        const o = jsonLine(line);
        return o?.msg === 'listening' && typeof o.url === 'string' ? o.url : undefined;
      },
      timeoutMs: 60_000,
    });
    const g = { url: gw.ready, password };
    await uploadBundle(g, burn.digest, burn.bundlePath);
    await uploadBundle(g, hello.digest, hello.bundlePath);
    progress(`scale from zero: ${COLD_TRIES} tries`);
    const cold = await coldStarts(g);
    const loadStepStart = Number(os.loadavg()[0].toFixed(2));
    const step = await loadStep(g);
    const loadEnd = Number(os.loadavg()[0].toFixed(2));

    const out = (s = '') => process.stdout.write(`${s}\n`);
    const rule = '-'.repeat(96);
    const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
    out(rule);
    out(`Spindle scale bench  ${new Date().toISOString()}`);
    out(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, Node ${machine.node}, ${machine.os}`);
    const quiet = (n: number) => (n > 3 ? ' (NOT QUIET)' : '');
    out(`load average (1 min): ${machine.loadAvg1} before scale from zero${quiet(machine.loadAvg1)}, ${loadStepStart} before the load step${quiet(loadStepStart)}, ${loadEnd} after it (its own load included)`);
    out(`burn: ~5 ms CPU per call; capacity scaling, target ${TARGET} in flight per replica x 0.9, min 1, max ${MAX}, down window ${WINDOW}; autoscaler turn 1 s`);
    out(rule);
    out(' time  callers  wanted  ready  (# ready, . starting)');
    for (const line of chart(step.samples, step.upAt, step.downAt)) out(line);
    out(rule);
    const row = (label: string, s: ReturnType<typeof stats>) => out(`${label.padEnd(40)}${String(s.n).padStart(7)}${f1(s.p50).padStart(10)}${f1(s.p99).padStart(10)}${String(s.failed).padStart(8)}`);
    out(`${'phase'.padEnd(40)}${'calls'.padStart(7)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'failed'.padStart(8)}`);
    row(`${LOW} caller, before the step`, step.low);
    row(`${HIGH} callers, while scaling up`, step.scalingUp);
    row(`${HIGH} callers, scaled up (${step.peak} replicas)`, step.scaledUp);
    row(`${HIGH} callers, whole phase`, step.high);
    row(`${LOW} caller, after the step (scaling down)`, step.lowAgain);
    out(`time to first scale-up (wanted > 1): ${f1(step.firstUpMs)} ms; first extra replica ready: ${f1(step.firstReadyMs)} ms; peak ${step.peak} replicas`);
    out(`time back to min after the step down: ${f1(step.backToMinMs)} ms (down window ${WINDOW}); failed calls: ${step.failed} of ${step.calls}`);
    out(rule);
    const c = cold.cold;
    out(`scale from zero, hello, ${c.length} tries (scale-function 0, then one call to its answer):`);
    out(`  first response: min ${f1(c[0])}  p50 ${f1(percentile(c, 0.5))}  max ${f1(c[c.length - 1])} ms`);
    out(`  warm call, same function and run (${cold.warm.length} calls): p50 ${percentile(cold.warm, 0.5).toFixed(2)}  p99 ${percentile(cold.warm, 0.99).toFixed(2)} ms`);
    out(rule);
    const round = (n: number) => Math.round(n * 100) / 100;
    const json = {
      bench: 'scale',
      date: new Date().toISOString(),
      machine,
      loadAvgLoadStep: loadStepStart,
      loadAvgEnd: loadEnd,
      step: {
        callers: [LOW, HIGH, LOW],
        target: Number(TARGET),
        window: WINDOW,
        firstUpMs: round(step.firstUpMs),
        firstReadyMs: round(step.firstReadyMs),
        backToMinMs: round(step.backToMinMs),
        peak: step.peak,
        failed: step.failed,
        calls: step.calls,
        phases: Object.fromEntries((['low', 'scalingUp', 'scaledUp', 'high', 'lowAgain'] as const).map((k) => [k, { ...step[k], p50: round(step[k].p50), p99: round(step[k].p99) }])),
        replicas: step.samples.map((s) => [Math.round(s.at), s.callers, s.replicas, s.available]),
      },
      coldMs: c.map(round),
      coldP50Ms: round(percentile(c, 0.5)),
      warmP50Ms: round(percentile(cold.warm, 0.5)),
    };
    out(`BENCH_JSON ${JSON.stringify(json)}`);
  } finally {
    await stopAll();
    await rm(tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}

await main();
