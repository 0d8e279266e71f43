/** The gateway's configuration, read from the environment in one place. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Everything the platform can be told; `configFromEnv` fills it from variables. */
export interface PlatformConfig {
  host: string;
  port: number;
  dataDir: string;
  /** Postgres URL; unset → embedded PGlite under the data dir. */
  databaseUrl?: string;
  /** Schema for the tables (tests isolate themselves with their own). */
  databaseSchema?: string;
  /** S3/MinIO endpoint such as http://127.0.0.1:9000; unset → a folder under the data dir. */
  s3?: { endpoint: string; accessKey: string; secretKey: string; bucket: string; region?: string };
  adminPassword?: string;
  /**
   * Key that seals secret values in the database (32 bytes, base64 or hex); unset → `<dataDir>/secret-key`,
   * generated on first start. Gateways sharing a database must share it.
   */
  secretKey?: string;
  maxBodyBytes: number;
  maxBundleBytes: number;
  /** Largest upload to `POST /artifacts` (default 50 MiB). */
  maxArtifactBytes?: number;
  readyWaitMs: number;
  defaultTimeoutMs: number;
  drainMs: number;
  /** How long a replica may take to report ready before it is killed and restarted with backoff (0: no limit). */
  startTimeoutMs: number;
  /** Run the autoscaler (`com.openfaas.scale.*` labels); off, replica counts change only by scale-function. */
  autoscale: boolean;
  /** How often the autoscaler measures load and decides. */
  autoscaleIntervalMs: number;
  /** Scale-down stabilisation window of functions without `com.openfaas.scale.down.window`. */
  scaleDownWindowMs: number;
  logLevel: string;
  /** Redis for GPU work (Redis Streams). */
  redisUrl: string;
  /** Prefix of every Redis key (`spindle` → `spindle:gpu:jobs`); tests isolate themselves with their own. */
  redisPrefix: string;
  /** Most GPU jobs on the stream, all functions together (past it: 429). */
  gpuStreamCap?: number;
  /** Where control functions run: `local` replica processes, or `kubernetes` Deployments (SPINDLE_PROVIDER). */
  provider: 'local' | 'kubernetes';
  /** The Kubernetes provider's settings (SPINDLE_K8S_*, SPINDLE_RUNTIME_IMAGE); present when provider is kubernetes. */
  kubernetes?: { namespace: string; runtimeImage: string; objectStoreSecret: string; gatewayUrl: string };
  /** Token replicas use for /internal/artifacts; unset → random per process. Gateways behind one Service must share it. */
  artifactsToken?: string;
  /** NATS with JetStream for async invocations and run events. */
  natsUrl: string;
  /** Prefix of NATS subjects and JetStream stream names; tests isolate themselves with their own. */
  natsPrefix: string;
  /** Run a queue worker inside the gateway (off when `spindle queue-worker` processes scale separately). */
  asyncWorker: boolean;
  /** Async calls of one function running at once, across workers, unless `com.openfaas.queue.max_inflight` says otherwise. */
  asyncMaxInflight: number;
  /** JetStream ack wait: a worker that stops heartbeating loses its calls to another worker after this. */
  asyncAckWaitMs: number;
  /** How long an async call's status and result stay readable after its last change. */
  asyncResultTtlMs: number;
  /** How long a dead letter is kept when nobody redrives it. */
  asyncDeadLetterTtlMs: number;
  /** A built web app to serve at `/ui` (SPINDLE_WEB_DIR); unset, `spindle start` builds one and hands it over. */
  webDir?: string;
  /** Prometheus to read `/system/stats` from (PROMETHEUS_URL); unset, the gateway's own numbers. */
  prometheusUrl?: string;
  /**
   * Which proxies' `X-Forwarded-For` / `-Proto` to believe (SPINDLE_TRUST_PROXY: `true`, or addresses/CIDRs
   * separated by commas), as fastify's `trustProxy` reads it. Behind Traefik or an ingress
   * the login rate limit then counts each client, not the proxy. Unset: none (the socket's address).
   */
  trustProxy?: boolean | string;
  /**
   * The URL other processes reach this gateway at (SPINDLE_PUBLIC_URL), e.g. `http://gateway:8080` under
   * compose: the GPU runner in its own container fetches and stores artifacts there. Unset: the listen address.
   */
  publicUrl?: string;
}

