/**
 * GPU functions when Redis goes away: a redis-server of the test's own (never the machine's) is shut down
 * without saving and started again empty, or flushed under load. GPU calls answer 503 naming Redis while it
 * is down, every call in flight ends at once (200, or a 503 saying the queue was lost), and calls made
 * afterwards succeed without restarting the gateway or the runner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, sleep } from './async-support.ts';
import { startPlatform, tempDir, uniqueName, type Api } from './harness.ts';
import { deployGpu, loaded, startRunner, waitRunner, type RunnerProc } from './gpu-harness.ts';

/** A redis-server of this test only: no persistence, so a restart comes back empty; same port every time. */
class RedisServer {
  #child: ChildProcess | null = null;
  #dir = '';
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port ||= await freePort();
    this.#dir ||= await tempDir('spindle-redis-');
    this.#child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      const ok = await probe.connect().then(() => probe.ping()).then(() => true, () => false);
      probe.disconnect();
      if (ok) return this;
      if (Date.now() > deadline) throw new Error(`redis-server did not start on ${this.port}`);
      await sleep(50);
    }
  }

  /** Runs one command on a fresh connection. */
  async command(...args: string[]): Promise<unknown> {
    const c = new Redis(this.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    try {
      return await c.call(args[0], ...args.slice(1));
    } finally {
      c.disconnect();
    }
  }

  /** `SHUTDOWN NOSAVE`, and waits for the process to exit. */
  async shutdown(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    await this.command('SHUTDOWN', 'NOSAVE').catch(() => {});
    await exited;
  }

  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }
}

const server = new RedisServer();
const prefix = uniqueName('spf');
let api: Api;
let stop: (() => Promise<void>) | undefined;
let runner: RunnerProc | undefined;
const vec = (seed: number) => Array.from({ length: 16 }, (_, i) => Math.cos(seed + i));
/** The message a call in flight gets when Redis lost the GPU queue. */
const LOST = /GPU job queue was lost.*Redis.*retry/;

/** One GPU call, bounded: status, error message, milliseconds. A call that hangs past `limitMs` reads as status 0. */
async function call(name: string, body: unknown, limitMs = 20_000): Promise<{ status: number; message: string; ms: number }> {
  const t = Date.now();
  try {
    const res = await api.invoke(name, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(limitMs) });
    const text = await res.text();
    const message = res.status >= 400 ? (JSON.parse(text).error?.message ?? text) : '';
    return { status: res.status, message, ms: Date.now() - t };
  } catch (err) {
    return { status: 0, message: String(err), ms: Date.now() - t };
  }
}

/** Calls `name` until one answers 200; fails past `withinMs`. */
async function until200(name: string, withinMs: number): Promise<number> {
  const t = Date.now();
  for (;;) {
    const r = await call(name, { x: vec(1) }, 3000);
    if (r.status === 200) return Date.now() - t;
    if (Date.now() - t > withinMs) throw new Error(`no 200 within ${withinMs} ms; last: ${r.status} ${r.message}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  await server.start();
  const started = await startPlatform({ redisUrl: server.url, redisPrefix: prefix });
  api = started.api;
  stop = started.stop;
  runner = await startRunner(prefix, { REDIS_URL: server.url });
  expect((await deployGpu(api, 'mlp1', 'gpu-mlp1')).status).toBe(202);
  await waitRunner(api, loaded('mlp1'));
}, 60_000);

afterAll(async () => {
  await runner?.stop('SIGKILL');
  await stop?.();
  await server.kill();
});

it('answers 503 naming Redis while it is down, and serves again once it is back empty (nothing restarted)', async () => {
  expect((await call('mlp1', { x: vec(0) })).status).toBe(200);
  await server.shutdown();
  // The gateway notices the closed connection at once; every GPU call is then a fast 503 naming Redis.
  let down = await call('mlp1', { x: vec(0) });
  for (let i = 0; down.status !== 503 && i < 40; i++) down = await (sleep(50).then(() => call('mlp1', { x: vec(0) })));
  expect(down.status).toBe(503);
  expect(down.message).toMatch(/Redis.*not reachable/);
  const fast = await call('mlp1', { x: vec(0) });
  expect([fast.status, fast.ms < 500]).toEqual([503, true]);
  const status = await (await api.system('GET', '/system/runner')).json();
  expect(status).toMatchObject({ alive: false });
  expect(status.message).toMatch(/Redis.*not reachable/);
  await sleep(1500);
  await server.start();
  const ms = await until200('mlp1', 8000);
  console.log(`GPU calls answered 200 again ${ms} ms after Redis came back empty`);
  await waitRunner(api, loaded('mlp1'), 5000);
  // The function specs are back in Redis (a runner started now would load them), and the runner did
  // not log the missing group over and over.
  const specs = (await server.command('HKEYS', `${prefix}:gpu:functions`)) as string[];
  expect(specs).toEqual(['mlp1']);
  expect(runner!.output().match(/NOGROUP/g)?.length ?? 0).toBeLessThanOrEqual(2);
}, 30_000);

it('ends every call in flight at once (200 or "queue lost") when Redis is flushed or restarted empty under load', async () => {
  const results: Array<{ status: number; message: string; ms: number }> = [];
  let running = true;
  const callers = Array.from({ length: 20 }, async (_, c) => {
    for (let i = 0; running; i++) {
      const r = await call('mlp1', { x: vec(c * 1000 + i), spinMs: 5 });
      results.push(r);
      if (r.status !== 200) await sleep(20);
    }
  });
  let beforeFlush = 0;
  try {
    for (let i = 0; results.length < 40 && i < 100; i++) await sleep(100);
    beforeFlush = results.length;
    await server.command('FLUSHALL');
    await sleep(2000);
    await server.shutdown();
    await sleep(500);
    await server.start();
    await sleep(3000);
  } finally {
    running = false;
    await Promise.all(callers);
  }
  // Once Redis is back and settled, calls succeed again.
  await until200('mlp1', 5000);
  const after = await Promise.all(Array.from({ length: 20 }, (_, i) => call('mlp1', { x: vec(i) })));
  const by = (pred: (r: (typeof results)[number]) => boolean) => results.filter(pred).length;
  const counts = {
    sent: results.length,
    ok: by((r) => r.status === 200),
    lost: by((r) => r.status === 503 && LOST.test(r.message)),
    redisDown: by((r) => r.status === 503 && !LOST.test(r.message) && /Redis/.test(r.message)),
    noRunner: by((r) => r.status === 503 && /no GPU runner/.test(r.message)),
    other: by((r) => r.status !== 200 && r.status !== 503),
    hung: by((r) => r.status === 0),
    slowestMs: Math.max(...results.map((r) => r.ms)),
    afterOk: after.filter((r) => r.status === 200).length,
  };
  const messages = [...new Set(results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.message.replace(/\d+/g, 'N')}`))];
  console.log(`GPU calls under load across FLUSHALL and an empty restart: ${JSON.stringify(counts)}\n${messages.join('\n')}`);
  expect(beforeFlush).toBeGreaterThanOrEqual(40);
  expect(results.filter((r) => r.status !== 200 && r.status !== 503).map((r) => `${r.status} ${r.message}`).slice(0, 5)).toEqual([]);
  expect(counts.sent).toBe(counts.ok + counts.lost + counts.redisDown + counts.noRunner);
  expect(counts.slowestMs).toBeLessThan(10_000);
  expect(counts.afterOk).toBe(20);
}, 45_000);
