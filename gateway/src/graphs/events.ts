/**
 * Run events: numbered per run, stored in Postgres (what a late subscriber replays) and then published
 * on NATS (`<prefix>.runs.<runId>`) so any gateway instance can stream them live; a local emitter
 * covers the instance itself while NATS is down.
 */
import { EventEmitter } from 'node:events';
import type { RunEvent } from '@spindle/schemas';
import type { Logger } from 'pino';
import type { NatsLink } from '../nats.ts';
import type { NodeChange, PendingEvent, RunStore, RunTransition } from './store.ts';

type EventType = RunEvent['type'];
const FINAL: ReadonlySet<string> = new Set(['run.succeeded', 'run.failed', 'run.cancelled']);

/** True for the event that ends a run's stream. */
const isFinal = (e: RunEvent): boolean => FINAL.has(e.type);

interface Queued extends PendingEvent {
  transition?: RunTransition;
  settle: (stored: RunEvent | null, err?: unknown) => void;
}

export class RunEvents {
  private readonly local = new EventEmitter();
  /** Per-run queues and their drain loops: events are stored in batches and published in sequence order. */
  private readonly queues = new Map<string, Queued[]>();
  private readonly chains = new Map<string, Promise<void>>();
  /** Called with every stored event of every run on this instance (graph metrics). */
  private readonly taps = new Set<(event: RunEvent) => void>();

  constructor(
    private readonly runs: RunStore,
    private readonly nats: NatsLink,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.local.setMaxListeners(0);
  }

  private subject(runId: string): string {
    return `${this.prefix}.runs.${runId}`;
  }

  /**
   * Records and publishes one event (with the node record change it reports); resolves with the stored
   * event once it is stored (null when storing failed: that is logged). Events of a run are numbered
   * and written in order, in batches of whatever has queued, so callers on the hot path need not wait.
   */
  emit(runId: string, type: EventType, node?: string, data?: Record<string, unknown>, change?: NodeChange): Promise<RunEvent | null> {
    return this.enqueue(runId, { type, node, data, change, at: new Date().toISOString() });
  }

  /**
   * Moves the run to `transition.status` and records `type` in one statement, after every event
   * emitted before it: resolves with the event, or null when the run had already finished (nothing
   * changes then). Rejects when the database write fails, so the caller knows the run did not move.
   */
  transition(runId: string, type: EventType, transition: RunTransition, node?: string, data?: Record<string, unknown>): Promise<RunEvent | null> {
    return this.enqueue(runId, { type, node, data, transition, at: new Date().toISOString() });
  }

  private enqueue(runId: string, item: Omit<Queued, 'settle'>): Promise<RunEvent | null> {
    let queue = this.queues.get(runId);
    if (!queue) {
      queue = [];
      this.queues.set(runId, queue);
    }
    return new Promise<RunEvent | null>((resolve, reject) => {
      queue.push({ ...item, settle: (stored, err) => (err && item.transition ? reject(err) : resolve(stored)) });
      if (!this.chains.has(runId)) this.chains.set(runId, this.drain(runId));
    });
  }

  /**
   * Writes a run's queued events, all that have gathered at a time (a status transition ends a batch),
   * then publishes them in order.
   */
  private async drain(runId: string): Promise<void> {
    const queue = this.queues.get(runId)!;
    while (queue.length) {
      const cut = queue.findIndex((q) => q.transition !== undefined);
      const batch = queue.splice(0, cut === -1 ? queue.length : cut + 1);
      const transition = batch.at(-1)!.transition;
      let stored: RunEvent[];
      try {
        stored = await this.runs.appendEvents(runId, batch, transition);
      } catch (err) {
        // A failed write is logged, not thrown: callers on the hot path do not wait for it.
        this.logger.error({ err, runId, types: batch.map((b) => b.type) }, 'storing run events failed');
        for (const b of batch) b.settle(null, err);
        continue;
      }
      const nc = this.nats.current();
      batch.forEach((item, i) => {
        const event = stored[i];
        if (event) {
          this.local.emit(runId, event);
          for (const tap of this.taps) tap(event);
          if (nc) {
            try {
              nc.publish(this.subject(runId), JSON.stringify(event));
            } catch (err) {
              this.logger.warn({ err, runId }, 'publishing a run event to NATS failed');
            }
          }
        }
        item.settle(event ?? null);
      });
    }
    this.chains.delete(runId);
    this.queues.delete(runId);
  }

  /** Calls `fn` with every event this instance stores, of every run; returns the unsubscribe. */
  onEvent(fn: (event: RunEvent) => void): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  /** Resolves once every event emitted so far for `runId` is stored. */
  async flush(runId: string): Promise<void> {
    await this.chains.get(runId);
  }

  /**
   * Calls `onEvent` for every event after `afterSeq`: first what is stored, then live ones, in order and
   * once each, until the run's final event (then `onEnd`). Returns the unsubscribe function.
   */
  subscribe(runId: string, afterSeq: number, onEvent: (e: RunEvent) => void, onEnd: () => void): () => void {
    let last = afterSeq;
    let replaying = true;
    let ended = false;
    const buffered: RunEvent[] = [];
    const stops: Array<() => void> = [];
    const stop = () => {
      for (const s of stops.splice(0)) s();
    };
    const deliver = (e: RunEvent) => {
      if (ended || e.seq <= last) return;
      if (e.seq > last + 1) {
        // A gap (an event published while we were replaying, or lost on NATS): fill it from the store.
        // If the store lacks it too (its write failed), skip past it rather than ask again forever.
        void this.runs.events(runId, last).then(
          (missing) => {
            if (!missing.some((m) => m.seq === last + 1)) last = e.seq - 1;
            missing.forEach(deliver);
            deliver(e);
          },
          (err) => this.logger.warn({ err, runId }, 'filling a gap in run events failed'),
        );
        return;
      }
      last = e.seq;
      onEvent(e);
      if (isFinal(e)) {
        ended = true;
        stop();
        onEnd();
      }
    };
    const live = (e: RunEvent) => (replaying ? buffered.push(e) : deliver(e));
    this.local.on(runId, live);
    stops.push(() => this.local.off(runId, live));
    const nc = this.nats.current();
    if (nc) {
      const sub = nc.subscribe(this.subject(runId), {
        callback: (err, msg) => {
          if (!err) live(JSON.parse(msg.string()) as RunEvent);
        },
      });
      stops.push(() => sub.unsubscribe());
    }
    void this.runs.events(runId, afterSeq).then(
      (stored) => {
        stored.forEach(deliver);
        replaying = false;
        buffered.sort((a, b) => a.seq - b.seq).forEach(deliver);
        // A follower resuming after the final event (it saw it, then lost the connection before the end) would
        // wait for an event that never comes: a finished run has stored every event (the final one together
        // with its status), so what is stored after `last` is all there is.
        if (!ended && stored.length === 0) {
          void this.runs
            .get(runId)
            .then(async (run) => {
              if (ended || !run?.finishedAt) return;
              for (const e of await this.runs.events(runId, last)) deliver(e);
              if (!ended) {
                ended = true;
                stop();
                onEnd();
              }
            })
            .catch((err) => this.logger.warn({ err, runId }, 'checking whether a followed run has finished failed'));
        }
      },
      (err) => {
        this.logger.error({ err, runId }, 'replaying run events failed');
        stop();
        onEnd();
      },
    );
    return stop;
  }
}