/** SPINDLE_PUBLIC_URL checked: an http(s) URL without a trailing slash, or a start-up error naming the variable. */
function publicUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new Error(`SPINDLE_PUBLIC_URL ${JSON.stringify(value.slice(0, 100))} is not a URL like http://gateway:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('SPINDLE_PUBLIC_URL must be an http:// or https:// URL');
  return url.toString().replace(/\/+$/, '');
}

/** SPINDLE_TRUST_PROXY as fastify's `trustProxy` option. */
export function trustProxyOf(value: string | undefined): boolean | string | undefined {
  const v = value?.trim();
  if (!v || /^(0|false|no|off)$/i.test(v)) return undefined;
  return /^(1|true|yes|on)$/i.test(v) ? true : v;
}

function num(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${value}"`);
  return n;
}

function providerFromEnv(env: NodeJS.ProcessEnv): Pick<PlatformConfig, 'provider' | 'kubernetes'> {
  const provider = env.SPINDLE_PROVIDER || 'local';
  if (provider === 'local') return { provider };
  if (provider !== 'kubernetes') throw new Error(`SPINDLE_PROVIDER must be local or kubernetes, got "${provider.slice(0, 64)}"`);
  if (!env.SPINDLE_RUNTIME_IMAGE) throw new Error('SPINDLE_RUNTIME_IMAGE must name the function runtime image (infra/runtime.Dockerfile) when SPINDLE_PROVIDER=kubernetes');
  return {
    provider,
    kubernetes: {
      namespace: env.SPINDLE_K8S_NAMESPACE || 'spindle-fn',
      runtimeImage: env.SPINDLE_RUNTIME_IMAGE,
      objectStoreSecret: env.SPINDLE_K8S_OBJECT_STORE_SECRET || 'spindle-object-store',
      gatewayUrl: env.SPINDLE_K8S_GATEWAY_URL || 'http://gateway.spindle.svc:8080',
    },
  };
}

/** PROMETHEUS_URL, checked at start: an http(s) URL. */
function prometheusUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`PROMETHEUS_URL must be an http:// or https:// URL, got "${value.slice(0, 100)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`PROMETHEUS_URL must be an http:// or https:// URL, got "${value.slice(0, 100)}"`);
  return value;
}

/** Credentials that may also come from a file named by `<NAME>_FILE` (Docker and Kubernetes secrets). */
const FILE_VARIABLES = ['DATABASE_URL', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'SPINDLE_ADMIN_PASSWORD', 'SPINDLE_SECRET_KEY', 'SPINDLE_ARTIFACTS_TOKEN'] as const;

