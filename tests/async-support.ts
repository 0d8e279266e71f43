/** What the async tests share: a callback receiver, a private nats-server, stream cleanup, a platform per test. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createConnection } from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ANNOTATIONS } from '@spindle/schemas';
import type { PlatformConfig } from '@spindle/gateway';
import { expect } from 'vitest';
import pg from 'pg';
import { MACHINE_PG, startPlatform, tempDir, uniqueName, type Api } from './harness.ts';

export const MACHINE_NATS = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One POST a callback receiver got. */
export interface Delivery {
  callId: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

/** An HTTP server standing in for X-Callback-Url: records every POST, can fail the next ones. */
export class CallbackReceiver {
  readonly deliveries: Delivery[] = [];
  #failNext = 0;
  #failStatus = 503;
  #server!: Server;
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.#failNext > 0) {
          this.#failNext--;
          return void res.writeHead(this.#failStatus).end('not now');
        }
        this.deliveries.push({ callId: String(req.headers['x-call-id']), headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
        res.writeHead(200).end();
      });
    });
    this.#server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/cb`;
    return this;
  }

  /** Answers the next `n` callbacks with `status` (not recorded). */
  failNext(n: number, status = 503): void {
    this.#failNext = n;
    this.#failStatus = status;
  }

  /** Deliveries for `callId`. */
  of(callId: string): Delivery[] {
    return this.deliveries.filter((d) => d.callId === callId);
  }

  /** Waits until `done()` holds. */
  async until(done: () => boolean, timeoutMs = 20_000, what = 'callbacks'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${this.deliveries.length} received)`);
      await sleep(20);
    }
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((r) => this.#server.close(() => r()));
  }
}

/** Deletes the async streams of `prefix` (each test's own). */
export async function dropStreams(natsUrl: string, prefix: string): Promise<void> {
  const nc = await connect({ servers: natsUrl, timeout: 2000 }).catch(() => null);
  if (!nc) return;
  const jsm = await jetstreamManager(nc);
  for (const name of [`${prefix}_ASYNC`, `${prefix}_ASYNC_STATUS`, `${prefix}_ASYNC_DEAD`]) await jsm.streams.delete(name).catch(() => {});
  await nc.close();
}

/** Drops a test's database schema. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: MACHINE_PG });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}

/** Names of the streams under `prefix`. */
export async function streamsOf(natsUrl: string, prefix: string): Promise<string[]> {
  const nc = await connect({ servers: natsUrl, timeout: 2000 });
  const jsm = await jetstreamManager(nc);
  const names: string[] = [];
  for await (const name of jsm.streams.names()) if (name.startsWith(`${prefix}_`)) names.push(name);
  await nc.close();
  return names.sort();
}

/** A platform on its own NATS prefix and database schema (machine Postgres: fast to start); `stop()` removes both. */
export async function asyncPlatform(overrides: Partial<PlatformConfig> = {}) {
  const natsPrefix = uniqueName('async').replace('_', '');
  const databaseSchema = uniqueName('spindle_async');
  const natsUrl = overrides.natsUrl ?? MACHINE_NATS;
  const started = await startPlatform({ natsUrl, natsPrefix, databaseUrl: MACHINE_PG, databaseSchema, maxBodyBytes: 4 * 1024 * 1024, ...overrides });
  return {
    ...started,
    natsPrefix,
    async stop() {
      await started.stop();
      await Promise.all([dropStreams(natsUrl, natsPrefix), dropSchema(databaseSchema)]);
    },
  };
}

/** A free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A nats-server of the test's own (JetStream on, file store in a temp dir) that can be killed and started again on the same port. */
export class NatsServer {
  #child: ChildProcess | null = null;
  port = 0;
  #dir = '';

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts on the same port as before; `fresh`: with an empty store, as a server without persistence restarts. */
  async start(fresh = false): Promise<this> {
    this.port ||= await freePort();
    if (fresh || !this.#dir) this.#dir = await tempDir('spindle-nats-');
    this.#child = spawn('/usr/sbin/nats-server', ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.#dir], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await listening(this.port))) {
      if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${this.port}`);
      await sleep(50);
    }
    return this;
  }

  /** SIGKILL, and wait for the exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

type Started = Awaited<ReturnType<typeof asyncPlatform>>;

/** What the current test started; `runCleanups` (afterEach) undoes it, last first. */
export const cleanups: Array<() => Promise<unknown>> = [];

/** Runs and forgets every cleanup, last first, ignoring failures. */
export async function runCleanups(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
}

/** A platform (own prefix) and a callback receiver, both gone after the test. */
export async function setup(overrides: Parameters<typeof asyncPlatform>[0] = {}): Promise<{ p: Started; api: Api; cb: CallbackReceiver }> {
  const p = await asyncPlatform(overrides);
  cleanups.push(() => p.stop());
  const cb = await new CallbackReceiver().start();
  cleanups.push(() => cb.close());
  return { p, api: p.api, cb };
}

/** Deploys a test fixture (one replica at most) with annotations. */
export async function deploy(api: Api, name: string, annotations: Record<string, string> = {}, fn = 'flaky'): Promise<void> {
  const res = await api.deploy(name, fn, { annotations, labels: { 'com.openfaas.scale.max': '1' } });
  expect(res.status, await res.clone().text()).toBe(202);
}

/** POST /async-function/<target>; returns the response and its call id. */
export async function enqueue(api: Api, target: string, init: RequestInit = {}): Promise<{ res: Response; callId: string }> {
  const res = await fetch(`${api.url}/async-function/${target}`, { method: 'POST', ...init });
  return { res, callId: res.headers.get('x-call-id') ?? '' };
}

/** POSTs like curl does with a body over 1 KiB: `Expect: 100-continue`, the body after the interim 100. */
export function postExpecting100(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; callId: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, expect: '100-continue', 'content-length': body.length } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, callId: String(res.headers['x-call-id']) });
    });
    req.on('continue', () => req.end(body));
    req.on('error', reject);
  });
}

/** GET /async-function/status/:callId as JSON. */
export const status = async (api: Api, callId: string) => (await api.system('GET', `/async-function/status/${callId}`)).json();
/** The flaky fixture's counters. */
export const stats = async (api: Api, fn: string) => (await api.invoke(fn, { method: 'GET', path: '/stats' })).json();
/** Retry annotations with short waits. */
export const fast = (attempts: number) => ({ [ANNOTATIONS.retryAttempts]: String(attempts), [ANNOTATIONS.retryMinWait]: '50ms', [ANNOTATIONS.retryMaxWait]: '200ms' });
