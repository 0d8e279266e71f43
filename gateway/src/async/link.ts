/**
 * The async queue's view of NATS: for the live connection, a JetStream client and manager with the three
 * streams ensured (once per connection) and the per-function consumers created on demand.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { SpindleError, UnavailableError } from '../errors.ts';
import type { NatsLink } from '../nats.ts';
import type { AsyncNames } from './names.ts';

/** What one connection gives the queue. */
export interface AsyncContext {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** The server's largest message; bodies past `spillAbove` go to the blob store. */
  maxPayload: number;
  /** Envelopes larger than this are not put on a stream. */
  spillAbove: number;
}

export interface AsyncLinkOptions {
  nats: NatsLink;
  names: AsyncNames;
  /** How long a call's status and result are kept after their last change. */
  resultTtlMs: number;
  /** How long a dead letter is kept if nobody redrives it. */
  deadLetterTtlMs: number;
  /** Consumer ack wait: a worker that stops heartbeating loses its calls to another after this. */
  ackWaitMs: number;
}

// Room for NATS headers (Nats-Msg-Id, expectations) and the JSON metadata beside a body.
const HEADROOM = 64 * 1024;

/** Turns a NATS failure into the 503 that names NATS; API errors and our own pass through. */
export function natsError(err: unknown, url: string): unknown {
  if (err instanceof SpindleError || err instanceof JetStreamApiError) return err;
  return new UnavailableError(`async invocations need NATS JetStream at ${url}, which did not answer: ${(err as Error).message}`, 5);
}

/** True for the "wrong last sequence" answer of a compare-and-set publish. */
export function isConflict(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

async function ensureStream(jsm: JetStreamManager, cfg: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    const info = await jsm.streams.info(cfg.name);
    const c = info.config;
    if (c.max_age !== cfg.max_age || c.max_msg_size !== cfg.max_msg_size || (cfg.subjects ?? []).some((s) => !c.subjects?.includes(s))) {
      await jsm.streams.update(cfg.name, { ...c, max_age: cfg.max_age, max_msg_size: cfg.max_msg_size, subjects: cfg.subjects });
    }
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.StreamNotFound) throw err;
    await jsm.streams.add(cfg);
  }
}

/** Shared by the producer side (routes) and the queue worker; one per process and NATS prefix. */
export class AsyncLink {
  #ctx: { nc: NatsConnection; promise: Promise<AsyncContext> } | null = null;
  /** Consumers known to exist with their max_ack_pending, for the current connection. */
  #consumers = new Map<string, number>();

  constructor(readonly opts: AsyncLinkOptions) {}

  get names(): AsyncNames {
    return this.opts.names;
  }

  /** The context for the live connection, or a 503 naming NATS. */
  async get(): Promise<AsyncContext> {
    const nc = this.opts.nats.require('async invocations');
    if (this.#ctx?.nc !== nc) {
      const promise = this.#build(nc);
      this.#ctx = { nc, promise };
      this.#consumers.clear();
      promise.catch(() => {
        if (this.#ctx?.promise === promise) this.#ctx = null;
      });
    }
    try {
      return await this.#ctx.promise;
    } catch (err) {
      throw natsError(err, this.opts.nats.url);
    }
  }

  /** Creates `fn`'s durable consumer, or updates its max_ack_pending (the function's max_inflight). */
  async ensureConsumer(ctx: AsyncContext, fn: string, maxInflight: number): Promise<void> {
    if (this.#consumers.get(fn) === maxInflight) return;
    const { names, ackWaitMs } = this.opts;
    const durable = names.consumer(fn);
    try {
      const info = await ctx.jsm.consumers.info(names.work, durable);
      if (info.config.max_ack_pending !== maxInflight || info.config.ack_wait !== nanos(ackWaitMs)) {
        await ctx.jsm.consumers.update(names.work, durable, { max_ack_pending: maxInflight, ack_wait: nanos(ackWaitMs) });
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.ConsumerNotFound) throw err;
      await ctx.jsm.consumers.add(names.work, {
        durable_name: durable,
        filter_subject: names.workSubject(fn),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(ackWaitMs),
        // The worker counts attempts itself (per-function annotations) and dead-letters the last failure.
        max_deliver: -1,
        max_ack_pending: maxInflight,
      });
    }
    this.#consumers.set(fn, maxInflight);
  }

  async #build(nc: NatsConnection): Promise<AsyncContext> {
    const { names, resultTtlMs, deadLetterTtlMs, ackWaitMs } = this.opts;
    const jsm = await jetstreamManager(nc);
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    const common = { storage: StorageType.File, max_msg_size: maxPayload, num_replicas: 1 };
    await ensureStream(jsm, { name: names.work, subjects: [names.workSubject('*'), names.gcSubject], retention: RetentionPolicy.Workqueue, max_age: 0, ...common });
    await ensureStream(jsm, { name: names.status, subjects: [names.statusSubject('*')], retention: RetentionPolicy.Limits, max_msgs_per_subject: 1, max_age: nanos(resultTtlMs), ...common });
    await ensureStream(jsm, { name: names.dead, subjects: [names.deadSubject('*')], retention: RetentionPolicy.Limits, max_msgs_per_subject: 1, max_age: nanos(deadLetterTtlMs), ...common });
    await jsm.consumers.info(names.work, names.gcConsumer).catch(async (err: unknown) => {
      if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.ConsumerNotFound) throw err;
      await jsm.consumers.add(names.work, { durable_name: names.gcConsumer, filter_subject: names.gcSubject, ack_policy: AckPolicy.Explicit, ack_wait: nanos(ackWaitMs), max_deliver: -1, max_ack_pending: -1 });
    });
    return { nc, js: jetstream(nc), jsm, maxPayload, spillAbove: Math.max(1024, maxPayload - HEADROOM) };
  }
}