/** `env` with each FILE_VARIABLES entry read from its `_FILE` when only that is set (one trailing newline dropped). */
function withFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of FILE_VARIABLES) {
    const file = env[`${name}_FILE`];
    if (!file || env[name]) continue;
    try {
      out[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new Error(`${name}_FILE names ${file}, which cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return out;
}

/** Reads PORT, HOST, SPINDLE_DATA_DIR, SPINDLE_PROVIDER (and SPINDLE_K8S_*), DATABASE_URL, S3_*, REDIS_URL, NATS_URL, SPINDLE_ADMIN_PASSWORD, SPINDLE_SECRET_KEY (each credential also as `<NAME>_FILE`), the limits and the autoscaler's settings. */
export function configFromEnv(raw: NodeJS.ProcessEnv = process.env): PlatformConfig {
  const env = withFiles(raw);
  const s3Endpoint = env.S3_ENDPOINT;
  return {
    host: env.HOST ?? '127.0.0.1',
    port: num(env.PORT, 8080, 'PORT'),
    dataDir: resolve(env.SPINDLE_DATA_DIR ?? '.spindle'),
    databaseUrl: env.DATABASE_URL || undefined,
    databaseSchema: env.DATABASE_SCHEMA || undefined,
    s3: s3Endpoint
      ? {
          endpoint: s3Endpoint,
          accessKey: env.S3_ACCESS_KEY ?? env.MINIO_ROOT_USER ?? '',
          secretKey: env.S3_SECRET_KEY ?? env.MINIO_ROOT_PASSWORD ?? '',
          bucket: env.S3_BUCKET ?? 'spindle',
          region: env.S3_REGION,
        }
      : undefined,
    adminPassword: env.SPINDLE_ADMIN_PASSWORD || undefined,
    secretKey: env.SPINDLE_SECRET_KEY || undefined,
    maxBodyBytes: num(env.SPINDLE_MAX_BODY_BYTES, 32 * 1024 * 1024, 'SPINDLE_MAX_BODY_BYTES'),
    maxBundleBytes: num(env.SPINDLE_MAX_BUNDLE_BYTES, 256 * 1024 * 1024, 'SPINDLE_MAX_BUNDLE_BYTES'),
    maxArtifactBytes: num(env.SPINDLE_MAX_ARTIFACT_BYTES, 50 * 1024 * 1024, 'SPINDLE_MAX_ARTIFACT_BYTES'),
    readyWaitMs: num(env.SPINDLE_READY_WAIT_MS, 10_000, 'SPINDLE_READY_WAIT_MS'),
    defaultTimeoutMs: num(env.SPINDLE_DEFAULT_TIMEOUT_MS, 60_000, 'SPINDLE_DEFAULT_TIMEOUT_MS'),
    drainMs: num(env.SPINDLE_DRAIN_MS, 30_000, 'SPINDLE_DRAIN_MS'),
    startTimeoutMs: num(env.SPINDLE_START_TIMEOUT_MS, 30_000, 'SPINDLE_START_TIMEOUT_MS'),
    autoscale: !/^(0|false|no|off)$/i.test(env.SPINDLE_AUTOSCALE ?? ''),
    autoscaleIntervalMs: Math.max(100, num(env.SPINDLE_AUTOSCALE_INTERVAL_MS, 1000, 'SPINDLE_AUTOSCALE_INTERVAL_MS')),
    scaleDownWindowMs: num(env.SPINDLE_SCALE_DOWN_WINDOW_MS, 30_000, 'SPINDLE_SCALE_DOWN_WINDOW_MS'),
    logLevel: env.LOG_LEVEL ?? 'info',
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    redisPrefix: env.SPINDLE_REDIS_PREFIX || 'spindle',
    gpuStreamCap: num(env.SPINDLE_GPU_STREAM_CAP, 10_000, 'SPINDLE_GPU_STREAM_CAP'),
    ...providerFromEnv(env),
    artifactsToken: env.SPINDLE_ARTIFACTS_TOKEN || undefined,
    natsUrl: env.NATS_URL || 'nats://127.0.0.1:4222',
    natsPrefix: env.SPINDLE_NATS_PREFIX || 'spindle',
    asyncWorker: !/^(0|false|no|off)$/i.test(env.SPINDLE_ASYNC_WORKER ?? ''),
    asyncMaxInflight: Math.max(1, num(env.SPINDLE_ASYNC_MAX_INFLIGHT, 16, 'SPINDLE_ASYNC_MAX_INFLIGHT')),
    asyncAckWaitMs: Math.max(1000, num(env.SPINDLE_ASYNC_ACK_WAIT_MS, 30_000, 'SPINDLE_ASYNC_ACK_WAIT_MS')),
    asyncResultTtlMs: Math.max(1000, num(env.SPINDLE_ASYNC_RESULT_TTL_MS, 3_600_000, 'SPINDLE_ASYNC_RESULT_TTL_MS')),
    asyncDeadLetterTtlMs: Math.max(1000, num(env.SPINDLE_ASYNC_DEAD_LETTER_TTL_MS, 7 * 24 * 3_600_000, 'SPINDLE_ASYNC_DEAD_LETTER_TTL_MS')),
    webDir: env.SPINDLE_WEB_DIR ? resolve(env.SPINDLE_WEB_DIR) : undefined,
    prometheusUrl: env.PROMETHEUS_URL ? prometheusUrl(env.PROMETHEUS_URL) : undefined,
    trustProxy: trustProxyOf(env.SPINDLE_TRUST_PROXY),
    publicUrl: env.SPINDLE_PUBLIC_URL ? publicUrl(env.SPINDLE_PUBLIC_URL) : undefined,
  };
}
