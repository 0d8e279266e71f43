/**
 * `npm run bench`: echo called directly (the floor), through a minimal Node proxy, and through the Spindle
 * gateway, each in its own process; then cold start; then the idle RSS of every process `spindle start` leaves
 * running with the default stack (idle.ts). Prints comparable tables and a `BENCH_JSON` line.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFunction } from '@spindle/cli';
import { request } from 'undici';
import { deploy, uploadBundle, waitFor200, type GatewayAccess } from './gateway-api.ts';
import { interleavedLoad, percentile, runLoad, sequentialLatency, type LatencyStats, type LoadResult, type RequestSpec } from './load.ts';
import { canMeasureIdle, measureIdle, printIdle, type IdleResult } from './idle.ts';
import { describeMachine } from './machine.ts';
import { jsonLine, killAllSync, listeningPort, startNode, stopAll } from './procs.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
/** Seconds of load per target and concurrency, taken as that many 1 s turns (autocannon stops on whole seconds). */
const DURATION_S = Math.max(1, Math.round(Number(process.env.BENCH_DURATION || 5)));
if (!Number.isFinite(DURATION_S)) throw new Error(`BENCH_DURATION must be a number of seconds, got "${process.env.BENCH_DURATION}"`);
const WARMUP_S = 1;
const COLD_RUNS = Math.max(1, Math.round(Number(process.env.BENCH_COLD_STARTS || 5)));
if (!Number.isFinite(COLD_RUNS)) throw new Error(`BENCH_COLD_STARTS must be a number, got "${process.env.BENCH_COLD_STARTS}"`);
/** Set to a folder to get `--cpu-prof` profiles of the gateway and minimal proxy processes there (slows them). */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
const PROF = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [];
/** Set to 0 to skip the idle-memory section (two full `spindle start`s of the default stack, a minute or two each). */
const IDLE = process.env.BENCH_IDLE !== '0';
const CONCURRENCY = [1, 16, 64];
/** Rounds of the sequential latency loop, targets alternating, so noise on a shared machine hits all alike. */
const ROUNDS = 4;
const BODY = JSON.stringify({ message: 'hello from spindle bench', n: 42 });
const TARGETS = { direct: 'echo direct (floor)', proxy: 'minimal Node proxy', gateway: 'Spindle gateway' } as const;
type Target = keyof typeof TARGETS;
const TSX = ['--import', 'tsx'];

const progress = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

