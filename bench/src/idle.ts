/**
 * Idle memory of `spindle start` (what `npm start` runs) with the default stack: the RSS of every process
 * it leaves running (gateway, GPU runner, each replica, any other child) once nothing changes any more.
 * Measured twice on one data dir: the first start (builds, a new database) and a restart (all cached).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { startNode } from './procs.ts';

/** One process of the platform, idle. */
export interface IdleProcess {
  /** `gateway (spindle start)`, `GPU runner`, `replica echo`, `esbuild service`... */
  role: string;
  pid: number;
  rssMb: number;
}

export interface IdleResult {
  processes: IdleProcess[];
  totalMb: number;
  /** Seconds from the spawn of `spindle start` to its `listening on` line. */
  readyS: number;
  /** False when RSS was still moving when the wait ran out; the figures are the last sample. */
  settled: boolean;
}

export interface IdleOptions {
  repoRoot: string;
  dataDir: string;
  /** Passed to the platform: unique Redis and NATS prefixes, so a running platform is left alone. */
  env: NodeJS.ProcessEnv;
  /** The admin password the platform is started with (the section lists functions through the API). */
  password: string;
  /** How long to wait for RSS to settle after the functions are up. */
  settleTimeoutMs?: number;
}

/** Whether this machine exposes per-process memory the way the section reads it (Linux /proc). */
export function canMeasureIdle(): boolean {
  try {
    readFileSync('/proc/self/status', 'utf8');
    return true;
  } catch {
    return false;
  }
}

interface ProcInfo {
  pid: number;
  cmd: string[];
  rssKb: number;
}

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { pid, cmd, rssKb };
  } catch {
    return undefined; // exited meanwhile
  }
}

/** `root` and every descendant still alive. */
function processTree(root: number): ProcInfo[] {
  const out: ProcInfo[] = [];
  const visit = (pid: number) => {
    const info = procInfo(pid);
    if (!info) return;
    out.push(info);
    let children: number[] = [];
    try {
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        children = children.concat(readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
      }
    } catch {
      // exited meanwhile
    }
    for (const c of children) visit(c);
  };
  visit(root);
  return out;
}

/** Names a process by its command line; `digests` maps a replica's bundle digest (hex) to its function. */
function roleOf(p: ProcInfo, root: number, digests: Map<string, string>): string {
  if (p.pid === root) return 'gateway (spindle start)';
  const args = p.cmd.join(' ');
  if (/gpu-runner[/\\](src[/\\])?main\.(m?js|ts)\b/.test(args)) return 'GPU runner';
  const bundle = /[/\\]bundles[/\\]([0-9a-f]{64})\.mjs\b/.exec(args);
  if (bundle) return `replica ${digests.get(bundle[1]) ?? bundle[1].slice(0, 12)}`;
  if (/esbuild\b.*--service/.test(args)) return 'esbuild service';
  return basename(p.cmd[0] ?? `pid ${p.pid}`);
}

