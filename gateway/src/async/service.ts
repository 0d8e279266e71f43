/** Builds the async side of a process from its clients: the queue (producer, status API) and, unless disabled, a queue worker. */
import type { Logger } from 'pino';
import type { NatsLink } from '../nats.ts';
import type { BlobStore } from '../store/index.ts';
import { Bodies } from './bodies.ts';
import { CallList } from './calls.ts';
import type { CallbackOptions } from './callback.ts';
import { DeadLetters } from './dead-letters.ts';
import { IdempotencyKeys } from './keys.ts';
import { AsyncLink } from './link.ts';
import { asyncNames } from './names.ts';
import { AsyncQueue } from './queue.ts';
import { StatusStore } from './status.ts';
import type { AsyncInvoker, AsyncMetrics } from './types.ts';
import { QueueWorker } from './worker.ts';
import type { PlatformConfig } from '../config.ts';

/** The async settings of PlatformConfig. */
export type AsyncSettings = Pick<PlatformConfig, 'natsPrefix' | 'asyncWorker' | 'asyncMaxInflight' | 'asyncAckWaitMs' | 'asyncResultTtlMs' | 'asyncDeadLetterTtlMs'>;

/** The clients and settings the async side is built from. */
export interface AsyncServiceDeps {
  nats: NatsLink;
  blobs: BlobStore;
  invoker: AsyncInvoker;
  metrics: AsyncMetrics;
  logger: Logger;
  settings: AsyncSettings;
  /** How long close() lets running calls finish. */
  drainMs: number;
  discoverMs?: number;
  callback?: CallbackOptions;
}

/** The queue, the worker (null when `asyncWorker` is off) and their lifecycle. */
export interface AsyncService {
  queue: AsyncQueue;
  /** Recent calls, newest first (`GET /system/async/calls`). */
  calls: CallList;
  worker: QueueWorker | null;
  /** Default max_inflight of functions without the annotation. */
  defaultMaxInflight: number;
  /** Calls queued or running per function (for spindle_async_queue_depth); empty while NATS is down. */
  depth(): Promise<Array<{ name: string; depth: number }>>;
  /** Starts the worker. */
  start(): void;
  /** Stops the worker (running calls drain first); NATS itself is closed by its owner. Idempotent. */
  close(): Promise<void>;
}

/** Wires link, stores, queue and worker for one NATS prefix. */
export function createAsyncService(deps: AsyncServiceDeps): AsyncService {
  const { settings } = deps;
  const link = new AsyncLink({ nats: deps.nats, names: asyncNames(settings.natsPrefix), resultTtlMs: settings.asyncResultTtlMs, deadLetterTtlMs: settings.asyncDeadLetterTtlMs, ackWaitMs: settings.asyncAckWaitMs });
  const bodies = new Bodies(link, deps.blobs);
  const status = new StatusStore(link, bodies);
  const dead = new DeadLetters(link, bodies);
  const worker = settings.asyncWorker
    ? new QueueWorker({ link, status, dead, bodies, invoker: deps.invoker, metrics: deps.metrics, logger: deps.logger, nats: deps.nats, drainMs: deps.drainMs, discoverMs: deps.discoverMs, callback: deps.callback })
    : null;
  const queue = new AsyncQueue({ link, status, dead, bodies, keys: new IdempotencyKeys(link), onEnqueued: worker ? (fn) => worker.watch(fn) : undefined });
  let closed: Promise<void> | null = null;
  return {
    queue,
    calls: new CallList(link),
    worker,
    defaultMaxInflight: settings.asyncMaxInflight,
    async depth() {
      if (!deps.nats.current()) return [];
      try {
        const ctx = await link.get(false);
        const out: Array<{ name: string; depth: number }> = [];
        for await (const c of await ctx.jsm.consumers.list(link.names.work)) {
          const fn = link.names.functionOf(c.name);
          if (fn) out.push({ name: fn, depth: c.num_pending + c.num_ack_pending });
        }
        return out;
      } catch {
        return [];
      }
    },
    start() {
      worker?.start();
    },
    close() {
      closed ??= worker ? worker.close() : Promise.resolve();
      return closed;
    },
  };
}
