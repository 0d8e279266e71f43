/**
 * What the route tests share: a platform built by createPlatform from real dependencies (the machine's
 * Postgres in a schema of its own, NATS and Redis under prefixes of their own) that never listens on a
 * port. Requests go through `app.inject()`; deployed functions have `com.openfaas.scale.min: 0` and no
 * queue worker runs, so no replica process starts unless a test calls a function with `/function/…`.
 * Not a test file itself: the route `*.test.ts` files beside it import it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { configFromEnv, type PlatformConfig } from '../config.ts';
import { createPlatform, type Platform } from '../main.ts';

export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PASSWORD = 'route-test-password';

/** `Basic` credentials for the management API of an injected platform; `password` to get them wrong. */
export function basic(password = PASSWORD): string {
  return `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
}

/**
 * A replica in a dozen lines: the watchdog's start-up handshake (port over IPC) and an HTTP server that
 * answers `hello from <path>`, logging `served <path>`. Lets a test call a function without building a
 * bundle with esbuild.
 */
export const TINY_REPLICA = `import { createServer } from 'node:http';
const server = createServer((req, res) => {
  console.log('served ' + req.url);
  res.setHeader('content-type', 'text/plain');
  res.end('hello from ' + req.url);
});
server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
process.on('SIGTERM', () => process.exit(0));
`;

/** A platform that answers `inject()` only, and what a test needs around it. */
export interface InjectedPlatform {
  platform: Platform;
  /** One request; `json` is sent as application/json, and `auth: false` leaves the credentials out. */
  request(opts: InjectOptions & { json?: unknown; auth?: boolean }): Promise<LightMyRequestResponse>;
  /** Uploads `code` as a bundle; returns the `bundle://sha256:…` image naming it. */
  upload(code?: string): Promise<string>;
  /** Deploys `service` at zero replicas (nothing starts) with an uploaded bundle; returns the response. */
  deploy(service: string, extra?: Record<string, unknown>): Promise<LightMyRequestResponse>;
  /** Closes the platform, drops its schema and streams, removes its data dir. */
  close(): Promise<void>;
}

/** Builds a platform on fresh storage; call `close()` in `afterAll`. */
export async function injectPlatform(overrides: Partial<PlatformConfig> = {}): Promise<InjectedPlatform> {
  const id = randomBytes(4).toString('hex');
  const dataDir = await mkdtemp(join(tmpdir(), 'spindle-routes-'));
  const config: PlatformConfig = {
    ...configFromEnv({}),
    dataDir,
    port: 0,
    databaseUrl: TEST_POSTGRES_URL,
    databaseSchema: `routes_${id}`,
    natsPrefix: `routes_${id}`,
    redisPrefix: `routes_${id}`,
    adminPassword: PASSWORD,
    // Queued async calls stay queued: a worker would call their functions and start replicas.
    asyncWorker: false,
    drainMs: 1000,
    readyWaitMs: 5000,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  };
  const platform = await createPlatform(config, pino({ level: config.logLevel }));
  await platform.app.ready();
  let image: string | undefined;

  const request: InjectedPlatform['request'] = ({ json, auth = true, headers, ...opts }) =>
    platform.app.inject({
      ...opts,
      headers: { ...(auth && { authorization: basic() }), ...(json !== undefined && { 'content-type': 'application/json' }), ...headers },
      ...(json !== undefined && { payload: JSON.stringify(json) }),
    });

  const upload = async (code = TINY_REPLICA) => {
    const digest = createHash('sha256').update(code).digest('hex');
    const res = await request({ method: 'PUT', url: `/system/bundles/sha256:${digest}`, headers: { 'content-type': 'application/octet-stream' }, payload: code });
    if (res.statusCode >= 300) throw new Error(`bundle upload failed: ${res.statusCode} ${res.body}`);
    return `bundle://sha256:${digest}`;
  };

  return {
    platform,
    request,
    upload,
    async deploy(service, extra = {}) {
      image ??= await upload();
      const { labels, ...rest } = extra as { labels?: Record<string, string> };
      return request({ method: 'POST', url: '/system/functions', json: { service, image, labels: { 'com.openfaas.scale.min': '0', ...labels }, ...rest } });
    },
    async close() {
      await platform.close();
      await Promise.all([dropSchema(config.databaseSchema!), dropStreams(config.natsUrl, config.natsPrefix), rm(dataDir, { recursive: true, force: true })]);
    },
  };
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Deletes the JetStream streams a test's prefix made (async enqueues make them). */
async function dropStreams(url: string, prefix: string): Promise<void> {
  const nc = await connect({ servers: url, timeout: 2000 }).catch(() => null);
  if (!nc) return;
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) if (name.startsWith(`${prefix}_`)) names.push(name);
    await Promise.all(names.map((n) => jsm.streams.delete(n)));
  } finally {
    await nc.close();
  }
}
