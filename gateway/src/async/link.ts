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

/** What the link needs: the NATS link, the names, and the stream and consumer settings. */
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

/** JetStream's de-duplication window of the work stream (its default, stated). */
const DUPLICATE_WINDOW_MS = 120_000;

// Room for NATS headers (Nats-Msg-Id, expectations) and the JSON metadata beside a body.
const HEADROOM = 64 * 1024;

/** Turns a NATS failure into the 503 that names NATS; API errors and our own pass through. */
export function natsError(err: unknown, url: string): unknown {
  if (err instanceof SpindleError || err instanceof JetStreamApiError) return err;
  return new UnavailableError(`async invocations need NATS JetStream at ${url}, which did not answer: ${(err as Error).message}`, 5);
}

/** True when a stream or consumer does not exist (nothing was ever queued under this prefix). */
export function isMissing(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound);
}

/** True for the "wrong last sequence" answer of a compare-and-set publish. */
export function isConflict(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

/** Creates the stream or brings its limits up to date; true when it had to be created. */
async function ensureStream(jsm: JetStreamManager, cfg: Partial<StreamConfig> & { name: string }): Promise<boolean> {
  try {
    const info = await jsm.streams.info(cfg.name);
    const c = info.config;
    if (c.max_age !== cfg.max_age || c.max_msg_size !== cfg.max_msg_size || (cfg.subjects ?? []).some((s) => !c.subjects?.includes(s))) {
      await jsm.streams.update(cfg.name, { ...c, max_age: cfg.max_age, max_msg_size: cfg.max_msg_size, subjects: cfg.subjects });
    }
    return false;
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.StreamNotFound) throw err;
    await jsm.streams.add(cfg);
    return true;
  }
}

/**
 * Shared by the producer side (routes) and the queue worker; one per process and NATS prefix. Streams are
 * created by the first write (an enqueue), never by a worker or a read, so a gateway that makes no async
 * call leaves nothing behind in NATS.
 */
export class AsyncLink {
  #ctx: { nc: NatsConnection; promise: Promise<AsyncContext> } | null = null;
  /** Consumers known to exist with their max_ack_pending, for the current connection. */
  #consumers = new Map<string, number>();
  /** The streams' check for the current context; dropped on a reconnection (NATS may be back without them). */
  #ensured: Promise<boolean> | null = null;

  constructor(readonly opts: AsyncLinkOptions) {
    opts.nats.on('reconnect', () => {
      this.#ensured = null;
      this.#consumers.clear();
    });
  }

  get names(): AsyncNames {
    return this.opts.names;
  }

  /**
   * The context for the live connection, or a 503 naming NATS. With `create` (writes) the streams are made
   * to exist first; readers pass false and get StreamNotFound (see `isMissing`) when nothing was queued yet.
   */
  async get(create = true): Promise<AsyncContext> {
    const nc = this.opts.nats.require('async invocations');
    if (this.#ctx?.nc !== nc) {
      const promise = this.#build(nc);
      this.#ctx = { nc, promise };
      this.#ensured = null;
      this.#consumers.clear();
      promise.catch(() => {
        if (this.#ctx?.promise === promise) this.#ctx = null;
      });
    }
    try {
      const entry = this.#ctx;
      const ctx = await entry.promise;
      if (!create) return ctx;
      if (!this.#ensured) {
        const ensured = this.#ensure(ctx.jsm, ctx.maxPayload).then((created) => {
          // The work stream is new (first use, or NATS came back without its state): any consume loop is on a
          // consumer that no longer exists, so a new context tells the worker to start its loops over.
          if (created && this.#ctx === entry) this.#ctx = { nc, promise: Promise.resolve({ ...ctx }) };
          return created;
        });
        this.#ensured = ensured;
        ensured.catch(() => {
          if (this.#ensured === ensured) this.#ensured = null;
        });
      }
      await this.#ensured;
      return await this.#ctx!.promise;
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
    const jsm = await jetstreamManager(nc);
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    return { nc, js: jetstream(nc), jsm, maxPayload, spillAbove: Math.max(1024, maxPayload - HEADROOM) };
  }

  /** Creates (or brings up to date) the three streams and the GC consumer; true when the work stream was created. */
  async #ensure(jsm: JetStreamManager, maxPayload: number): Promise<boolean> {
    const { names, resultTtlMs, deadLetterTtlMs, ackWaitMs } = this.opts;
    const common = { storage: StorageType.File, max_msg_size: maxPayload, num_replicas: 1 };
    const created = await ensureStream(jsm, {
      name: names.work,
      subjects: [names.workSubject('*'), names.gcSubject],
      retention: RetentionPolicy.Workqueue,
      max_age: 0,
      // A work message carries Nats-Msg-Id = its call id: JetStream drops a second copy published within this
      // window (a publish retried after a lost ack). Repeated requests are caught before, by the status.
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      ...common,
    });
    await ensureStream(jsm, { name: names.status, subjects: [names.statusSubject('*'), names.keySubject('*')], retention: RetentionPolicy.Limits, max_msgs_per_subject: 1, max_age: nanos(resultTtlMs), ...common });
    await ensureStream(jsm, { name: names.dead, subjects: [names.deadSubject('*')], retention: RetentionPolicy.Limits, max_msgs_per_subject: 1, max_age: nanos(deadLetterTtlMs), ...common });
    await jsm.consumers.info(names.work, names.gcConsumer).catch(async (err: unknown) => {
      if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.ConsumerNotFound) throw err;
      await jsm.consumers.add(names.work, { durable_name: names.gcConsumer, filter_subject: names.gcSubject, ack_policy: AckPolicy.Explicit, ack_wait: nanos(ackWaitMs), max_deliver: -1, max_ack_pending: -1 });
    });
    return created;
  }
}
