/** Test harness: real gateways (in-process or as child processes), real replicas, bundles built by the CLI's esbuild step. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFunction } from '@spindle/cli';
import { configFromEnv, createPlatform, type Platform, type PlatformConfig } from '@spindle/gateway';
import { pino } from 'pino';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const MACHINE_PG = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh temp folder, removed by the returned cleanup. */
export async function tempDir(prefix = 'spindle-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A unique name for schemas, prefixes and functions. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

const bundleCache = new Map<string, Promise<{ digest: string; bytes: Buffer }>>();

/** Builds `functions/<name>` or `tests/fixtures/<name>` with the CLI's esbuild step; cached per test file. */
export function bundle(name: string): Promise<{ digest: string; bytes: Buffer }> {
  let p = bundleCache.get(name);
  if (!p) {
    p = (async () => {
      const handlerDir = [join(ROOT, 'functions', name), join(ROOT, 'tests', 'fixtures', name)].find((d) => existsSync(join(d, 'handler.ts')));
      if (!handlerDir) throw new Error(`no function ${name}`);
      const outDir = await tempDir('spindle-build-');
      const result = await buildFunction({ name, handlerDir, stackDir: ROOT, outDir });
      const bytes = await readFile(result.bundlePath);
      await rm(outDir, { recursive: true, force: true });
      return { digest: result.digest.replace(/^sha256:/, ''), bytes };
    })();
    bundleCache.set(name, p);
  }
  return p;
}

/** A client for one gateway: management calls with basic auth, invocations without. */
export class Api {
  constructor(
    readonly url: string,
    readonly password: string,
  ) {}

  get auth(): string {
    return `Basic ${Buffer.from(`admin:${this.password}`).toString('base64')}`;
  }

  /** A management API call (JSON in, Response out). */
  system(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(this.url + path, {
      method,
      headers: { authorization: this.auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** Uploads a bundle and deploys it as `service`; returns the deploy response. */
  async deploy(service: string, fn: string, extra: Record<string, unknown> = {}): Promise<Response> {
    const { digest, bytes } = await bundle(fn);
    const up = await fetch(`${this.url}/system/bundles/sha256:${digest}`, {
      method: 'PUT',
      headers: { authorization: this.auth, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(bytes),
    });
    if (up.status >= 300) throw new Error(`upload failed: ${up.status} ${await up.text()}`);
    return this.system('POST', '/system/functions', { service, image: `bundle://sha256:${digest}`, ...extra });
  }

  /** Invokes a function. */
  invoke(name: string, init: RequestInit & { path?: string } = {}): Promise<Response> {
    return fetch(`${this.url}/function/${name}${init.path ?? ''}`, { method: 'POST', ...init });
  }

  /** Polls until `name` has `n` available replicas. */
  async waitReplicas(name: string, n: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await this.system('GET', `/system/function/${name}`);
      if (res.ok && (await res.json()).availableReplicas === n) return;
      if (Date.now() > deadline) throw new Error(`${name} did not reach ${n} replicas`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** An in-process gateway on a random port with its own data dir and database schema. */
export async function startPlatform(overrides: Partial<PlatformConfig> = {}): Promise<{ platform: Platform; api: Api; dataDir: string; stop(): Promise<void> }> {
  const dataDir = overrides.dataDir ?? (await tempDir());
  const config: PlatformConfig = {
    ...configFromEnv({}),
    dataDir,
    port: 0,
    adminPassword: 'test-password',
    drainMs: 5000,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Replica counts in tests change only when a test scales; tests/autoscale.test.ts turns the autoscaler on.
    autoscale: false,
    ...overrides,
  };
  const platform = await createPlatform(config, pino({ level: config.logLevel }));
  const url = await platform.listen();
  return {
    platform,
    api: new Api(url, platform.adminPassword),
    dataDir,
    async stop() {
      await platform.close();
    },
  };
}

/** The test process's environment without Spindle settings a developer may have exported, plus `extra`. */
function testEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['SPINDLE_ADMIN_PASSWORD', 'SPINDLE_DATA_DIR', 'OPENFAAS_URL', 'DATABASE_URL', 'S3_ENDPOINT', 'PORT']) delete env[key];
  return { ...env, ...extra };
}

/** Runs a command to completion; returns its exit code and output. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: testEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    // A command that exits without reading its input (faas-cli refusing a stack file) closes the pipe: EPIPE is no failure.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Starts a long-running command and resolves once a line of its stdout matches `ready`. */
export function spawnUntil(cmd: string, args: string[], ready: RegExp, opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  return new Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }>((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: testEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out waiting for ${ready} from ${cmd} ${args.join(' ')}:\n${out}`));
    }, opts.timeoutMs ?? 60_000);
    const onData = (d: Buffer) => {
      out += d;
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ child, match: m, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited with ${code} before ${ready}:\n${out}`));
    });
  });
}

/** True while a process with `pid` exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
