/** `spindle queue-worker`: an async queue worker on its own, calling functions through the gateway; run more to scale. */
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { eprintln, println, type CliIo } from '../io.ts';
import { CommandContext, withCommon } from './context.ts';

interface Flags {
  gateway?: string;
  yaml: string;
  nats?: string;
  prefix?: string;
  metricsPort?: string;
}

/** Adds `spindle queue-worker` to the program. */
export function register(program: Command, io: CliIo): void {
  withCommon(program.command('queue-worker'))
    .description('run an async queue worker (NATS JetStream) that invokes functions through the gateway; Ctrl-C lets running calls finish')
    .option('--nats <url>', 'NATS with JetStream (default: $NATS_URL, then nats://127.0.0.1:4222)')
    .option('--prefix <prefix>', "the platform's NATS prefix (default: $SPINDLE_NATS_PREFIX, then spindle)")
    .option('--metrics-port <port>', 'serve Prometheus metrics at http://127.0.0.1:PORT/metrics')
    .action(async (flags: Flags) => {
      const ctx = new CommandContext(io, flags);
      const gatewayUrl = await ctx.gateway();
      const metricsPort = flags.metricsPort === undefined ? undefined : Number(flags.metricsPort);
      if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort < 65536)) {
        throw new UsageError(`--metrics-port expects a port number, got ${JSON.stringify(flags.metricsPort)}`);
      }
      // Loaded on demand: only this command needs the gateway package (NATS, object store).
      const { configFromEnv, runQueueWorker } = await import('@spindle/gateway');
      const { pino } = await import('pino');
      const base = configFromEnv(io.env as NodeJS.ProcessEnv);
      const config = { ...base, dataDir: ctx.dataDir, natsUrl: flags.nats ?? base.natsUrl, natsPrefix: flags.prefix ?? base.natsPrefix };
      // Structured logs to stderr; stdout carries the one line that says the worker is up.
      const logger = pino({ level: config.logLevel }, pino.destination(2));
      const worker = await runQueueWorker({ config, gatewayUrl, logger, metricsPort });
      const stopped = new Promise<void>((resolve) => io.onInterrupt(resolve));
      println(io, `queue worker ready: gateway ${gatewayUrl}, NATS ${config.natsUrl}, prefix ${config.natsPrefix}${worker.metricsUrl ? `, metrics ${worker.metricsUrl}` : ''}`);
      await stopped;
      eprintln(io, 'stopping the queue worker: running calls finish first...');
      await worker.close();
    });
}
