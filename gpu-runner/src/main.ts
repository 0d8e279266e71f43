/**
 * The GPU runner process (the one wiring point): `node --import tsx gpu-runner/src/main.ts` from source, or
 * the `main.mjs` that `spindle start` builds from it (build.ts) on plain node.
 * Prints one line `gpu-runner ready ep=... metrics=...` on stdout once it serves jobs.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { RetryPacer } from '@spindle/runtime';
import { runnerConfigFromEnv } from './config.ts';
import { chooseEp } from './ep.ts';
import { RunnerMetrics } from './metrics.ts';
import { Runner } from './runner.ts';

const config = runnerConfigFromEnv();
const logger = pino({ level: config.logLevel, base: { svc: 'gpu-runner' } }, pino.destination(2));

// Signal and disconnect handlers come first: the runner may wait a long time for Redis in ready(),
// and must still stop on Ctrl-C or when the gateway that started it goes away.
let runner: Runner | undefined;
let metrics: RunnerMetrics | undefined;
const clients: Redis[] = [];
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) process.exit(1);
  stopping = true;
  logger.info({ signal }, 'stopping');
  await runner?.close().catch(() => {});
  await metrics?.close();
  for (const c of clients) c.disconnect();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
// Started by the gateway: when it goes, so do we (the IPC channel closes).
if (process.send) process.on('disconnect', () => void stop('disconnect'));

const ep = await chooseEp(config.ep);
logger.info({ ep: ep.ep, device: ep.device, reason: ep.reason }, 'execution provider chosen');
if (config.ep === 'cuda' && ep.ep === 'cpu') logger.warn({ reason: ep.reason }, 'CUDA was asked for but is not usable; running on CPU');

const opts = { maxRetriesPerRequest: null, lazyConnect: false } as const;
const redis = new Redis(config.redisUrl, opts);
const reader = new Redis(config.redisUrl, opts);
const sub = new Redis(config.redisUrl, opts);
clients.push(redis, sub);
// ioredis reports every failed reconnect; while Redis is away that is a line a second per client, forever.
const redisErrors = new RetryPacer();
for (const c of [redis, reader, sub]) {
  c.on('error', (err) => {
    const { log, failures, failingMs } = redisErrors.failed();
    if (log) logger.warn({ err: err.message, url: config.redisUrl, failures, failingMs }, 'redis error; reconnecting');
  });
  c.on('ready', () => {
    const failures = redisErrors.ok();
    if (failures) logger.info({ url: config.redisUrl, failures }, 'redis reachable again');
  });
}

metrics = new RunnerMetrics();
runner = new Runner(redis, reader, sub, { ...config, ep, prefix: config.redisPrefix }, metrics, logger);
await runner.ready();
metrics.executionProvider(ep.ep, ep.device);
const metricsPort = await metrics.listen(config.metricsPort, config.metricsHost).catch(async () => metrics.listen(0, config.metricsHost));
process.stdout.write(`gpu-runner ready ep=${ep.ep} device="${ep.device}" consumer=${runner.consumer} metrics=http://127.0.0.1:${metricsPort}/metrics\n`);

