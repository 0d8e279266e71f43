/** The one wiring point: builds every client (database, object store, provider) and the gateway from a config. */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { loadAdminPassword } from './auth.ts';
import type { PlatformConfig } from './config.ts';
import { FunctionService } from './functions.ts';
import { LogHub } from './logs.ts';
import { GatewayMetrics } from './metrics.ts';
import { Invoker } from './invoker.ts';
import { NatsLink } from './nats.ts';
import { LocalProvider } from './provider/local.ts';
import { buildGateway } from './server.ts';
import {
  BundleStore,
  DeploymentStore,
  EmbeddedDatabase,
  FolderBlobStore,
  PostgresDatabase,
  S3BlobStore,
  SecretStore,
  s3ClientFromUrl,
  type BlobStore,
  type Database,
} from './store/index.ts';

/** A running platform: the gateway and everything it owns. */
export interface Platform {
  app: FastifyInstance;
  /** `http://host:port` once `listen()` resolved. */
  url: string;
  config: PlatformConfig;
  adminPassword: string;
  db: Database;
  blobs: BlobStore;
  provider: LocalProvider;
  functions: FunctionService;
  /** Calls functions from inside the gateway (async worker, graph executor). */
  invoker: Invoker;
  /** NATS (async invocations, run events); `current()` is null while it is unreachable. */
  nats: NatsLink;
  logger: Logger;
  listen(): Promise<string>;
  /** Stops the server, every replica, and the clients. Idempotent. */
  close(): Promise<void>;
}

/** Builds the platform from `config`; nothing listens until `listen()`. */
export async function createPlatform(config: PlatformConfig, logger: Logger = pino({ level: config.logLevel })): Promise<Platform> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const db: Database = config.databaseUrl
    ? new PostgresDatabase({ url: config.databaseUrl, schema: config.databaseSchema, logger })
    : new EmbeddedDatabase({ dataDir: config.dataDir, schema: config.databaseSchema, logger });
  const blobs: BlobStore = config.s3
    ? new S3BlobStore({ client: s3ClientFromUrl(config.s3.endpoint, config.s3.accessKey, config.s3.secretKey, config.s3.region), bucket: config.s3.bucket })
    : new FolderBlobStore(join(config.dataDir, 'objects'));
  await Promise.all([db.ready(), blobs.ready()]);

  const nats = new NatsLink(config.natsUrl, logger);
  await nats.ready();
  const adminPassword = await loadAdminPassword(config.dataDir, config.adminPassword);
  const artifactsToken = randomBytes(24).toString('base64url');
  const logs = new LogHub();
  let url = '';
  // SPINDLE_ARTIFACTS_URL is added once the port is known; no replica starts before listen().
  const replicaEnv: Record<string, string> = { SPINDLE_ARTIFACTS_TOKEN: artifactsToken };
  const provider = new LocalProvider({ runDir: join(config.dataDir, 'run'), logs, logger, drainMs: config.drainMs, replicaEnv });
  // Metrics read replica counts at scrape time, hence the late-bound reference.
  let functions: FunctionService | undefined;
  const metrics = new GatewayMetrics(() => (functions?.all() ?? []).map((f) => ({ name: f.record.name, replicas: provider.status(f.record.name)?.availableReplicas ?? 0 })));
  functions = new FunctionService({
    deployments: new DeploymentStore(db),
    bundles: new BundleStore(db, blobs),
    secrets: new SecretStore(db),
    provider,
    metrics,
    bundleDir: join(config.dataDir, 'bundles'),
    logger,
    defaultTimeoutMs: config.defaultTimeoutMs,
  });

  const fns = functions;
  const invoker = new Invoker({ functions: fns, provider, metrics, readyWaitMs: config.readyWaitMs });
  const app = buildGateway({
    logger,
    functions: fns,
    provider,
    metrics,
    logs,
    bundles: new BundleStore(db, blobs),
    secrets: new SecretStore(db),
    blobs,
    adminPassword,
    artifactsToken,
    limits: { maxBodyBytes: config.maxBodyBytes, maxJsonBytes: 1024 * 1024, maxBundleBytes: config.maxBundleBytes, readyWaitMs: config.readyWaitMs },
  });

  let closing: Promise<void> | null = null;
  const platform: Platform = {
    app,
    get url() {
      return url;
    },
    config,
    adminPassword,
    db,
    blobs,
    provider,
    functions: fns,
    invoker,
    nats,
    logger,
    async listen() {
      url = await app.listen({ host: config.host, port: config.port });
      replicaEnv.SPINDLE_ARTIFACTS_URL = `${url}/internal/artifacts`;
      const restored = await fns.restore();
      if (restored) logger.info({ functions: restored }, 'restored deployed functions');
      return url;
    },
    close() {
      closing ??= (async () => {
        await app.close().catch((err) => logger.error({ err }, 'closing the server failed'));
        await provider.close();
        await Promise.all([db.close(), blobs.close(), nats.close()]);
      })();
      return closing;
    },
  };
  return platform;
}
