/** The one wiring point: builds every client (database, object store, provider) and the gateway from a config. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { loadAdminPassword } from './auth.ts';
import { Autoscaler } from './autoscaler.ts';
import type { PlatformConfig } from './config.ts';
import { makeDataDirPrivate } from './data-dir.ts';
import { FunctionService } from './functions.ts';
import { LogHub } from './logs.ts';
import { GatewayMetrics } from './metrics.ts';
import { createCheckpointer } from './graphs/checkpoints.ts';
import { RunEvents } from './graphs/events.ts';
import { GraphExecutor } from './graphs/executor.ts';
import { GraphMetrics } from './graphs/metrics.ts';
import { GraphStore, RunStore } from './graphs/store.ts';
import { ThreadStates, ThreadStore } from './langgraph/index.ts';
import { Invoker } from './invoker.ts';
import { createAsyncService, LocalAsyncInvoker, type AsyncService } from './async/index.ts';
import { Redis } from 'ioredis';
import { GpuClient } from './gpu/client.ts';
import { GpuService } from './gpu/service.ts';
import { NatsLink } from './nats.ts';
import { GpuProvider } from './provider/gpu.ts';
import { LocalProvider } from './provider/local.ts';
import type { Provider } from './provider/types.ts';
import { buildGateway } from './server.ts';
import { loadSessionKey, Sessions, sessionSigningKey } from './session.ts';
import { PrometheusStats } from './stats/prometheus.ts';
import { WebApp } from './web/app.ts';
import {
  BundleStore,
  DeploymentStore,
  EmbeddedDatabase,
  FolderBlobStore,
  loadSecretBox,
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
  /** Function log lines (`/system/logs`); the GPU runner's lines are added by start.ts. */
  logs: LogHub;
  /** Runs graphs (LangGraph, checkpoints in Postgres). */
  executor: GraphExecutor;
  /** NATS (async invocations, run events); `current()` is null while it is unreachable. */
  nats: NatsLink;
  /** Async invocations: the JetStream queue, status API, dead letters and the in-process queue worker. */
  async: AsyncService;
  /** The web app served at `/ui`: `spindle start` hands it the folder it built (`web.use(dir)`). */
  web: WebApp;
  /** Sets replica counts from load (`com.openfaas.scale.*` labels); its turns run once `listen()` resolved, unless config.autoscale is off. */
  autoscaler: Autoscaler;
  logger: Logger;
  listen(): Promise<string>;
  /** Stops the server, every replica, and the clients. Idempotent. */
  close(): Promise<void>;
}

