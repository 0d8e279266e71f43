/**
 * The gateway as a process of its own (infra/gateway.Dockerfile, Kubernetes): configuration from the environment
 * only (configFromEnv), logs as JSON on stdout, SIGTERM drains and stops. Redis, NATS, Postgres and the object
 * store are services it is pointed at; the GPU runner runs in its own container.
 */
import { pino } from 'pino';
import { configFromEnv } from './config.ts';
import { createPlatform } from './main.ts';

const config = configFromEnv(process.env);
const logger = pino({ level: config.logLevel });
const platform = await createPlatform(config, logger);
let stopping = false;
const stop = (signal: string) => {
  if (stopping) process.exit(1);
  stopping = true;
  logger.info({ signal }, 'stopping');
  platform.close().then(
    () => process.exit(0),
    (err) => {
      logger.error({ err }, 'stop failed');
      process.exit(1);
    },
  );
};
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
logger.info({ url: await platform.listen(), provider: config.provider }, 'gateway listening');
