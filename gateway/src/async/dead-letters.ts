/** Dead letters: calls that failed for good, one message per call on the dead-letter stream, until redriven. */
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Bodies } from './bodies.ts';
import { unpack } from './envelope.ts';
import type { AsyncContext, AsyncLink } from './link.ts';
import type { DeadMeta } from './types.ts';

/** Dead letters scanned at most per listing. */
const SCAN_LIMIT = 10_000;

/** Stores, lists and removes dead letters on the dead-letter stream. */
export class DeadLetters {
  constructor(
    private readonly link: AsyncLink,
    private readonly bodies: Bodies,
  ) {}

  /** Stores a failed call; a request body stored as a blob is deleted when the dead letter would expire. */
  async put(ctx: AsyncContext, meta: DeadMeta, body: Buffer): Promise<void> {
    const { names, opts } = this.link;
    const key = meta.bodyKey ?? names.blobKey(meta.callId, 'request');
    const packed = await this.bodies.pack(ctx, meta, body, key, (m, k) => ({ ...m, bodyKey: k }));
    await ctx.js.publish(names.deadSubject(meta.callId), packed.data);
    if (meta.bodyKey || packed.spilled) await this.bodies.deleteAt(ctx, key, Date.now() + opts.deadLetterTtlMs);
  }

  /** One dead letter with its request body (inline; blob-stored bodies stay behind `meta.bodyKey`), or null. */
  async get(ctx: AsyncContext, callId: string): Promise<{ meta: DeadMeta; body: Buffer } | null> {
    const m = await ctx.jsm.streams.getMessage(this.link.names.dead, { last_by_subj: this.link.names.deadSubject(callId) });
    return m ? unpack<DeadMeta>(m.data) : null;
  }

  /** Dead letters, oldest first, optionally of one function only. */
  async list(ctx: AsyncContext, fn: string | undefined, limit: number): Promise<DeadMeta[]> {
    const { names } = this.link;
    const total = Math.min(SCAN_LIMIT, (await ctx.jsm.streams.info(names.dead)).state.messages);
    if (total === 0) return [];
    // An ordered consumer reads the stream once, from the start, and goes away by itself.
    const reader = await ctx.js.consumers.get(names.dead, { deliver_policy: DeliverPolicy.All });
    const out: DeadMeta[] = [];
    const batch = await reader.fetch({ max_messages: total, expires: 5000 });
    for await (const m of batch) {
      const { meta } = unpack<DeadMeta>(m.data);
      if (!fn || meta.fn === fn) out.push(meta);
      if (out.length >= limit || m.info.pending === 0) break;
    }
    await batch.close();
    return out;
  }

  /** Removes `callId`'s dead letter (after a redrive). */
  async remove(ctx: AsyncContext, callId: string): Promise<void> {
    await ctx.jsm.streams.purge(this.link.names.dead, { filter: this.link.names.deadSubject(callId) });
  }
}