let tmp: string | undefined;
let cleaning: Promise<void> | null = null;
/** Stops every child, then removes the temp dir; once, whoever asks first (the end of main or a signal). */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll();
    if (tmp) await rm(tmp, { recursive: true, force: true, maxRetries: 3 });
    tmp = undefined;
  })();
  return cleaning;
}
// Whatever happens, no child and no temp dir outlives the bench.
process.on('exit', () => {
  killAllSync();
  if (tmp) rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

const ms = (n: number) => n.toFixed(2);
const spec = (url: string): RequestSpec => ({ url, body: BODY, headers: { 'content-type': 'application/json' } });

async function build(name: string, handlerDir: string) {
  return buildFunction({ name, handlerDir, stackDir: repoRoot, outDir: join(tmp!, 'build', name), force: true });
}

async function checkEcho(name: string, s: RequestSpec): Promise<void> {
  const res = await request(s.url, { method: 'POST', headers: s.headers, body: s.body });
  const text = await res.body.text();
  if (res.statusCode !== 200 || text !== BODY) throw new Error(`${name} did not echo the body: ${res.statusCode} ${text.slice(0, 200)}`);
}

async function startTargets(): Promise<{ specs: Record<Target, RequestSpec>; gateway: GatewayAccess; helloDigest: string; helloPath: string }> {
  const [echo, hello] = await Promise.all([build('echo', join(repoRoot, 'functions/echo')), build('hello', join(repoRoot, 'bench/fixtures/hello'))]);
  const password = randomBytes(18).toString('base64url');
  const [direct, gw] = await Promise.all([
    startNode({ name: 'echo replica', args: [echo.bundlePath], cwd: dirname(echo.bundlePath), env: { ...process.env, PORT: '0', HOST: '127.0.0.1' }, ready: listeningPort }),
    // Autoscaling off: the gateway's figures are for the one echo replica the direct and proxy rows also reach.
    startNode({
      name: 'gateway',
      args: [...PROF, ...TSX, join(here, 'gateway-child.ts')],
      cwd: repoRoot,
      env: { ...process.env, SPINDLE_DATA_DIR: join(tmp!, 'gateway'), SPINDLE_ADMIN_PASSWORD: password, SPINDLE_DRAIN_MS: '1000', LOG_LEVEL: 'warn', SPINDLE_AUTOSCALE: 'off' },
      ready: (line) => {
        const o = jsonLine(line);
        return o?.msg === 'listening' && typeof o.url === 'string' ? o.url : undefined;
      },
      timeoutMs: 60_000,
    }),
  ]);
  const directUrl = `http://127.0.0.1:${direct.ready}`;
  const proxy = await startNode({ name: 'minimal proxy', args: [...PROF, ...TSX, join(here, 'minimal-proxy.ts')], cwd: repoRoot, env: { ...process.env, UPSTREAM_URL: directUrl }, ready: listeningPort });
  if (CPU_PROF_DIR) progress(`CPU profiles go to ${CPU_PROF_DIR}: gateway pid ${gw.child.pid}, minimal proxy pid ${proxy.child.pid}`);
  const gateway = { url: gw.ready, password };
  await uploadBundle(gateway, echo.digest, echo.bundlePath);
  await deploy(gateway, 'echo', echo.digest);
  await waitFor200(gateway, 'echo');
  const specs = { direct: spec(`${directUrl}/`), proxy: spec(`http://127.0.0.1:${proxy.ready}/`), gateway: spec(`${gateway.url}/function/echo`) };
  for (const t of Object.keys(specs) as Target[]) await checkEcho(TARGETS[t], specs[t]);
  return { specs, gateway, helloDigest: hello.digest, helloPath: hello.bundlePath };
}

async function coldStarts(g: GatewayAccess, digest: string, bundlePath: string): Promise<number[]> {
  await uploadBundle(g, digest, bundlePath);
  const runs: number[] = [];
  for (let i = 1; i <= COLD_RUNS; i++) {
    const t0 = performance.now();
    await deploy(g, `hello-${i}`, digest);
    await waitFor200(g, `hello-${i}`);
    runs.push(performance.now() - t0);
  }
  return runs;
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

const machineLine = (machine: ReturnType<typeof describeMachine>) =>
  `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, Node ${machine.node}, ${machine.os}, load avg ${machine.loadAvg1} at start`;

/** Idle RSS of `spindle start` with the default stack: a first start, then a restart on the same data dir. */
async function idleMemory(): Promise<Array<{ label: string; result: IdleResult }>> {
  const dataDir = join(tmp!, 'idle');
  const suffix = randomBytes(4).toString('hex');
  // Own Redis and NATS prefixes: a platform already running on this machine is left alone.
  const env = { ...process.env, SPINDLE_REDIS_PREFIX: `benchidle${suffix}`, SPINDLE_NATS_PREFIX: `benchidle${suffix}`, LOG_LEVEL: 'warn' };
  const password = randomBytes(18).toString('base64url');
  const runs: Array<{ label: string; result: IdleResult }> = [];
  for (const label of ['first start', 'restart']) {
    progress(`idle memory: spindle start (${label})`);
    runs.push({ label, result: await measureIdle({ repoRoot, dataDir, env, password }) });
  }
  return runs;
}

function printReport(machine: ReturnType<typeof describeMachine>, load: Record<Target, LoadResult[]>, c1: Record<string, LatencyStats>, cold: number[]) {
  const rule = '-'.repeat(78);
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out(rule);
  out(`Spindle bench  ${new Date().toISOString()}`);
  out(machineLine(machine));
  out(`load: autocannon POST ${Buffer.byteLength(BODY)}-byte JSON, ${DURATION_S} s per target and concurrency as 1 s turns, targets alternating,`);
  out(`      after a ${WARMUP_S} s warm-up; the load generator runs in the bench process, sharing the cores`);
  out(rule);
  out(`${'target'.padEnd(22)}${pad('conc', 6)}${pad('req/s', 10)}${pad('p50 ms', 10)}${pad('p99 ms', 10)}${pad('failures', 10)}`);
  for (const t of Object.keys(TARGETS) as Target[]) {
    for (const r of load[t]) out(`${TARGETS[t].padEnd(22)}${pad(r.connections, 6)}${pad(Math.round(r.rps), 10)}${pad(ms(r.p50), 10)}${pad(ms(r.p99), 10)}${pad(r.failures, 10)}`);
  }
  out(rule);
  out('concurrency 1, sequential requests on one keep-alive connection (undici), targets interleaved:');
  out(`${'target'.padEnd(22)}${pad('n', 8)}${pad('p50 ms', 10)}${pad('p99 ms', 10)}${pad('mean ms', 10)}${pad('+p50 vs floor', 15)}`);
  for (const t of Object.keys(TARGETS) as Target[]) {
    const s = c1[t];
    out(`${TARGETS[t].padEnd(22)}${pad(s.n, 8)}${pad(ms(s.p50), 10)}${pad(ms(s.p99), 10)}${pad(ms(s.mean), 10)}${pad(ms(s.p50 - c1.direct.p50), 15)}`);
  }
  out(rule);
  const sorted = [...cold].sort((a, b) => a - b);
  out(`cold start (deploy request -> first 200, hello function), ${cold.length} runs: min ${sorted[0].toFixed(1)}  p50 ${percentile(sorted, 0.5).toFixed(1)}  max ${sorted[sorted.length - 1].toFixed(1)} ms`);
  out(rule);
}

async function main(): Promise<void> {
  const machine = describeMachine();
  tmp = await mkdtemp(join(tmpdir(), 'spindle-bench-'));
  progress('building bundles, starting echo replica, minimal proxy and gateway');
  const { specs, gateway, helloDigest, helloPath } = await startTargets();
  const targets = Object.keys(TARGETS) as Target[];

  progress(`warm-up, ${WARMUP_S} s per target`);
  for (const t of targets) await runLoad(specs[t], 16, WARMUP_S);
  const load = { direct: [], proxy: [], gateway: [] } as Record<Target, LoadResult[]>;
  for (const c of CONCURRENCY) {
    progress(`concurrency ${c}: ${DURATION_S} s per target in 1 s turns, targets alternating`);
    const byTarget = await interleavedLoad(specs, c, DURATION_S, 1);
    for (const t of targets) load[t].push(byTarget[t]);
  }
  progress(`sequential latency loop, ${ROUNDS} interleaved rounds`);
  const c1 = await sequentialLatency(specs, ROUNDS, (DURATION_S * 1000) / ROUNDS);
  progress(`cold start, ${COLD_RUNS} deploys`);
  const cold = await coldStarts(gateway, helloDigest, helloPath);

  printReport(machine, load, c1, cold);
  const at64 = (t: Target) => load[t].find((r) => r.connections === 64)!.rps;
  const throughputRatio = at64('gateway') / at64('proxy');
  const addedP50 = c1.gateway.p50 - c1.direct.p50;
  const coldP50 = percentile([...cold].sort((a, b) => a - b), 0.5);
  const checks = [
    { name: 'gateway / minimal proxy req/s at c=64', value: `${(throughputRatio * 100).toFixed(1)}%`, target: '>= 80%', ok: throughputRatio >= 0.8 },
    { name: 'gateway added p50 over direct at c=1', value: `${ms(addedP50)} ms`, target: '<= 0.5 ms', ok: addedP50 <= 0.5 },
    { name: 'cold start p50', value: `${coldP50.toFixed(1)} ms`, target: '<= 300 ms', ok: coldP50 <= 300 },
  ];
  for (const k of checks) process.stdout.write(`${k.name.padEnd(40)}${pad(k.value, 12)}   target ${k.target.padEnd(10)} ${verdict(k.ok)}\n`);
  process.stdout.write(`(for scale: the minimal proxy adds ${ms(c1.proxy.p50 - c1.direct.p50)} ms p50 at c=1; minimal proxy / direct req/s at c=64 is ${((at64('proxy') / at64('direct')) * 100).toFixed(1)}%)\n`);

  let idle: Array<{ label: string; result: IdleResult }> = [];
  if (IDLE && canMeasureIdle()) {
    // Alone on the machine: the load targets go first.
    await stopAll();
    idle = await idleMemory();
    printIdle(machineLine(machine), process.env.DATABASE_URL ? 'PostgreSQL at $DATABASE_URL' : 'embedded PGlite', idle);
  } else if (IDLE) {
    process.stdout.write('idle memory: skipped, it reads /proc (Linux only)\n');
  }

  const round2 = (n: number) => Math.round(n * 100) / 100;
  const json = {
    date: new Date().toISOString(),
    machine,
    durationS: DURATION_S,
    bodyBytes: Buffer.byteLength(BODY),
    load: Object.fromEntries(targets.map((t) => [t, load[t].map((r) => ({ c: r.connections, rps: Math.round(r.rps), p50: round2(r.p50), p99: round2(r.p99), failures: r.failures }))])),
    c1: Object.fromEntries(targets.map((t) => [t, { n: c1[t].n, p50: round2(c1[t].p50), p99: round2(c1[t].p99), mean: round2(c1[t].mean) }])),
    coldStartMs: cold.map((v) => round2(v)),
    idleRssMb: Object.fromEntries(
      idle.map(({ label, result }) => [label, { readyS: round2(result.readyS), totalMb: Math.round(result.totalMb), settled: result.settled, processes: result.processes.map((p) => ({ role: p.role, rssMb: Math.round(p.rssMb) })) }]),
    ),
    results: {
      throughputRatioC64: round2(throughputRatio),
      addedP50MsC1: round2(addedP50),
      coldStartP50Ms: round2(coldP50),
      pass: { throughput: checks[0].ok, latency: checks[1].ok, coldStart: checks[2].ok },
    },
  };
  process.stdout.write(`BENCH_JSON ${JSON.stringify(json)}\n`);
}

try {
  await main();
} catch (err) {
  process.exitCode = 1;
  console.error('bench failed:', err);
} finally {
  await cleanup();
}
