/**
 * The queue worker: one consume loop per function consumer (plus the blob GC consumer), found by listing
 * the work stream's consumers on every NATS connect, every few seconds, and at once when this process
 * queued a call for a function it does not consume yet. JetStream's max_ack_pending on each consumer is
 * the function's max_inflight across every worker; a worker runs whatever it is given.
 */
import type { ConsumerInfo, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { NatsLink } from '../nats.ts';
import { isMissing, type AsyncContext } from './link.ts';
import { processCall, type ProcessDeps } from './process.ts';

/** A worker's dependencies: those of processing a call, plus NATS and timings. */
export interface QueueWorkerDeps extends ProcessDeps {
  nats: NatsLink;
  logger: Logger;
  /** How often consumers are listed to find new functions (default 2 s). */
  discoverMs?: number;
  /** How long `close()` lets running calls finish before handing them back (default 10 s). */
  drainMs?: number;
}

interface Loop {
  ctx: AsyncContext;
  messages: ConsumerMessages;
  done: Promise<void>;
}

// Messages a consume loop asks for at a time; what bounds calls running is each consumer's max_ack_pending.
const MAX_BATCH = 256;

/** Consumes every function's calls (and the blob GC) from the work stream; see the file comment. */
export class QueueWorker {
  #loops = new Map<string, Loop>();
  #running = new Set<Promise<void>>();
  #abort = new AbortController();
  #timer: NodeJS.Timeout | null = null;
  #refreshing: Promise<void> | null = null;
  #again = false;
  #closing: Promise<void> | null = null;
  readonly #onConnect = () => void this.refresh();

  constructor(private readonly deps: QueueWorkerDeps) {}

  /**
   * Starts consuming now if NATS is up, and looks again on every connection and reconnection. Across a
   * reconnection nats.js's consume() re-issues its pulls by itself; only when NATS came back without its
   * streams (new context from the link) are the loops started over.
   */
  start(): void {
    this.deps.nats.on('connect', this.#onConnect);
    this.deps.nats.on('reconnect', this.#onConnect);
    this.#timer = setInterval(() => void this.refresh(), this.deps.discoverMs ?? 2000);
    this.#timer.unref();
    void this.refresh();
  }

  /** Consumes `fn`'s calls if this worker does not yet (the in-process producer calls it after each enqueue). */
  watch(fn: string): void {
    if (!this.#loops.has(this.deps.link.names.consumer(fn))) void this.refresh();
  }

  /** Lists the work stream's consumers and starts a loop for each one without. Never throws. */
  refresh(): Promise<void> {
    if (this.#closing) return Promise.resolve();
    if (this.#refreshing) {
      this.#again = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#again = false;
        await this.#discover().catch((err) => this.deps.logger.debug({ err }, 'async consumer discovery failed; retrying'));
      } while (this.#again && !this.#closing);
    })().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async #discover(): Promise<void> {
    if (!this.deps.nats.current()) return;
    const ctx = await this.deps.link.get(false);
    const { names } = this.deps.link;
    const infos: ConsumerInfo[] = [];
    try {
      for await (const info of await ctx.jsm.consumers.list(names.work)) infos.push(info);
    } catch (err) {
      // Nothing queued under this prefix yet: no stream, nothing to consume (the first enqueue creates it).
      if (isMissing(err)) return;
      throw err;
    }
    for (const info of infos) {
      const name = info.name;
      if (this.#closing) return;
      if (name !== names.gcConsumer && !names.functionOf(name)) continue;
      const loop = this.#loops.get(name);
      if (loop && loop.ctx === ctx) continue;
      if (loop) await this.#stop(name, loop);
      await this.#startLoop(ctx, name, info.config.max_ack_pending ?? 1);
    }
  }

  async #startLoop(ctx: AsyncContext, name: string, maxAckPending: number): Promise<void> {
    const consumer = await ctx.js.consumers.get(this.deps.link.names.work, name);
    const messages = await consumer.consume({ max_messages: Math.min(MAX_BATCH, maxAckPending > 0 ? maxAckPending : MAX_BATCH) });
    const gc = name === this.deps.link.names.gcConsumer;
    const done = (async () => {
      for await (const m of messages) {
        // Pulled before close() stopped the loop: hand it straight back to another worker.
        if (this.#closing) m.nak();
        else this.#dispatch(ctx, m, gc);
      }
    })()
      .catch((err) => this.deps.logger.warn({ err, consumer: name }, 'async consume loop ended; it restarts on the next discovery'))
      .finally(() => {
        if (this.#loops.get(name)?.messages === messages) this.#loops.delete(name);
      });
    this.#loops.set(name, { ctx, messages, done });
    this.deps.logger.debug({ consumer: name }, 'consuming async calls');
  }

  #dispatch(ctx: AsyncContext, m: JsMsg, gc: boolean): void {
    const job = (gc ? this.deps.bodies.collect(m) : processCall(this.deps, ctx, m, this.#abort.signal)).catch((err) => {
      if (this.#abort.signal.aborted) return m.nak();
      // Most likely NATS went away mid-call: let the call come back soon rather than after the ack wait.
      this.deps.logger.warn({ err, subject: m.subject }, 'async call interrupted; it will be redelivered');
      m.nak(1000);
    });
    this.#running.add(job);
    void job.finally(() => this.#running.delete(job));
  }

  async #stop(name: string, loop: Loop): Promise<void> {
    this.#loops.delete(name);
    await loop.messages.close().catch(() => {});
    await loop.done;
  }

  /** Calls in progress in this worker. */
  get inflight(): number {
    return this.#running.size;
  }

  /** Stops pulling, lets running calls finish for up to `drainMs`, then aborts the rest (handed back to the queue). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer) clearInterval(this.#timer);
      this.deps.nats.off('connect', this.#onConnect);
      this.deps.nats.off('reconnect', this.#onConnect);
      await this.#refreshing;
      await Promise.all([...this.#loops].map(([name, loop]) => this.#stop(name, loop)));
      const drained = Promise.all([...this.#running]);
      const timer = new Promise((r) => setTimeout(r, this.deps.drainMs ?? 10_000).unref());
      await Promise.race([drained, timer]);
      this.#abort.abort();
      await Promise.all([...this.#running]);
    })();
    return this.#closing;
  }
}
