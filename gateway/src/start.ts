/** `npm start`: the whole platform on one machine, logs to a file, Ctrl-C stops everything. */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pino } from 'pino';
import { configFromEnv, type PlatformConfig } from './config.ts';
import { makeDataDirPrivate, PRIVATE_DIR, PRIVATE_FILE, restrictUmask } from './data-dir.ts';
import { createPlatform, type Platform } from './main.ts';
import { startRunnerProcess } from './gpu/local.ts';
import { ensureService, natsService, redisService } from './services.ts';

export interface StartOptions {
  /** Overrides on top of the environment's configuration. */
  config?: Partial<PlatformConfig>;
  /** The GPU runner built into JavaScript (its `main.mjs`); without it the runner runs from TypeScript through tsx. */
  runnerMain?: string;
}

export interface StartedPlatform {
  platform: Platform;
  url: string;
  logFile: string;
}

/**
 * Starts the gateway with every stored function. Info logs go to `<data dir>/logs/gateway.log`
 * (structured, pino); warnings and errors also reach stderr. SIGINT/SIGTERM stop every replica.
 */
export async function startPlatform(options: StartOptions = {}): Promise<StartedPlatform> {
  const config = { ...configFromEnv(), ...options.config };
  // Owner-only from the first file on (the local Redis and NATS and the runner inherit the umask); a data
  // dir an older version left open is tightened once there is a log to say so in.
  restrictUmask();
  await mkdir(join(config.dataDir, 'logs'), { recursive: true, mode: PRIVATE_DIR });
  const logFile = join(config.dataDir, 'logs', 'gateway.log');
  const logger = pino(
    { level: config.logLevel },
    pino.multistream([
      { level: config.logLevel as pino.Level, stream: createWriteStream(logFile, { flags: 'a', mode: PRIVATE_FILE }) },
      { level: 'warn', stream: process.stderr },
    ]),
  );
  await makeDataDirPrivate(config.dataDir, logger);
  // Redis (GPU work) and NATS (async, run events): local servers when none answer; then the GPU runner.
  const [redis, nats] = await Promise.all([ensureService(redisService(config.redisUrl), config.dataDir, logger), ensureService(natsService(config.natsUrl), config.dataDir, logger)]);
  const runner =
    process.env.SPINDLE_GPU_RUNNER === '0'
      ? null
      : startRunnerProcess({ REDIS_URL: config.redisUrl, SPINDLE_REDIS_PREFIX: config.redisPrefix, LOG_LEVEL: config.logLevel }, join(config.dataDir, 'logs', 'gpu-runner.log'), logger, options.runnerMain);
  const children = [runner, redis, nats];
  let platform: Platform;
  try {
    platform = await createPlatform(config, logger);
  } catch (err) {
    // Nothing may outlive a failed start: the runner and any local servers go too.
    for (const c of children) c?.kill('SIGTERM');
    throw err;
  }
  // Runner lines about one function (pino JSON with a "function" field) also reach `spindle logs NAME`.
  for (const stream of [runner?.stdout, runner?.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      const m = /"function":"([a-z0-9-]{1,63})"/.exec(line);
      if (m) platform.logs.push(m[1], `gpu-runner-${runner!.pid}`, line);
    });
  }
  const close = platform.close.bind(platform);
  platform.close = async () => {
    runner?.kill('SIGTERM');
    await close();
    // A child killed by a signal has exitCode null too, and has already emitted 'exit'.
    if (runner && runner.exitCode === null && runner.signalCode === null) await new Promise((r) => runner.once('exit', r));
    redis?.kill('SIGTERM');
    nats?.kill('SIGTERM');
  };
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write('forcing exit\n');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    process.stderr.write('\nstopping Spindle...\n');
    platform.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  let url: string;
  try {
    url = await platform.listen();
  } catch (err) {
    await platform.close().catch(() => {});
    throw err;
  }
  return { platform, url, logFile };
}