/** Functions the gateway lists, with their bundle digests, and whether each has a ready replica. */
async function functions(url: string, password: string): Promise<Array<{ name: string; image: string; available: boolean }>> {
  const res = await request(`${url}/system/functions`, { headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` } });
  if (res.statusCode !== 200) throw new Error(`GET /system/functions answered ${res.statusCode}: ${await res.body.text()}`);
  const list = (await res.body.json()) as Array<{ name: string; image: string; availableReplicas: number }>;
  return list.map((f) => ({ name: f.name, image: f.image, available: f.availableReplicas > 0 }));
}

/**
 * Starts `spindle start` with the repository's stack.yml in `dataDir`, waits for every function to be up and for
 * the processes' RSS to stop moving (within 2 % for 5 s), reads it, and stops the platform.
 */
export async function measureIdle(opts: IdleOptions): Promise<IdleResult> {
  const { password } = opts;
  const started = performance.now();
  const { child, ready: url } = await startNode({
    name: 'spindle start',
    args: [join(opts.repoRoot, 'cli/bin/spindle.mjs'), 'start'],
    cwd: opts.repoRoot,
    env: { ...opts.env, SPINDLE_DATA_DIR: opts.dataDir, SPINDLE_ADMIN_PASSWORD: password, PORT: '0', SPINDLE_DRAIN_MS: '1000', SPINDLE_GPU_METRICS_PORT: '0' },
    ready: (line) => /Spindle gateway listening on (http:\/\/\S+)/.exec(line)?.[1],
    timeoutMs: 300_000,
  });
  const readyS = (performance.now() - started) / 1000;
  try {
    const deadline = performance.now() + (opts.settleTimeoutMs ?? 180_000);
    let fns = await functions(url, password);
    while (fns.some((f) => !f.available) && performance.now() < deadline) {
      await sleep(500);
      fns = await functions(url, password);
    }
    const digests = new Map(fns.map((f) => [f.image.replace(/^bundle:\/\/sha256:/, ''), f.name]));
    const totals: number[] = [];
    let tree = processTree(child.pid);
    let settled = false;
    while (performance.now() < deadline) {
      await sleep(1000);
      tree = processTree(child.pid);
      totals.push(tree.reduce((n, p) => n + p.rssKb, 0));
      const last = totals.slice(-5);
      if (last.length === 5 && Math.max(...last) - Math.min(...last) <= 0.02 * Math.min(...last)) {
        settled = true;
        break;
      }
    }
    const processes = tree.map((p) => ({ role: roleOf(p, child.pid, digests), pid: p.pid, rssMb: p.rssKb / 1024 }));
    const order = (r: string) => (r.startsWith('gateway') ? 0 : r === 'GPU runner' ? 1 : r.startsWith('replica') ? 2 : 3);
    processes.sort((a, b) => order(a.role) - order(b.role) || a.role.localeCompare(b.role));
    return { processes, totalMb: processes.reduce((n, p) => n + p.rssMb, 0), readyS, settled };
  } finally {
    // The platform drains for SPINDLE_DRAIN_MS, then stops its replicas and the runner.
    await child.stop(20_000);
  }
}

/** Prints the idle table: one row per process role, a column per start, the machine named as the other tables do. */
export function printIdle(machineLine: string, database: string, runs: Array<{ label: string; result: IdleResult }>): void {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  const rule = '-'.repeat(78);
  const roles: string[] = [];
  const byRole = runs.map(({ result }) => {
    const seen = new Map<string, number>();
    const m = new Map<string, number>();
    for (const p of result.processes) {
      const n = (seen.get(p.role) ?? 0) + 1;
      seen.set(p.role, n);
      const role = n > 1 ? `${p.role} #${n}` : p.role;
      if (!roles.includes(role)) roles.push(role);
      m.set(role, p.rssMb);
    }
    return m;
  });
  out(rule);
  out(`idle RSS per process after \`spindle start\` with the default stack.yml, ${database}; read once every function`);
  out('is up and the total has stayed within 2 % for 5 s. First start: builds and a new database; restart: same data dir.');
  out(machineLine);
  out(rule);
  out(`${'process'.padEnd(34)}${runs.map((r) => `${r.label} MB`.padStart(18)).join('')}`);
  for (const role of roles) out(`${role.padEnd(34)}${byRole.map((m) => (m.has(role) ? m.get(role)!.toFixed(1) : '-').padStart(18)).join('')}`);
  out(`${'total'.padEnd(34)}${runs.map((r) => r.result.totalMb.toFixed(1).padStart(18)).join('')}`);
  out(`${'start to "listening" (s)'.padEnd(34)}${runs.map((r) => r.result.readyS.toFixed(1).padStart(18)).join('')}`);
  for (const r of runs) if (!r.result.settled) out(`note: ${r.label}: RSS was still moving when the wait ran out; figures are the last sample`);
  out(rule);
}