/** Builds the platform from `config`; nothing listens until `listen()`. */
export async function createPlatform(config: PlatformConfig, logger: Logger = pino({ level: config.logLevel })): Promise<Platform> {
  await makeDataDirPrivate(config.dataDir, logger);
  // Before anything is opened, so a malformed SPINDLE_SECRET_KEY leaves nothing to close.
  const secretBox = await loadSecretBox(config.dataDir, config.secretKey);
  const db: Database = config.databaseUrl
    ? new PostgresDatabase({ url: config.databaseUrl, schema: config.databaseSchema, logger })
    : new EmbeddedDatabase({ dataDir: config.dataDir, schema: config.databaseSchema, logger });
  const blobs: BlobStore = config.s3
    ? new S3BlobStore({ client: s3ClientFromUrl(config.s3.endpoint, config.s3.accessKey, config.s3.secretKey, config.s3.region), bucket: config.s3.bucket })
    : new FolderBlobStore(join(config.dataDir, 'objects'));
  await Promise.all([db.ready(), blobs.ready()]);
  const secrets = new SecretStore(db, secretBox);
  await checkSecrets(secrets, logger);

  const nats = new NatsLink(config.natsUrl, logger);
  await nats.ready();
  const adminPassword = await loadAdminPassword(config.dataDir, config.adminPassword);
  const sessions = new Sessions(sessionSigningKey(await loadSessionKey(config.dataDir), adminPassword));
  const web = new WebApp(config.webDir);
  const artifactsToken = config.artifactsToken ?? randomBytes(24).toString('base64url');
  const logs = new LogHub();
  let url = '';
  // SPINDLE_ARTIFACTS_URL is added once the port is known; no replica starts before listen().
  const replicaEnv: Record<string, string> = { SPINDLE_ARTIFACTS_TOKEN: artifactsToken };
  // Pods reach the gateway through its Service, not the address it listens on.
  if (config.kubernetes) replicaEnv.SPINDLE_ARTIFACTS_URL = `${config.kubernetes.gatewayUrl}/internal/artifacts`;
  // Metrics read replica counts and scaling at scrape time, hence the late-bound references.
  let functions: FunctionService | undefined;
  let autoscaler: Autoscaler | undefined;
  const metrics = new GatewayMetrics(() =>
    (functions?.all() ?? []).map((f) => {
      const counts = f.provider.status(f.record.name);
      const { min, max, target, type } = f.scaling;
      return {
        name: f.record.name,
        replicas: counts?.replicas ?? 0,
        available: counts?.availableReplicas ?? 0,
        ...(f.plane === 'control' && { scaling: { min, max, target, type, load: autoscaler?.lastLoad(f.record.name) ?? null } }),
      };
    }),
  );
  const provider = new LocalProvider({ runDir: join(config.dataDir, 'run'), logs, logger, drainMs: config.drainMs, startTimeoutMs: config.startTimeoutMs, replicaEnv, onRestart: (name) => metrics.replicaRestarted(name) });
  // GPU functions: two Redis connections (commands; the blocking reply reader). The gateway starts
  // and serves replicas while Redis is down; GPU calls answer 503 until it is up.
  const redisOpts = { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: (n: number) => Math.min(n * 200, 2000) };
  const gpuClient = new GpuClient(new Redis(config.redisUrl, redisOpts), new Redis(config.redisUrl, { ...redisOpts, maxRetriesPerRequest: null }), {
    prefix: config.redisPrefix,
    redisUrl: config.redisUrl,
    streamCap: config.gpuStreamCap ?? 10_000,
    logger,
  });
  await gpuClient.ready();
  const control = config.kubernetes ? await kubernetesProvider(config.kubernetes, replicaEnv, logs, logger) : provider;
  const bundles = new BundleStore(db, blobs);
  const gpu = new GpuService(gpuClient, bundles, join(config.dataDir, 'bundles'), metrics.registry);
  const gpuProvider = new GpuProvider(gpu);
  functions = new FunctionService({
    deployments: new DeploymentStore(db),
    bundles,
    secrets,
    providers: { control, gpu: gpuProvider },
    metrics,
    bundleDir: join(config.dataDir, 'bundles'),
    logger,
    defaultTimeoutMs: config.defaultTimeoutMs,
  });

  const fns = functions;
  autoscaler = new Autoscaler({ functions: fns, metrics, logger, intervalMs: config.autoscaleIntervalMs, defaultDownWindowMs: config.scaleDownWindowMs });
  const scaler = autoscaler;
  const invoker = new Invoker({ functions: fns, metrics, readyWaitMs: config.readyWaitMs, maxBodyBytes: config.maxBodyBytes });
  const asyncCalls = createAsyncService({ nats, blobs, invoker: new LocalAsyncInvoker(invoker), metrics, logger, settings: config, drainMs: config.drainMs });
  metrics.asyncDepth = () => asyncCalls.depth();
  const graphs = new GraphStore(db);
  const runs = new RunStore(db);
  const events = new RunEvents(runs, nats, config.natsPrefix, logger);
  const graphMetrics = new GraphMetrics(metrics.registry);
  events.onEvent((e) => graphMetrics.observe(e));
  const checkpointer = await createCheckpointer(db);
  const executor = new GraphExecutor({
    invoker,
    graphs,
    runs,
    events,
    checkpointer,
    nats,
    natsPrefix: config.natsPrefix,
    hasFunction: (name) => fns.lookup(name) !== undefined,
    // Progress comes from replicas (IPC) and from the GPU runner (on this gateway's reply stream).
    onProgress: (fn) => {
      const stops = [provider.onProgress(fn), gpuProvider.onProgress(fn)];
      return () => {
        for (const stop of stops) stop();
      };
    },
    logger,
  });
  const app = buildGateway({
    graph: { executor, graphs, runs, events, threads: new ThreadStore(db), states: new ThreadStates(checkpointer, runs) },
    async: asyncCalls,
    logger,
    functions: fns,
    invoker,
    metrics,
    logs,
    bundles,
    secrets,
    blobs,
    adminPassword,
    sessions,
    web,
    ...(config.prometheusUrl && { prometheus: new PrometheusStats(config.prometheusUrl) }),
    artifactsToken,
    ...(config.trustProxy !== undefined && { trustProxy: config.trustProxy }),
    limits: { maxBodyBytes: config.maxBodyBytes, maxJsonBytes: 1024 * 1024, maxBundleBytes: config.maxBundleBytes, maxArtifactBytes: config.maxArtifactBytes, readyWaitMs: config.readyWaitMs },
    gpu,
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
    logs,
    executor,
    nats,
    async: asyncCalls,
    autoscaler: scaler,
    web,
    logger,
    async listen() {
      url = await app.listen({ host: config.host, port: config.port });
      if (!config.kubernetes) replicaEnv.SPINDLE_ARTIFACTS_URL = `${url}/internal/artifacts`;
      // The GPU runner reaches this gateway at its listen address when it runs beside it, or at SPINDLE_PUBLIC_URL
      // from its own container (a listen address of 0.0.0.0 reads as 127.0.0.1 there: the runner itself).
      gpu.artifacts = { url: `${config.publicUrl ?? url}/internal/artifacts`, token: artifactsToken };
      const restored = await fns.restore();
      if (restored) logger.info({ functions: restored }, 'restored deployed functions');
      if (config.autoscale) scaler.start();
      // After the restore, so queued calls find their functions.
      asyncCalls.start();
      const resumed = await executor.resumeAll();
      if (resumed) logger.info({ runs: resumed }, 'resumed unfinished runs');
      return url;
    },
    close() {
      closing ??= (async () => {
        // Calls in flight get a grace period; then whatever connection is still open is closed, so a
        // stuck client can never hold Ctrl-C hostage.
        const force = setTimeout(() => app.server.closeAllConnections(), 3000).unref();
        await app.close().catch((err) => logger.error({ err }, 'closing the server failed'));
        clearTimeout(force);
        // Running async calls finish (or go back to the queue) while replicas and NATS are still up.
        await asyncCalls.close();
        await executor.close();
        await scaler.close();
        await provider.close();
        if (control !== provider) await control.close();
        await Promise.all([db.close(), blobs.close(), nats.close(), gpuClient.close()]);
      })();
      return closing;
    },
  };
  return platform;
}

/** The Kubernetes provider, with its client library loaded only now (most gateways never need it). */
async function kubernetesProvider(settings: NonNullable<PlatformConfig['kubernetes']>, replicaEnv: Record<string, string>, logs: LogHub, logger: Logger): Promise<Provider> {
  const k8s = await import('@kubernetes/client-node');
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromDefault(); // in a pod: its service account; elsewhere: KUBECONFIG or ~/.kube/config
  const { KubernetesProvider } = await import('./provider/kubernetes.ts');
  const provider = new KubernetesProvider({ ...settings, replicaEnv, k8s, kubeConfig, logs, logger });
  await provider.ready();
  logger.info({ namespace: settings.namespace, image: settings.runtimeImage }, 'control functions run on Kubernetes');
  return provider;
}

/** Seals plaintext values an older version stored, and warns about values this gateway's key cannot open. */
async function checkSecrets(secrets: SecretStore, logger: Logger): Promise<void> {
  const sealed = await secrets.sealPlaintext(logger);
  if (sealed.length > 0) {
    logger.warn({ secrets: sealed }, 'sealed secret values an older version stored in plain text; rotate them if the database or data dir was ever readable by others');
  }
  const foreign = await secrets.sealedElsewhere();
  if (foreign.length > 0) {
    logger.warn({ secrets: foreign }, 'these secrets were sealed with another key and cannot be read here; gateways sharing a database must share SPINDLE_SECRET_KEY');
  }
}
