/** The runner's configuration, read from the environment in one place. */
import { availableParallelism } from 'node:os';
import type { EpRequest } from './ep.ts';
import { RunnerConfigError } from './errors.ts';

/** Everything the runner process can be told. */
export interface RunnerConfig {
  redisUrl: string;
  redisPrefix: string;
  ep: EpRequest;
  workers: number;
  threads: number;
  budgetBytes: number;
  claimIdleMs: number;
  maxDeliveries: number;
  prefetch: number;
  heartbeatMs: number;
  metricsPort: number;
  /** Address the metrics server binds: loopback unless a scraper in another container must reach it. */
  metricsHost: string;
  logLevel: string;
  /**
   * Sessions unused this long are released (0: never). A released model is loaded again by its next call. On the
   * CPU a session holds its largest run's activations for good (ISNet: ~850 MB), so a small box may trade that
   * memory for a slower first call after a quiet spell.
   */
  idleReleaseMs: number;
}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new RunnerConfigError(`${name} must be a non-negative number, got "${raw}"`);
  return n;
}

/** Reads REDIS_URL, SPINDLE_REDIS_PREFIX, SPINDLE_GPU_* and LOG_LEVEL. */
export function runnerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RunnerConfig {
  const ep = (env.SPINDLE_GPU_EP || 'auto') as EpRequest;
  if (!['auto', 'cuda', 'cpu'].includes(ep)) throw new RunnerConfigError(`SPINDLE_GPU_EP must be auto, cuda or cpu, got "${ep}"`);
  return {
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    redisPrefix: env.SPINDLE_REDIS_PREFIX || 'spindle',
    ep,
    workers: Math.max(1, num(env, 'SPINDLE_GPU_WORKERS', 1)),
    threads: num(env, 'SPINDLE_GPU_THREADS', availableParallelism()),
    budgetBytes: num(env, 'SPINDLE_GPU_MODEL_BUDGET_MB', 4096) * 1024 * 1024,
    claimIdleMs: num(env, 'SPINDLE_GPU_CLAIM_IDLE_MS', 5000),
    maxDeliveries: Math.max(1, num(env, 'SPINDLE_GPU_MAX_DELIVERIES', 3)),
    prefetch: Math.max(1, num(env, 'SPINDLE_GPU_PREFETCH', 512)),
    heartbeatMs: Math.max(50, num(env, 'SPINDLE_GPU_HEARTBEAT_MS', 1000)),
    metricsPort: num(env, 'SPINDLE_GPU_METRICS_PORT', 9465),
    metricsHost: env.SPINDLE_GPU_METRICS_HOST || '127.0.0.1',
    logLevel: env.LOG_LEVEL ?? 'info',
    idleReleaseMs: num(env, 'SPINDLE_GPU_IDLE_RELEASE_S', 0) * 1000,
  };
}
