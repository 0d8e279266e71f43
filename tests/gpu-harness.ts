/** GPU test helpers: GPU bundles with their models, a real runner child process, Redis clean-up. */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { buildFunction } from '@spindle/cli';
import { ROOT, spawnUntil, tempDir, uniqueName, type Api } from './harness.ts';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

type GpuBundle = { digest: string; bytes: Buffer; models: Array<{ digest: string; bytes: Buffer }> };
const cache = new Map<string, Promise<GpuBundle>>();

/** Builds a GPU function (`functions/NAME` or `tests/fixtures/NAME`) with the CLI's esbuild step, models included. */
function gpuBundle(name: string): Promise<GpuBundle> {
  let p = cache.get(name);
  if (!p) {
    p = (async () => {
      const handlerDir = [join(ROOT, 'functions', name), join(ROOT, 'tests', 'fixtures', name)].find((d) => existsSync(join(d, 'handler.ts')));
      if (!handlerDir) throw new Error(`no function ${name}`);
      const outDir = await tempDir('spindle-gpu-build-');
      const r = await buildFunction({ name, handlerDir, stackDir: ROOT, outDir, lang: 'gpu' });
      const models = await Promise.all((r.models ?? []).map(async (m) => ({ digest: m.digest, bytes: await readFile(m.path) })));
      return { digest: r.digest, bytes: await readFile(r.bundlePath), models };
    })();
    cache.set(name, p);
  }
  return p;
}

/** Uploads a GPU bundle and its models, then deploys it as `service` (POST, or PUT with `update`). */
export async function deployGpu(api: Api, service: string, fn: string, extra: { labels?: Record<string, string>; envVars?: Record<string, string> } = {}, update = false): Promise<Response> {
  const b = await gpuBundle(fn);
  for (const blob of [...b.models, b]) {
    const up = await fetch(`${api.url}/system/bundles/${blob.digest}`, { method: 'PUT', headers: { authorization: api.auth, 'content-type': 'application/octet-stream' }, body: new Uint8Array(blob.bytes) });
    if (up.status >= 300) throw new Error(`upload failed: ${up.status} ${await up.text()}`);
  }
  const annotations = { 'com.spindle.lang': 'gpu', 'com.spindle.gpu.models': b.models.map((m) => m.digest).join(',') };
  return api.system(update ? 'PUT' : 'POST', '/system/functions', { service, image: `bundle://${b.digest}`, annotations, ...extra });
}

/** A runner child process on `prefix`. */
export interface RunnerProc {
  child: ChildProcess;
  metricsUrl: string;
  output(): string;
  /** SIGTERM (graceful) unless told otherwise; resolves when it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `gpu-runner/src/main.ts` against the machine's Redis with `prefix`; resolves once it serves jobs.
 * `built`: the runner's `main.mjs` as `spindle start` builds it, run on plain node instead.
 */
export async function startRunner(prefix: string, env: Record<string, string> = {}, built?: string): Promise<RunnerProc> {
  const args = built ? ['--enable-source-maps', built] : ['--import', 'tsx', join(ROOT, 'gpu-runner/src/main.ts')];
  const { child, match, output } = await spawnUntil(process.execPath, args, /gpu-runner ready .*metrics=(\S+)/, {
    env: { REDIS_URL, SPINDLE_REDIS_PREFIX: prefix, SPINDLE_GPU_METRICS_PORT: '0', SPINDLE_GPU_CLAIM_IDLE_MS: '1000', SPINDLE_GPU_HEARTBEAT_MS: '250', SPINDLE_GPU_EP: 'auto', LOG_LEVEL: 'warn', ...env },
    timeoutMs: 30_000,
  });
  child.removeAllListeners('exit');
  return {
    child,
    metricsUrl: match[1],
    output,
    stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
  };
}

/** A fresh Redis prefix and a function that deletes every key under it. */
export function redisPrefix(): { prefix: string; cleanup(): Promise<void> } {
  const prefix = uniqueName('spt');
  return {
    prefix,
    async cleanup() {
      const r = new Redis(REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length) await r.del(...keys);
      } while (cursor !== '0');
      r.disconnect();
    },
  };
}

/** Polls GET /system/runner until `check` passes; returns the status. */
export async function waitRunner(api: Api, check: (s: any) => boolean, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await (await api.system('GET', '/system/runner')).json();
    if (check(s)) return s;
    if (Date.now() > deadline) throw new Error(`runner status did not match in time: ${JSON.stringify(s).slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when the runner reports `name` loaded at `version` (any version when omitted). */
export const loaded = (name: string, version?: number) => (s: any) => s.alive && s.functions?.some((f: any) => f.name === name && f.version > 0 && (version === undefined || f.version === version));
