/**
 * The wiring point of a standalone queue worker process (`spindle queue-worker`): NATS, the object store
 * (for bodies too large for a message), and the gateway's `/function/<name>` as the way to call functions.
 * Scale it by running more; JetStream shares each function's calls among all of them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { PlatformConfig } from '../config.ts';
import { GatewayMetrics } from '../metrics.ts';
import { NatsLink } from '../nats.ts';
import { FolderBlobStore, S3BlobStore, s3ClientFromUrl, type BlobStore } from '../store/index.ts';
import { HttpAsyncInvoker } from './invokers.ts';
import { createAsyncService, type AsyncService } from './service.ts';

/** How to run a standalone worker. */
export interface StandaloneWorkerOptions {
  config: PlatformConfig;
  /** The gateway whose `/function/<name>` the worker calls. */
  gatewayUrl: string;
  logger?: Logger;
  /** Serve Prometheus metrics on this port (0: any free port); none when unset. */
  metricsPort?: number;
}

/** A running standalone worker. */
export interface StandaloneWorker {
  service: AsyncService;
  /** `http://host:port/metrics` when metrics are served. */
  metricsUrl?: string;
  /** Lets running calls finish (up to the drain time), then closes NATS and the object store. Idempotent. */
  close(): Promise<void>;
}

/** Starts a queue worker that calls functions through `gatewayUrl`; it waits for NATS by itself. */
export async function runQueueWorker(opts: StandaloneWorkerOptions): Promise<StandaloneWorker> {
  const { config } = opts;
  const logger = opts.logger ?? pino({ level: config.logLevel });
  const blobs: BlobStore = config.s3
    ? new S3BlobStore({ client: s3ClientFromUrl(config.s3.endpoint, config.s3.accessKey, config.s3.secretKey, config.s3.region), bucket: config.s3.bucket })
    : new FolderBlobStore(join(config.dataDir, 'objects'));
  await blobs.ready();
  const nats = new NatsLink(config.natsUrl, logger);
  await nats.ready();
  const invoker = new HttpAsyncInvoker(opts.gatewayUrl);
  const metrics = new GatewayMetrics(() => []);
  const service = createAsyncService({ nats, blobs, invoker, metrics, logger, settings: { ...config, asyncWorker: true }, drainMs: config.drainMs });
  metrics.asyncDepth = () => service.depth();
  service.start();

  let server: Server | undefined;
  let metricsUrl: string | undefined;
  if (opts.metricsPort !== undefined) {
    server = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve) => server!.listen(opts.metricsPort, config.host, resolve));
    metricsUrl = `http://${config.host}:${(server.address() as AddressInfo).port}/metrics`;
  }
  logger.info({ gateway: opts.gatewayUrl, nats: config.natsUrl, prefix: config.natsPrefix }, 'queue worker started');

  let closing: Promise<void> | null = null;
  return {
    service,
    metricsUrl,
    close() {
      closing ??= (async () => {
        await service.close();
        await invoker.close();
        await nats.close();
        await blobs.close();
        if (server) await new Promise((r) => server!.close(r));
      })();
      return closing;
    },
  };
}
